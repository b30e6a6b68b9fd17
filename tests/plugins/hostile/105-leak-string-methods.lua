-- hostile: change string methods by every route
-- expect: ok
-- companion: probe-strings.lua
pcall(function() getmetatable("").__index.upper = function() return "CANARY" end end)
pcall(rawset, getmetatable(""), "__index", {})
pcall(setmetatable, "", {})
pcall(function() string.upper = function() return "CANARY" end end)
assert(("a"):upper() == "A")
