-- hostile: table.move of 2^53 elements
-- expect: error "instruction budget exceeded" at line 3
table.move({}, 1, 2^53, 2)  -- fails here
