-- hostile: 100000 nested calls in source
-- expect: error "overflow" at line 4
local f, err = load("return " .. ("f("):rep(100000) .. (")"):rep(100000))
assert(f, err)  -- fails here
