-- hostile: read the environment (secrets, paths)
-- expect: error "attempt to call a nil value (field 'getenv')" at line 3
local home = os.getenv("HOME")  -- fails here
