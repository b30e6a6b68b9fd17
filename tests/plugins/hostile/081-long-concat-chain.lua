-- hostile: a concatenation chain of 100000 operands in source
-- expect: error "overflow" at line 4
local f, err = load("return " .. ("'a' .. "):rep(100000) .. "'a'")
assert(f, err)  -- fails here
