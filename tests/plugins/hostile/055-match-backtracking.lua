-- hostile: a cubic match
-- expect: error "instruction budget exceeded" at line 3
local r = ("a"):rep(4000):match(".-.-.-b")  -- fails here
