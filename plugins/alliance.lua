-- The therapeutic-alliance checklist.
--
-- Five elements from the practice literature, each rated 1-5 with an
-- optional note: trust, empathy, collaboration, respect and authenticity.
-- Three challenges, each with the counter-move suggested into the plan when
-- it is noticed: cultural differences (understand the client's perspective),
-- power imbalance (share power, co-set goals) and countertransference
-- (supervision or personal therapy). And rupture and repair, after Safran
-- and Muran: whether a rupture was noticed (withdrawal or confrontation) and
-- whether it was addressed in the session; an unaddressed rupture is flagged
-- into the plan.
--
-- In a session file:
--   alliance:
--     trust: 4
--     empathy: { rating: 5, note: "said she felt understood" }
--     challenges:
--       countertransference: { noticed: true, plan: bring to supervision }
--     rupture: { noticed: withdrawal, addressed: false }

local M = {}

M.ELEMENTS = { "trust", "empathy", "collaboration", "respect", "authenticity" }

M.CHALLENGES = {
  cultural_differences = {
    label = "Cultural differences",
    suggest = "Explore the client's perspective and how their background shapes the work.",
  },
  power_imbalance = {
    label = "Power imbalance",
    suggest = "Share power: set goals together with the client.",
  },
  countertransference = {
    label = "Countertransference",
    suggest = "Bring the countertransference to supervision or personal therapy.",
  },
}

M.CHALLENGE_ORDER = { "cultural_differences", "power_imbalance", "countertransference" }

-- An element's rating: a bare number or { rating = n, note = "..." }.
local function rating_of(value)
  if type(value) == "table" then
    return value.rating
  end
  return value
end

-- Summarizes one session's alliance values: the mean of the rated elements,
-- the lowest-rated element(s), flags, and suggestions for the plan.
function M.summarize(values)
  values = values or {}
  local sum, count = 0, 0
  local lowest, lowest_rating = {}, nil
  local flags, plan = {}, {}
  for _, id in ipairs(M.ELEMENTS) do
    local r = rating_of(values[id])
    if type(r) == "number" then
      sum, count = sum + r, count + 1
      if lowest_rating == nil or r < lowest_rating then
        lowest, lowest_rating = { id }, r
      elseif r == lowest_rating then
        lowest[#lowest + 1] = id
      end
      if r <= 2 then
        flags[#flags + 1] = string.format("low %s (%d of 5)", id, math.tointeger(r) or r)
      end
    end
  end
  local challenges = values.challenges or {}
  for _, id in ipairs(M.CHALLENGE_ORDER) do
    local c = challenges[id]
    if type(c) == "table" and c.noticed == true then
      flags[#flags + 1] = M.CHALLENGES[id].label:lower() .. " noticed"
      plan[#plan + 1] = M.CHALLENGES[id].suggest
    end
  end
  local rupture = values.rupture
  local noticed = type(rupture) == "table" and rupture.noticed
  if noticed == "withdrawal" or noticed == "confrontation" then
    if rupture.addressed ~= true then
      flags[#flags + 1] = "rupture (" .. noticed .. ") not addressed"
      plan[#plan + 1] = "Address the rupture (" .. noticed .. ") early in the next session."
    end
  end
  -- One decimal, as a clinician writes it: 4.2, not 4.199999.
  local mean = count > 0 and math.floor(sum / count * 10 + 0.5) / 10 or nil
  local rated_text = count == 1 and "1 element" or (count .. " elements")
  local summary = "No element was rated."
  if mean then
    summary = string.format("Mean rating: %s of 5 over %s", math.tointeger(mean) or mean, rated_text)
    if #lowest > 0 then
      summary = summary .. "; lowest: " .. table.concat(lowest, ", ")
    end
    summary = summary .. "."
  end
  return {
    mean = mean,
    rated = count,
    rated_text = rated_text,
    lowest = lowest,
    summary = summary,
    flags = flags,
    plan = plan,
  }
end

local items = {}
for _, id in ipairs(M.ELEMENTS) do
  items[#items + 1] = {
    id = id,
    label = id:sub(1, 1):upper() .. id:sub(2),
    type = "rating",
    min = 1,
    max = 5,
    note = true,
  }
end
for _, id in ipairs(M.CHALLENGE_ORDER) do
  items[#items + 1] = {
    id = id,
    label = M.CHALLENGES[id].label,
    type = "flag",
    group = "challenges",
    note = true,
    suggest = M.CHALLENGES[id].suggest,
  }
end
items[#items + 1] = {
  id = "rupture",
  label = "Rupture and repair",
  type = "text",
  description = "noticed: withdrawal, confrontation or none; addressed: true or false",
}

rapport.checklist {
  id = "alliance",
  title = "Therapeutic alliance",
  items = items,
  summarize = M.summarize,
}

rapport.test("alliance: mean and lowest element", function(t)
  local s = M.summarize {
    trust = 4,
    empathy = { rating = 5, note = "said she felt understood" },
    collaboration = 3,
    respect = 5,
    authenticity = 4,
  }
  t.eq(s.mean, 21 / 5)
  t.eq(s.summary, "Mean rating: 4.2 of 5 over 5 elements; lowest: collaboration.")
  t.eq(s.rated, 5)
  t.eq(s.rated_text, "5 elements")
  t.eq(M.summarize({ trust = 4 }).rated_text, "1 element")
  t.eq(s.lowest, { "collaboration" })
  t.eq(s.flags, {})
  t.eq(s.plan, {})
end)

rapport.test("alliance: ties for lowest and low ratings flagged", function(t)
  local s = M.summarize { trust = 2, empathy = 2, collaboration = 4 }
  t.eq(s.lowest, { "trust", "empathy" })
  t.eq(s.flags, { "low trust (2 of 5)", "low empathy (2 of 5)" })
  t.eq(s.mean, 2.7) -- 8 / 3, to one decimal
end)

rapport.test("alliance: challenges suggest their counter-moves", function(t)
  local s = M.summarize {
    trust = 4,
    challenges = {
      countertransference = { noticed = true, plan = "bring to supervision" },
      power_imbalance = { noticed = false },
    },
  }
  t.eq(s.flags, { "countertransference noticed" })
  t.eq(M.summarize({ challenges = { power_imbalance = { noticed = "no" } } }).flags, {})
  t.eq(s.plan, { "Bring the countertransference to supervision or personal therapy." })
end)

rapport.test("alliance: an unaddressed rupture goes into the plan", function(t)
  local open = M.summarize { rupture = { noticed = "withdrawal", addressed = false } }
  t.eq(open.flags, { "rupture (withdrawal) not addressed" })
  t.eq(open.plan, { "Address the rupture (withdrawal) early in the next session." })
  t.eq(M.summarize({ rupture = { noticed = "withdrawal", addressed = "no" } }).flags,
    { "rupture (withdrawal) not addressed" })
  local repaired = M.summarize { rupture = { noticed = "confrontation", addressed = true } }
  t.eq(repaired.flags, {})
  t.eq(M.summarize({}).mean, nil)
  t.eq(M.summarize({}).summary, "No element was rated.")
end)

return M
