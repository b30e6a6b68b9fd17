-- hostile: utf8.len over 1 MiB, a million times
-- expect: error "instruction budget exceeded" at line 5
local s = ("\xe4"):rep(2^20)
for i = 1, 1e6 do
  local n = utf8.len(s)  -- fails here
end
