-- hostile: goto into the scope of a local
-- expect: error "jumps into the scope of local 'x'" at line 4
local f, err = load("goto l; local x; ::l:: print(x)")
assert(f, err)  -- fails here
