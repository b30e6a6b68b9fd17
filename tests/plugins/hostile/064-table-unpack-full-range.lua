-- hostile: table.unpack over the whole integer range
-- expect: error "too many results to unpack" at line 3
local a = table.unpack({}, math.mininteger, math.maxinteger)  -- fails here
