-- hostile: compile a file from disk
-- expect: error "attempt to call a nil value (global 'loadfile')" at line 3
local f = loadfile("/etc/passwd")  -- fails here
