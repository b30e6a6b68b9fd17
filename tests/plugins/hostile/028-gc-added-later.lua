-- hostile: add __gc to a metatable after setmetatable
-- expect: ok
local mt = {}
for i = 1, 100 do setmetatable({}, mt) end
mt.__gc = function() while true do end end
