-- hostile: malformed UTF-8 and out-of-range code points
-- expect: error "value out of range" at line 5
assert(utf8.len("\xff") == nil)
assert(not pcall(utf8.codepoint, "\xff"))
local s = utf8.char(0x7FFFFFFF + 1)  -- fails here
