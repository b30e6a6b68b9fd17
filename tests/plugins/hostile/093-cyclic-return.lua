-- hostile: return a table that contains itself
-- expect: ok
local t = {}
t.self = t
t.list = {t, t}
return t
