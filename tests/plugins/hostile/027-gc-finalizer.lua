-- hostile: a __gc finalizer that loops (it would run outside every budget)
-- expect: error "__gc metamethods are not allowed in plugins" at line 3
setmetatable({}, {__gc = function() while true do end end})  -- fails here
