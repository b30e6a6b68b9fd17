-- Our clinic's additions: a filter for the client's initials in headers.
-- (The built-in DAP layout is replaced by templates/dap.md.mustache.)

local function caps(text)
  return (tostring(text):gsub("%.", ""):upper())
end

rapport.filter("caps", caps)

rapport.test("caps drops the dots", function(t)
  t.eq(caps("m.k."), "MK")
  t.eq(t.render("{{x | caps}}", { x = "j.d." }), "JD")
end)
