-- hostile: a loop of __index tables
-- expect: error "'__index' chain too long; possible loop" at line 6
local a, b = {}, {}
setmetatable(a, {__index = b})
setmetatable(b, {__index = a})
local v = a.x  -- fails here
