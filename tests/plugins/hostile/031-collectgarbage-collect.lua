-- hostile: force collections (finalizers, timing)
-- expect: error "is allowed in plugins" at line 3
collectgarbage("collect")  -- fails here
