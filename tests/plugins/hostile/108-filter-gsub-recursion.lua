-- hostile: C stack overflow through gsub callbacks inside a filter, at render time
-- expect: error "108-filter-gsub-recursion.lua:5: C stack overflow" at line 8
-- host: binary
-- The error names the filter's own line, not only the render that called it.
local function f(s) return (s:gsub(".", f)) end
rapport.filter("deep", function(s) return f(s) end)
rapport.test("renders with the filter", function(t)
  t.render("{{ x | deep }}", { x = "ab" })  -- fails here (the filter at line 5)
end)
