-- Loaded after a hostile case, in a fresh environment: sees none of its globals.
assert(canary_global == nil and canary_field == nil and canary_raw == nil, "globals leaked")
assert(rawget(_G, "canary_global") == nil, "globals leaked")
assert(getmetatable(_G) == nil, "the environment's metatable leaked")
assert(undefined_name == nil, "an __index on the globals leaked")
