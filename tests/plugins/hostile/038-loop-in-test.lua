-- hostile: an endless loop inside a test
-- expect: error "instruction budget exceeded" at line 4
rapport.test("loops forever", function()
  while true do end  -- fails here
end)
