-- hostile: coroutines that resume coroutines without end (CVE-2021-43519)
-- expect: error "C stack overflow" at line 3
local function f() coroutine.wrap(f)() end  -- fails here
f()
