-- hostile: load a chunk without env to reach the host's globals
-- expect: error "attempt to index a nil value (local 'leak')" at line 6
local G = load("return _G")()
assert(G == _G, "load without env must give the plugin's own environment")
local leak = load("return io")()
leak.popen("id")  -- fails here
