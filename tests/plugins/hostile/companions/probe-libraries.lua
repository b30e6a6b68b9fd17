-- Loaded after a hostile case, in a fresh environment: the libraries are whole.
assert(string.format("%03d", 7) == "007" and table.concat({1, 2}, ",") == "1,2")
assert(math.floor(2.5) == 2 and math.pi > 3.14 and math.maxinteger > 0)
assert(type(os.time()) == "number" and type(os.date("%Y")) == "string")
assert(coroutine.wrap(function() return 1 end)() == 1)
assert(utf8.char(228) == "\u{e4}" and utf8.len("\u{e4}") == 1)
for _, lib in ipairs({string, table, math, os, coroutine, utf8}) do
  assert(getmetatable(lib) == nil, "a library's metatable leaked")
  for k, v in pairs(lib) do assert(v ~= "CANARY-HOSTILE-A", k) end
end
