-- hostile: dump a function to bytecode
-- expect: error "attempt to call a nil value (field 'dump')" at line 3
local bc = string.dump(function() end)  -- fails here
