-- The clinic scores the Session Rating Scale itself: its own cutoff, and a
-- flag per item rated below 7.
local CUTOFF = 36

local function score(scores)
  local total, flags = 0, {}
  for i, s in ipairs(scores) do
    total = total + s
    if s < 7 then
      flags[#flags + 1] = string.format("item %d rated %s", i, s)
    end
  end
  if total < CUTOFF then
    table.insert(flags, 1, "alliance concern: SRS total below 36")
  end
  return { total = total, subscales = {}, flags = flags }
end

rapport.measure {
  id = "srs",
  title = "Session Rating Scale (clinic scoring)",
  items = 4,
  min = 0,
  max = 10,
  cutoffs = { { below = CUTOFF, flag = "alliance concern", label = "below 36" } },
  score = score,
}
