-- hostile: stash a canary in the rapport table
-- expect: ok
-- companion: probe-rapport.lua
rapport.stash = "CANARY-HOSTILE-A"
rapport.api = 2
