-- hostile: load a 6 MiB comment a thousand times (parsing runs without the hook)
-- expect: error "exceeded" at line 5
local src = "--" .. ("x"):rep(6 * 1024 * 1024)
for i = 1, 1000 do
  load(src)  -- fails here
end
