-- hostile: registers a small note type, then makes its fields one table eight times at each of twelve levels
-- expect: ok
-- host: binary
-- The schema is read from the plugin's tables after loading, outside any call: it reads at most 65,536 fields.
local inner = { id = "o", type = "object", fields = { { id = "leaf", type = "text" } } }
rapport.note_type{ id = "dag", fields = { inner } }
local function level(n)
  if n == 0 then return { id = "leaf", type = "text" } end
  local g = level(n - 1)
  local f = { id = "o" .. n, type = "object", fields = {} }
  for i = 1, 8 do f.fields[i] = g end
  return f
end
inner.fields = { level(12) }
