-- hostile: give os.date a non-string format
-- expect: error "string expected, got table" at line 3
os.date({})  -- fails here
