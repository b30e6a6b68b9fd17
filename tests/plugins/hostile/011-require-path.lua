-- hostile: require a file outside the plugin folder
-- expect: error "not found" at line 3
local passwd = require("../../../../etc/passwd")  -- fails here
