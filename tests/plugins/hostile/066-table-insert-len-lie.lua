-- hostile: table.insert into a table whose __len says 2^53
-- expect: error "instruction budget exceeded" at line 4
local t = setmetatable({}, {__len = function() return 2^53 end})
table.insert(t, 1, "x")  -- fails here
