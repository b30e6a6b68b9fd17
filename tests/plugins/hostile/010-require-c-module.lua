-- hostile: load a C module through require
-- expect: error "module 'socket.core' not found" at line 3
local socket = require("socket.core")  -- fails here
