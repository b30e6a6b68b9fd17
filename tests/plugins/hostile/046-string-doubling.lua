-- hostile: double a string until memory runs out
-- expect: error "memory limit exceeded" at line 5
local s = "x"
while true do
  s = s .. s  -- fails here
end
