-- hostile: integer arithmetic at the edges
-- expect: ok
assert(math.mininteger // -1 == math.mininteger)
assert(math.mininteger % -1 == 0)
assert(math.maxinteger + 1 == math.mininteger)
for i = math.maxinteger - 2, math.maxinteger do end
for i = math.mininteger, math.mininteger + 2 do end
assert(string.format("%d", math.mininteger) == "-9223372036854775808")
