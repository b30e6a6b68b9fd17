-- hostile: catch the budget error with pcall and go on
-- expect: error "instruction budget exceeded" at line 4
while true do
  pcall(function() while true do end end)  -- fails here
end
