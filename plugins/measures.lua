-- Built-in outcome and alliance measures, scoring only.
--
-- The instruments' item wording is copyrighted and is not shipped: a session
-- lists a measure's item scores in item order under measures.<id>, and these
-- definitions say how many items there are, their range, and how to score
-- them. Each score function takes the list of item scores (already checked
-- against `items`, `min` and `max`) and returns the total, the subscales and
-- any flags.
--
--   WAI-SR  Working Alliance Inventory, short revised: 12 items rated 1-5,
--           total 12-60; subscales Task (1, 2, 10, 12), Bond (3, 5, 7, 9),
--           Goal (4, 6, 8, 11).
--   SRS     Session Rating Scale: 4 items 0-10, total 0-40; a total below
--           36 flags an alliance concern.
--   ORS     Outcome Rating Scale: 4 items 0-10, total 0-40; below the adult
--           clinical cutoff of 25 marks the clinical range.

local M = {}

-- The sum of the listed items (1-based item numbers) of `scores`.
local function sum(scores, which)
  local total = 0
  for _, i in ipairs(which) do
    total = total + scores[i]
  end
  return total
end

local function all_items(n)
  local list = {}
  for i = 1, n do
    list[i] = i
  end
  return list
end

local WAI_SUBSCALES = {
  task = { 1, 2, 10, 12 },
  bond = { 3, 5, 7, 9 },
  goal = { 4, 6, 8, 11 },
}

function M.score_wai_sr(scores)
  return {
    total = sum(scores, all_items(12)),
    subscales = {
      task = sum(scores, WAI_SUBSCALES.task),
      bond = sum(scores, WAI_SUBSCALES.bond),
      goal = sum(scores, WAI_SUBSCALES.goal),
    },
    flags = {},
  }
end

M.SRS_CUTOFF = 36

function M.score_srs(scores)
  local total = sum(scores, all_items(4))
  local flags = {}
  if total < M.SRS_CUTOFF then
    flags[#flags + 1] = "alliance concern: SRS total below 36"
  end
  return { total = total, subscales = {}, flags = flags }
end

M.ORS_CUTOFF = 25

function M.score_ors(scores)
  local total = sum(scores, all_items(4))
  local flags = {}
  local clinical = total < M.ORS_CUTOFF
  if clinical then
    flags[#flags + 1] = "clinical range: ORS total below the adult cutoff of 25"
  end
  return { total = total, subscales = {}, flags = flags, clinical = clinical }
end

rapport.measure {
  id = "wai_sr",
  title = "Working Alliance Inventory (short, revised)",
  items = 12,
  min = 1,
  max = 5,
  subscales = WAI_SUBSCALES,
  score = M.score_wai_sr,
}

rapport.measure {
  id = "srs",
  title = "Session Rating Scale",
  items = 4,
  min = 0,
  max = 10,
  cutoffs = { { below = M.SRS_CUTOFF, flag = "alliance concern", label = "below 36" } },
  score = M.score_srs,
}

rapport.measure {
  id = "ors",
  title = "Outcome Rating Scale",
  items = 4,
  min = 0,
  max = 10,
  cutoffs = { { below = M.ORS_CUTOFF, flag = "clinical range", label = "adult clinical cutoff 25" } },
  score = M.score_ors,
}

-- Scores computed by hand from the definitions above.
rapport.test("WAI-SR total and subscales", function(t)
  --            1  2  3  4  5  6  7  8  9 10 11 12
  local items = { 5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5, 4 }
  local s = M.score_wai_sr(items)
  t.eq(s.total, 39)
  t.eq(s.subscales.task, 5 + 4 + 1 + 4) -- items 1, 2, 10, 12
  t.eq(s.subscales.bond, 3 + 1 + 4 + 2) -- items 3, 5, 7, 9
  t.eq(s.subscales.goal, 2 + 5 + 3 + 5) -- items 4, 6, 8, 11
  t.eq(s.subscales.task + s.subscales.bond + s.subscales.goal, s.total)
end)

rapport.test("WAI-SR extremes", function(t)
  local low, high = {}, {}
  for i = 1, 12 do
    low[i], high[i] = 1, 5
  end
  t.eq(M.score_wai_sr(low).total, 12)
  t.eq(M.score_wai_sr(high).total, 60)
  t.eq(M.score_wai_sr(high).subscales, { task = 20, bond = 20, goal = 20 })
end)

rapport.test("SRS flags an alliance concern below 36", function(t)
  t.eq(M.score_srs({ 9, 9, 9, 9 }), { total = 36, subscales = {}, flags = {} })
  local s = M.score_srs({ 8.5, 9.0, 7.5, 8.0 })
  t.eq(s.total, 33)
  t.eq(#s.flags, 1)
  t.ok(s.flags[1]:find("alliance concern", 1, true))
end)

rapport.test("ORS marks the clinical range below 25", function(t)
  t.eq(M.score_ors({ 6, 6, 6, 7 }).clinical, false) -- 25: at the cutoff, not below
  local s = M.score_ors({ 6, 6, 6, 6.9 })
  t.eq(s.clinical, true)
  t.ok(s.flags[1]:find("clinical range", 1, true))
end)

return M
