-- hostile: 40 captures in one pattern
-- expect: error "too many captures" at line 3
local r = ("a"):match(("()"):rep(40))  -- fails here
