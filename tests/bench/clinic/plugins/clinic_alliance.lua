-- The clinic's own alliance checklist: the built-in items, and a summary
-- that adds a supervision reminder when two or more elements are rated low.
local base = require "alliance"

local items = {}
for _, id in ipairs(base.ELEMENTS) do
  items[#items + 1] = { id = id, label = id:sub(1, 1):upper() .. id:sub(2), type = "rating",
                        min = 1, max = 5, note = true }
end
for _, id in ipairs(base.CHALLENGE_ORDER) do
  items[#items + 1] = { id = id, label = base.CHALLENGES[id].label, type = "flag",
                        group = "challenges", note = true, suggest = base.CHALLENGES[id].suggest }
end
items[#items + 1] = { id = "rupture", label = "Rupture and repair", type = "text" }

local function summarize(values)
  local s = base.summarize(values)
  local low = 0
  for _, id in ipairs(base.ELEMENTS) do
    local v = (values or {})[id]
    local r = type(v) == "table" and v.rating or v
    if type(r) == "number" and r <= 2 then
      low = low + 1
    end
  end
  if low >= 2 then
    s.plan[#s.plan + 1] = "Discuss the alliance in supervision this week."
  end
  return s
end

rapport.checklist {
  id = "alliance",
  title = "Therapeutic alliance (clinic)",
  items = items,
  summarize = summarize,
}
