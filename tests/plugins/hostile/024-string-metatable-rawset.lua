-- hostile: replace the string metatable's __index with rawset
-- expect: error "bad argument #1 to 'rawset' (table expected, got boolean)" at line 4
-- companion: probe-strings.lua
rawset(getmetatable(""), "__index", {})  -- fails here
