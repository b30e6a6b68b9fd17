-- hostile: read heap addresses through string.format('%p')
-- expect: error "plugins see no addresses" at line 3
local addr = string.format("%p", {})  -- fails here
