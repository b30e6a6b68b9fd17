-- The homework follow-up checklist that the tutorial in docs/plugins.md builds.
-- Homework follow-up: was the task agreed last session done, how helpful
-- was it, and what got in the way.

-- What to put in the plan when the homework was skipped.
local SKIPPED_PLAN = "Review the task together and agree on a smaller first step."

-- Sums up one session's answers, as the session file writes them:
--   homework: { skipped: false, helpful: 4, barriers: "a busy week" }
-- where helpful may also be { rating: 4, note: "..." }. Returns the rating,
-- the flags to raise and the suggestions for the plan.
local function summarize(answers)
  answers = answers or {}
  local helpful = answers.helpful
  if type(helpful) == "table" then
    helpful = helpful.rating
  end
  if helpful ~= nil and (type(helpful) ~= "number" or helpful < 1 or helpful > 5) then
    error("homework.helpful must be a rating from 1 to 5")
  end
  local summary = { helpful = helpful, flags = {}, plan = {} }
  if answers.skipped then
    table.insert(summary.flags, "homework skipped")
    table.insert(summary.plan, SKIPPED_PLAN)
  elseif helpful and helpful <= 2 then
    table.insert(summary.flags, "homework rated unhelpful (" .. helpful .. " of 5)")
  end
  return summary
end

rapport.checklist {
  id = "homework",
  title = "Homework follow-up",
  items = {
    { id = "skipped", label = "Homework skipped", type = "flag", suggest = SKIPPED_PLAN },
    { id = "helpful", label = "Helpfulness", type = "rating", min = 1, max = 5, note = true },
    { id = "barriers", label = "What got in the way", type = "text" },
  },
  summarize = summarize,
}

rapport.test("homework: a helpful task raises no flag", function(t)
  local s = summarize { helpful = { rating = 4, note = "used it twice" } }
  t.eq(s.helpful, 4)
  t.eq(s.flags, {})
  t.eq(s.plan, {})
end)

rapport.test("homework: a skipped task goes into the plan", function(t)
  local s = summarize { skipped = true, barriers = "a busy week" }
  t.eq(s.flags, { "homework skipped" })
  t.eq(s.plan, { SKIPPED_PLAN })
end)

rapport.test("homework: a rating out of range is refused", function(t)
  t.eq(summarize({}).helpful, nil, "no answers, no rating")
  t.fails(function()
    summarize { helpful = 9 }
  end, "from 1 to 5")
end)

-- {{ helpful | stars }} shows a rating as stars: 4 becomes ★★★★☆. An
-- argument sets the scale: {{ helpful | stars 3 }}. Nothing for no rating.
local function stars(rating, max)
  local n, top = math.tointeger(rating), math.tointeger(max or 5)
  if not n or not top or n < 0 or n > top then
    return nil
  end
  return string.rep("★", n) .. string.rep("☆", top - n)
end

rapport.filter("stars", stars)

rapport.test("homework: stars in a template", function(t)
  t.eq(t.render("Helpful: {{ helpful | stars }}", { helpful = 4 }), "Helpful: ★★★★☆")
  t.eq(t.render("{{ helpful | stars 3 }}", { helpful = 1 }), "★☆☆")
  t.eq(t.render("[{{ helpful | stars }}]", {}), "[]")
end)
