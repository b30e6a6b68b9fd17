-- Loaded after a hostile case, in a fresh environment: its own rapport table.
assert(rapport.stash == nil, "the rapport table leaked")
assert(rapport.api == 1, "rapport.api was changed")
