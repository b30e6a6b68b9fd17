-- hostile: string.format with a huge precision
-- expect: error "invalid conversion" at line 3
local s = string.format("%.99999f", 1)  -- fails here
