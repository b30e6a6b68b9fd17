-- hostile: run a file from disk
-- expect: error "attempt to call a nil value (global 'dofile')" at line 3
dofile("/etc/passwd")  -- fails here
