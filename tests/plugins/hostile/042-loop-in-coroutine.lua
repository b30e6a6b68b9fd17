-- hostile: an endless loop inside a coroutine
-- expect: error "instruction budget exceeded" at line 4
local co = coroutine.wrap(function()
  while true do end  -- fails here
end)
co()
