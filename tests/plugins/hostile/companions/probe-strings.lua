-- Loaded after a hostile case, in a fresh environment: strings behave.
assert(("x"):rep(3) == "xxx" and string.rep("x", 2) == "xx", "string.rep was changed")
assert(("a"):upper() == "A" and string.upper("b") == "B", "string.upper was changed")
assert(("%d-%s"):format(5, "x") == "5-x", "string.format was changed")
assert(("abc"):gsub("b", "B") == "aBc", "string.gsub was changed")
assert(getmetatable("") == false, "the string metatable was exposed")
