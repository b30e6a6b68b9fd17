-- hostile: load a precompiled (binary) chunk
-- expect: error "attempt to load a binary chunk" at line 5
local bytecode = "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0"
local f, err = load(bytecode, "evil", "b")
assert(f, err)  -- fails here
