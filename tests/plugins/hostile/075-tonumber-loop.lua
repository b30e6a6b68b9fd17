-- hostile: tonumber of a 1 MiB numeral, a million times
-- expect: error "instruction budget exceeded" at line 5
local s = ("9"):rep(2^20)
for i = 1, 1e6 do
  local n = tonumber(s)  -- fails here
end
