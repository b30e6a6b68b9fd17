-- hostile: pass 200000 arguments on every call
-- expect: error "exceeded" at line 6
local big = {}
for i = 1, 200000 do big[i] = i end
local function f(...)
  while true do local n = select("#", ...) end  -- fails here
end
f(table.unpack(big))
