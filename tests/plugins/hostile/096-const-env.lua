-- hostile: a <const> _ENV with a global access (CVE-2022-28805)
-- expect: error "load:1: attempt to index a number value" at line 3
local f = assert(load("local _ENV <const> = 10; return a.b"))  -- fails here
f()
