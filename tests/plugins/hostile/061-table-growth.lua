-- hostile: grow a table until memory runs out
-- expect: error "memory limit exceeded" at line 5
local t = {}
while true do
  t[#t + 1] = {}  -- fails here
end
