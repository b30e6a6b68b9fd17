-- hostile: C stack overflow through gsub callbacks
-- expect: error "C stack overflow" at line 3
local function f(s) return (s:gsub(".", f)) end  -- fails here
f("ab")
