-- hostile: string.rep with a separator, 2^24 times
-- expect: error "memory limit exceeded" at line 3
local s = ("x"):rep(2^24, ", ")  -- fails here
