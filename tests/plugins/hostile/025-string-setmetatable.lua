-- hostile: give strings a new metatable
-- expect: error "bad argument #1 to 'setmetatable' (table expected, got string)" at line 4
-- companion: probe-strings.lua
setmetatable("", {__index = {}})  -- fails here
