-- hostile: name a loaded chunk after another plugin's file
-- expect: error "load:1: spoofed" at line 3
local f = load("error('spoofed')", "@plugins/alliance.lua")  -- fails here
f()
