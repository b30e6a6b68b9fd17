-- hostile: table.unpack of 10^8 values
-- expect: error "too many results to unpack" at line 3
local a = table.unpack({}, 1, 1e8)  -- fails here
