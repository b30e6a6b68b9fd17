-- Built-in outcome and alliance measures.
--
-- A session lists a measure's item scores in item order under
-- measures.<id>. The host checks them against `items`, `min` and `max`,
-- scores them (the sum of the items and of each subscale's items, unless a
-- measure has its own `score`), rounds to `precision` decimals, and applies
-- `cutoffs` and `bands`; see docs/plugins.md.
--
--   WAI-SR  Working Alliance Inventory, short revised: 12 items rated 1-5,
--           total 12-60; subscales Task (1, 2, 10, 12), Bond (3, 5, 7, 9),
--           Goal (4, 6, 8, 11). Wording copyrighted: not shipped.
--   SRS     Session Rating Scale: 4 items 0-10, total 0-40; a total below
--           36 flags an alliance concern. Wording copyrighted: not shipped.
--   ORS     Outcome Rating Scale: 4 items 0-10, total 0-40; below the adult
--           clinical cutoff of 25 marks the clinical range; reliable change
--           5 points. Wording copyrighted: not shipped.
--   PHQ-9   Patient Health Questionnaire: 9 items 0-3, total 0-27, severity
--           bands; item 9 above 0 is a risk flag. Free to use; wording
--           shipped.
--   GAD-7   Generalized Anxiety Disorder scale: 7 items 0-3, total 0-21,
--           severity bands. Free to use; wording shipped.

local M = {}

M.WAI_SUBSCALES = {
  task = { 1, 2, 10, 12 },
  bond = { 3, 5, 7, 9 },
  goal = { 4, 6, 8, 11 },
}

M.SRS_CUTOFF = 36
M.ORS_CUTOFF = 25

rapport.measure {
  id = "wai_sr",
  title = "Working Alliance Inventory (short, revised)",
  items = 12,
  min = 1,
  max = 5,
  precision = 0,
  subscales = M.WAI_SUBSCALES,
  sources = {
    "Hatcher RL, Gillaspy JA (2006). Development and validation of a revised short version of the "
      .. "Working Alliance Inventory. Psychotherapy Research 16(1):12-25.",
  },
}

rapport.measure {
  id = "srs",
  title = "Session Rating Scale",
  items = 4,
  min = 0,
  max = 10,
  -- Marks on a 10 cm line, read to the millimetre.
  precision = 1,
  cutoffs = {
    {
      below = M.SRS_CUTOFF,
      flag = "alliance concern: SRS total below 36",
      label = "below 36",
      source = "Duncan BL et al. (2003). The Session Rating Scale. Journal of Brief Therapy 3(1):3-12.",
    },
  },
  sources = {
    "Duncan BL, Miller SD, Sparks JA, Claud DA, Reynolds LR, Brown J, Johnson LD (2003). The "
      .. "Session Rating Scale: preliminary psychometric properties of a \"working\" alliance "
      .. "measure. Journal of Brief Therapy 3(1):3-12.",
  },
}

rapport.measure {
  id = "ors",
  title = "Outcome Rating Scale",
  items = 4,
  min = 0,
  max = 10,
  precision = 1,
  rci = 5,
  cutoffs = {
    {
      below = M.ORS_CUTOFF,
      flag = "clinical range: ORS total below the adult cutoff of 25",
      label = "adult clinical cutoff 25",
      source = "Miller SD et al. (2003). Journal of Brief Therapy 2(2):91-100.",
    },
  },
  sources = {
    "Miller SD, Duncan BL, Brown J, Sparks JA, Claud DA (2003). The Outcome Rating Scale: a "
      .. "preliminary study of the reliability, validity, and feasibility of a brief visual "
      .. "analog measure. Journal of Brief Therapy 2(2):91-100.",
  },
}

-- PHQ-9 and GAD-7 are free to use: "No permission required to reproduce,
-- translate, display or distribute" (Pfizer, the copyright holder).
M.PHQ9_ITEMS = {
  "Little interest or pleasure in doing things",
  "Feeling down, depressed, or hopeless",
  "Trouble falling or staying asleep, or sleeping too much",
  "Feeling tired or having little energy",
  "Poor appetite or overeating",
  "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
  "Trouble concentrating on things, such as reading the newspaper or watching television",
  "Moving or speaking so slowly that other people could have noticed; or the opposite, being so "
    .. "fidgety or restless that you have been moving around a lot more than usual",
  "Thoughts that you would be better off dead, or of hurting yourself in some way",
}

rapport.measure {
  id = "phq9",
  title = "Patient Health Questionnaire (PHQ-9)",
  items = 9,
  min = 0,
  max = 3,
  precision = 0,
  rci = 6,
  item_labels = M.PHQ9_ITEMS,
  bands = {
    { min = 0, max = 4, label = "minimal" },
    { min = 5, max = 9, label = "mild" },
    { min = 10, max = 14, label = "moderate" },
    { min = 15, max = 19, label = "moderately severe" },
    { min = 20, max = 27, label = "severe" },
  },
  cutoffs = {
    {
      at_least = 10,
      flag = "clinical range: PHQ-9 total of 10 or more",
      label = "10 or more",
      source = "Kroenke K, Spitzer RL, Williams JBW (2001). J Gen Intern Med 16(9):606-613.",
    },
    {
      item = 9,
      at_least = 1,
      risk = true,
      flag = "PHQ-9 item 9 (thoughts of death or of self-harm) above 0: assess risk",
      label = "item 9 above 0",
    },
  },
  sources = {
    "Kroenke K, Spitzer RL, Williams JBW (2001). The PHQ-9: validity of a brief depression "
      .. "severity measure. Journal of General Internal Medicine 16(9):606-613.",
    "Reliable change of 6 points: McMillan D, Gilbody S, Richards D (2010). Defining successful "
      .. "treatment outcome in depression using the PHQ-9. J Affect Disord 127:122-129.",
    "Item wording: Patient Health Questionnaire (PHQ) screeners, Pfizer Inc.; no permission "
      .. "required to reproduce, translate, display or distribute.",
  },
}

