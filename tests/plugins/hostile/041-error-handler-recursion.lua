-- hostile: stack overflow while handling an error (CVE-2022-33099)
-- expect: ok
local function loop() assert(pcall(loop)) end
local ok, err = xpcall(loop, loop)
assert(not ok)
