-- hostile: 300 locals in one function
-- expect: error "too many local variables" at line 6
local src = {}
for i = 1, 300 do src[i] = "local v" .. i .. " = " .. i end
local f, err = load(table.concat(src, "\n"))
assert(f, err)  -- fails here