M.GAD7_ITEMS = {
  "Feeling nervous, anxious, or on edge",
  "Not being able to stop or control worrying",
  "Worrying too much about different things",
  "Trouble relaxing",
  "Being so restless that it is hard to sit still",
  "Becoming easily annoyed or irritable",
  "Feeling afraid, as if something awful might happen",
}

rapport.measure {
  id = "gad7",
  title = "Generalized Anxiety Disorder scale (GAD-7)",
  items = 7,
  min = 0,
  max = 3,
  precision = 0,
  rci = 4,
  item_labels = M.GAD7_ITEMS,
  bands = {
    { min = 0, max = 4, label = "minimal" },
    { min = 5, max = 9, label = "mild" },
    { min = 10, max = 14, label = "moderate" },
    { min = 15, max = 21, label = "severe" },
  },
  cutoffs = {
    {
      at_least = 10,
      flag = "clinical range: GAD-7 total of 10 or more",
      label = "10 or more",
      source = "Spitzer RL et al. (2006). Arch Intern Med 166(10):1092-1097.",
    },
  },
  sources = {
    "Spitzer RL, Kroenke K, Williams JBW, Löwe B (2006). A brief measure for assessing "
      .. "generalized anxiety disorder: the GAD-7. Archives of Internal Medicine 166(10):1092-1097.",
    "Item wording: Patient Health Questionnaire (PHQ) screeners, Pfizer Inc.; no permission "
      .. "required to reproduce, translate, display or distribute.",
  },
}

-- Scores computed by hand from the definitions above, through the host's
-- own scoring (t.score runs what `rapport render` runs).
rapport.test("WAI-SR total and subscales", function(t)
  --            1  2  3  4  5  6  7  8  9 10 11 12
  local items = { 5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5, 4 }
  local s = t.score("wai_sr", items)
  t.eq(s.total, 39)
  t.eq(s.subscales.task, 5 + 4 + 1 + 4) -- items 1, 2, 10, 12
  t.eq(s.subscales.bond, 3 + 1 + 4 + 2) -- items 3, 5, 7, 9
  t.eq(s.subscales.goal, 2 + 5 + 3 + 5) -- items 4, 6, 8, 11
end)

rapport.test("WAI-SR extremes", function(t)
  local low, high = {}, {}
  for i = 1, 12 do
    low[i], high[i] = 1, 5
  end
  t.eq(t.score("wai_sr", low).total, 12)
  t.eq(t.score("wai_sr", high).total, 60)
  t.eq(t.score("wai_sr", high).subscales, { task = 20, bond = 20, goal = 20 })
end)

rapport.test("SRS flags an alliance concern below 36, to one decimal", function(t)
  t.eq(t.score("srs", { 9, 9, 9, 9 }).flags, {})
  local s = t.score("srs", { 8.5, 9.0, 7.5, 8.0 })
  t.eq(s.total, 33)
  t.eq(s.flags, { "alliance concern: SRS total below 36" })
  t.eq(t.score("srs", { 5.1, 5.8, 5.9, 5.9 }).total, 22.7) -- not 22.700000000000003
end)

rapport.test("ORS marks the clinical range below 25", function(t)
  t.eq(t.score("ors", { 6, 6, 6, 7 }).flags, {}) -- 25: at the cutoff, not below
  t.eq(t.score("ors", { 6, 6, 6, 6.9 }).flags, { "clinical range: ORS total below the adult cutoff of 25" })
end)

rapport.test("PHQ-9 bands and the item 9 risk flag", function(t)
  local bands = { [0] = "minimal", [4] = "minimal", [5] = "mild", [9] = "mild", [10] = "moderate",
    [14] = "moderate", [15] = "moderately severe", [19] = "moderately severe", [20] = "severe",
    [27] = "severe" }
  for total, band in pairs(bands) do
    -- `total` spread over items 1-8 (each at most 3), item 9 at 0.
    local items, left = {}, total
    for i = 1, 9 do
      items[i] = i < 9 and math.min(3, left) or math.max(0, left)
      left = left - items[i]
    end
    local s = t.score("phq9", items)
    t.eq(s.total, total)
    t.eq(s.band, band)
  end
  local quiet = t.score("phq9", { 0, 0, 0, 0, 0, 0, 0, 0, 0 })
  t.eq(quiet.risk_flags, {})
  local s = t.score("phq9", { 2, 2, 1, 3, 1, 2, 1, 2, 1 })
  t.eq(s.total, 15)
  t.eq(s.band, "moderately severe")
  t.eq(#s.risk_flags, 1)
  t.ok(s.risk_flags[1]:find("item 9", 1, true))
  t.eq(s.item_list[9].label, "Thoughts that you would be better off dead, or of hurting yourself in some way")
end)

rapport.test("GAD-7 bands", function(t)
  t.eq(t.score("gad7", { 0, 0, 0, 0, 1, 1, 2 }).band, "minimal")
  t.eq(t.score("gad7", { 1, 1, 1, 1, 1, 0, 0 }).band, "mild")
  t.eq(t.score("gad7", { 3, 2, 2, 1, 1, 2, 1 }).band, "moderate")
  local s = t.score("gad7", { 3, 3, 3, 3, 3, 0, 0 })
  t.eq(s.band, "severe")
  t.eq(s.flags, { "clinical range: GAD-7 total of 10 or more" })
  t.eq(t.score("gad7", { 3, 3, 3, 3, 3, 3, 3 }).total, 21)
end)

return M
