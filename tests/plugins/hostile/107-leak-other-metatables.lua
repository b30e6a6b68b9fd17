-- hostile: look for shared metatables on functions, numbers, booleans
-- expect: ok
-- companion: probe-strings.lua
assert(getmetatable(print) == nil and getmetatable(1) == nil and getmetatable(true) == nil)
assert(getmetatable(nil) == nil and getmetatable(coroutine.create(print)) == nil)
