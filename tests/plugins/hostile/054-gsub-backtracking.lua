-- hostile: a quadratic gsub
-- expect: error "instruction budget exceeded" at line 4
local s = ("a"):rep(30000)
local r = s:gsub("a*b", "")  -- fails here
