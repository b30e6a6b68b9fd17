-- hostile: C stack overflow through __tostring
-- expect: error "C stack overflow" at line 3
local t = setmetatable({}, {__tostring = function(x) return tostring(x) end})  -- fails here
local s = tostring(t)
