-- hostile: load with an explicit nil environment (errors name the load call's line)
-- expect: error "load:1: attempt to index a nil value (upvalue '_ENV')" at line 3
local f = load("x = 1", "chunk", "t", nil)  -- fails here
f()
