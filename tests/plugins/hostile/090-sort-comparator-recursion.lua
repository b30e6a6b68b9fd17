-- hostile: table.sort from inside its own comparator
-- expect: error "stack overflow" at line 4
local t = {3, 2, 1}
local function cmp(a, b) table.sort(t, cmp) return a < b end  -- fails here
table.sort(t, cmp)
