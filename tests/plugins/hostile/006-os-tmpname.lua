-- hostile: create a file through os.tmpname
-- expect: error "attempt to call a nil value (field 'tmpname')" at line 3
local name = os.tmpname()  -- fails here
