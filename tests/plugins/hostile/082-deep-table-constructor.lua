-- hostile: 100000 nested table constructors in source
-- expect: error "overflow" at line 4
local f, err = load("return " .. ("{"):rep(100000) .. ("}"):rep(100000))
assert(f, err)  -- fails here
