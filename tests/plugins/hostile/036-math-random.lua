-- hostile: math.random (seeded from a heap address)
-- expect: error "attempt to call a nil value (field 'random')" at line 3
local r = math.random(1, 6)  -- fails here
