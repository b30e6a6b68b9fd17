-- hostile: table.concat over 2^40 elements that a C __index makes up
-- expect: error "instruction budget exceeded" at line 4
local t = setmetatable({}, {__index = table.concat})
local s = table.concat(t, "", 1, 2^40)  -- fails here
