-- hostile: table.sort with an order function that is not an order
-- expect: error "invalid order function for sorting" at line 5
local t = {}
for i = 1, 100 do t[i] = i % 7 end
table.sort(t, function(a, b) return true end)  -- fails here
