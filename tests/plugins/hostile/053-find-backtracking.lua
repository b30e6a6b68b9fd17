-- hostile: a backtracking pattern: find('.-.-b') on 4000 a's
-- expect: error "instruction budget exceeded" at line 4
local s = ("a"):rep(4000)
local r = s:find(".-.-b")  -- fails here
