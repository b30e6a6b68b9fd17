-- hostile: load with a reader that never ends
-- expect: error "exceeded" at line 3
local f = load(function() return "-" end)  -- fails here
