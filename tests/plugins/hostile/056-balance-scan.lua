-- hostile: %b() from every position of 100000 parentheses
-- expect: error "instruction budget exceeded" at line 3
local r = ("("):rep(100000):find("%b()")  -- fails here
