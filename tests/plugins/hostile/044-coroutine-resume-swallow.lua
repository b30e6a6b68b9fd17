-- hostile: swallow the budget error with coroutine.resume
-- expect: error "instruction budget exceeded" at line 4
local co = coroutine.create(function()
  while true do end  -- fails here
end)
local ok = coroutine.resume(co)
while true do end
