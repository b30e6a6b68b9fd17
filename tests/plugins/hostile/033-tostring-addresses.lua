-- hostile: read heap addresses from tostring and string.format
-- expect: ok
for _, v in ipairs({{}, print, function() end, coroutine.create(print), tostring}) do
  local s = tostring(v) .. string.format("%s %5s", v, v)
  assert(not s:find("0x") and not s:find("%x%x%x%x%x%x%x"), s)
end
