-- hostile: run a shell command through io.popen
-- expect: error "attempt to index a nil value (global 'io')" at line 3
local out = io.popen("id"):read("a")  -- fails here
