-- hostile: get the os library through require
-- expect: error "module 'os' not found" at line 3
local os2 = require("os")  -- fails here
os2.execute("id")
