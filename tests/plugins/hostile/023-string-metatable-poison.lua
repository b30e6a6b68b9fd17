-- hostile: replace string methods for every plugin through the shared string metatable (Redis CVE-2025-46818)
-- expect: error "attempt to index a boolean value" at line 4
-- companion: probe-strings.lua
getmetatable("").__index.rep = function() return "pwned" end  -- fails here
