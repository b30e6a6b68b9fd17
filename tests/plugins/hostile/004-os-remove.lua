-- hostile: delete a file
-- expect: error "attempt to call a nil value (field 'remove')" at line 3
os.remove("/tmp/rapport-hostile-victim")  -- fails here
