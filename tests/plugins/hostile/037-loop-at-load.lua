-- hostile: an endless loop while the plugin loads
-- expect: error "instruction budget exceeded" at line 4
local n = 0
while true do n = n + 1 end  -- fails here
