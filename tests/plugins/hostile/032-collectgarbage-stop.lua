-- hostile: stop the collector to run the host out of memory
-- expect: error "is allowed in plugins" at line 3
collectgarbage("stop")  -- fails here
