-- hostile: integer division by zero
-- expect: error "attempt to divide by zero" at line 4
local zero = 0
local x = 1 // zero  -- fails here
