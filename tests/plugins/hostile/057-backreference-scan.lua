-- hostile: back-references over a long run
-- expect: error "instruction budget exceeded" at line 3
local r = ("a"):rep(20000):find("(a*)%1b")  -- fails here
