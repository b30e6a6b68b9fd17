-- hostile: sort 2^31 elements made up by __len and __index with a C comparator
-- expect: error "instruction budget exceeded" at line 5
local t = setmetatable({}, {__len = function() return 2^31 - 2 end,
  __index = function() return 1 end})
table.sort(t, rawequal)  -- fails here
