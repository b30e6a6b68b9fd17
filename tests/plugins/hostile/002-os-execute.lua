-- hostile: run a shell command through os.execute
-- expect: error "attempt to call a nil value (field 'execute')" at line 3
os.execute("touch /tmp/rapport-hostile-pwned")  -- fails here
