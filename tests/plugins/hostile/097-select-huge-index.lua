-- hostile: select with a huge negative index
-- expect: error "bad argument #1 to 'select' (index out of range)" at line 3
local v = select(-2^31, 1, 2)  -- fails here
