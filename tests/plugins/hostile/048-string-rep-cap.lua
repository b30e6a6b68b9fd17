-- hostile: string.rep of a GiB
-- expect: error "memory limit exceeded" at line 3
local s = ("x"):rep(2^30)  -- fails here
