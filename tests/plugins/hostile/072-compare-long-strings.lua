-- hostile: compare two 2 MiB strings in a loop (one instruction each)
-- expect: error "time limit exceeded" at line 6
local a = ("x"):rep(2 * 1024 * 1024) .. "a"
local b = ("x"):rep(2 * 1024 * 1024) .. "b"
local n = 0
while a < b do n = n + 1 end  -- fails here
