-- hostile: unbounded Lua recursion (the Lua stack outgrows the memory cap)
-- expect: error "memory limit exceeded" at line 4
local function f(n)
  return f(n + 1) + 1  -- fails here
end
f(1)
