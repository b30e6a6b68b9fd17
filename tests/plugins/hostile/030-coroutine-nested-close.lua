-- hostile: the 5.4.4 nested-close crash, through wrap and errors instead of close
-- expect: ok
local coro = false
for i = 1, 2000 do
  local previous = coro
  coro = coroutine.wrap(function()
    local cc <close> = setmetatable({}, {__close = function()
      if previous then pcall(previous) end
    end})
    coroutine.yield()
    error("x")
  end)
  coro()
end
assert(not pcall(coro))
