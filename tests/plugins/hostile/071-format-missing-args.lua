-- hostile: string.format with 1000 conversions and no arguments
-- expect: error "no value" at line 3
local s = string.format(("%s"):rep(1000))  -- fails here
