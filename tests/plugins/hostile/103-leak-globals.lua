-- hostile: leave canaries in the globals for the next plugin
-- expect: ok
-- companion: probe-globals.lua
canary_global = "CANARY-HOSTILE-A"
_G.canary_field = "CANARY-HOSTILE-A"
rawset(_G, "canary_raw", "CANARY-HOSTILE-A")
setmetatable(_G, {__index = function() return "CANARY-HOSTILE-A" end})
