-- hostile: C stack overflow through an __index function
-- expect: error "C stack overflow" at line 3
local t = setmetatable({}, {__index = function(t, k) return t[k] end})  -- fails here
local v = t.x
