-- hostile: find io in the globals with raw access
-- expect: error "attempt to index a nil value (local 'io2')" at line 4
local io2 = rawget(_G, "io")
io2.popen("id")  -- fails here
