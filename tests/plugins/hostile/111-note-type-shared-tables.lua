-- hostile: registers a note type whose fields hold one table eight times at each of twelve levels (8^12 fields to check)
-- expect: error "instruction budget exceeded" at line 13
-- host: binary
-- The check of the options is work done in C for the plugin's call: it is charged to its budget.
local function level(n)
  if n == 0 then return { id = "leaf", type = "text" } end
  local g = level(n - 1)
  local f = { id = "o", type = "object", fields = {} }
  for i = 1, 8 do f.fields[i] = g end
  return f
end
local fields = { level(12) }
rapport.note_type{ id = "dag", fields = fields }  -- fails here
