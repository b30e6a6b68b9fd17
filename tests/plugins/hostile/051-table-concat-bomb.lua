-- hostile: table.concat of many large strings
-- expect: error "memory limit exceeded" at line 7
local t = {}
for i = 1, 64 do t[i] = ("x"):rep(65536) end
local all = {}
for i = 1, 1000 do
  all[i] = table.concat(t)  -- fails here
end
