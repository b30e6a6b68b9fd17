-- hostile: string.rep of 2^40 bytes
-- expect: error "resulting string too large" at line 3
local s = string.rep("x", 2^40)  -- fails here
