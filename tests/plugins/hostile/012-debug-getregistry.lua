-- hostile: reach the registry through the debug library
-- expect: error "attempt to index a nil value (global 'debug')" at line 3
local reg = debug.getregistry()  -- fails here
