-- hostile: get the io library through require
-- expect: error "module 'io' not found" at line 3
local io2 = require "io"  -- fails here
