-- hostile: end the host process
-- expect: error "attempt to call a nil value (field 'exit')" at line 3
os.exit(0)  -- fails here
