-- hostile: poison the string library table for later plugins
-- expect: ok
-- companion: probe-strings.lua
string.rep = function() return "pwned" end
string.format = nil
string.upper = error
string.gsub = function() while true do end end
assert(("x"):rep(2) == "xx", "methods on strings use the sandbox's own functions")
