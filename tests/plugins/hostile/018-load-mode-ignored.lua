-- hostile: ask load for binary mode: text still loads, bytecode never
-- expect: ok
assert(load("return 1", "x", "b")() == 1)
assert(load("\27Lua", "x", "bt") == nil)
