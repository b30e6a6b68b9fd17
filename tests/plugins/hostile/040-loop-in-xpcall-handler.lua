-- hostile: run an endless loop in an xpcall message handler
-- expect: error "instruction budget exceeded" at line 3
local function loop() while true do end end  -- fails here
xpcall(loop, loop)
return "went on"
