-- hostile: a filter raises an error object whose __tostring loops
-- expect: error "109-filter-error-tostring-loop.lua:6: (error object is a table value)" at line 9
-- host: binary
-- The error names the filter's own line, and the __tostring never runs.
rapport.filter("odd", function(s)
  error(setmetatable({}, {__tostring = function() while true do end end}))
end)
rapport.test("renders with the filter", function(t)
  t.render("{{ x | odd }}", { x = "ab" })  -- fails here (the filter at line 6)
end)
