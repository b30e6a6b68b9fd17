-- hostile: change every library table for the next plugin
-- expect: ok
-- companion: probe-libraries.lua
for _, lib in ipairs({string, table, math, os, coroutine, utf8}) do
  for k in pairs(lib) do lib[k] = function() return "CANARY-HOSTILE-A" end end
  setmetatable(lib, {__index = function() return "CANARY-HOSTILE-A" end})
end
