-- hostile: load with a C function as the reader
-- expect: error "exceeded" at line 3
local f = load(os.clock)  -- fails here
