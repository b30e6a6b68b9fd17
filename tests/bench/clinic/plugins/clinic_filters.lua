-- Two template filters a clinic writes for its own headers: initials
-- without dots ("J.D." -> "JD"), and a session's length as billing units of
-- 15 minutes, rounded as the clinic bills ("50" -> "50 minutes, 3 units").

local function initials(text)
  return (tostring(text):gsub("%.", ""):upper())
end

local function units(minutes)
  local m = tonumber(minutes)
  if not m then
    return minutes
  end
  local n = math.floor((m + 7) / 15)
  return string.format("%d minutes, %d unit%s", m, n, n == 1 and "" or "s")
end

rapport.filter("initials", initials)
rapport.filter("units", units)

rapport.test("initials and units", function(t)
  t.eq(initials("j.d."), "JD")
  t.eq(units(50), "50 minutes, 3 units")
  t.eq(units(8), "8 minutes, 1 unit")
end)
