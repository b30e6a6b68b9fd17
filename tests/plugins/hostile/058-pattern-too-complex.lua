-- hostile: a pattern that recurses 300 levels
-- expect: error "pattern too complex" at line 3
local r = ("a"):rep(1000):match(("a?"):rep(300))  -- fails here
