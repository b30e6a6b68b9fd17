-- hostile: string.rep of the empty string 2^40 times (a C loop of 2^40 in stock Lua)
-- expect: ok
assert(string.rep("", 2^40) == "")
assert(string.rep("", 2^40, "") == "")
