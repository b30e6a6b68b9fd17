-- hostile: string.format('%99999d')
-- expect: error "invalid conversion" at line 3
local s = string.format("%99999d", 1)  -- fails here
