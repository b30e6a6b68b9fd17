-- hostile: os.time with a year far out of range
-- expect: error "field 'year' is out-of-bound" at line 3
local t = os.time({year = 2^60, month = 1, day = 1})  -- fails here
