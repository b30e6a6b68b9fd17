-- hostile: goto to a label in a repeat whose condition sees a later local
-- expect: error "jumps into the scope of local 'x'" at line 4
local f, err = load("repeat goto cont; local x; ::cont:: until x")
assert(f, err)  -- fails here
