-- hostile: an error object whose __tostring loops (a naive host hangs)
-- expect: error "(error object is a table value)" at line 3
error(setmetatable({}, {__tostring = function() while true do end end}))  -- fails here
