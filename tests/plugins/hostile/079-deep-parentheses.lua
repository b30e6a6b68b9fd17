-- hostile: 100000 nested parentheses in source
-- expect: error "overflow" at line 4
local f, err = load("return " .. ("("):rep(100000) .. "1" .. (")"):rep(100000))
assert(f, err)  -- fails here
