-- hostile: a loop of __newindex tables
-- expect: error "'__newindex' chain too long; possible loop" at line 6
local a, b = {}, {}
setmetatable(a, {__newindex = b})
setmetatable(b, {__newindex = a})
a.x = 1  -- fails here
