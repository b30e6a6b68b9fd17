-- hostile: string.byte of a million characters at once
-- expect: error "string slice too long" at line 4
local s = ("x"):rep(2^20)
local b = {s:byte(1, -1)}  -- fails here
