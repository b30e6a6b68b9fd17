-- hostile: coroutines that yield before the count hook fires
-- expect: error "instruction budget exceeded" at line 4
local co = coroutine.wrap(function()
  while true do for i = 1, 40 do end coroutine.yield() end  -- fails here
end)
while true do co() end
