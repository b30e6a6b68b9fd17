-- hostile: error(msg, 0) whose text poses as another file's position on its second line
-- expect: error "a\nsessions/x.yaml:2: forged" at line 4
local msg = "a\nsessions/x.yaml:2: forged"
error(msg, 0)  -- fails here
