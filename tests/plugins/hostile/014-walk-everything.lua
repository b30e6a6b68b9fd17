-- hostile: walk every reachable table looking for dangerous functions
-- expect: ok
local banned = {}
for name in ("io debug package dofile loadfile os.execute os.getenv os.exit os.remove " ..
             "os.rename os.tmpname os.setlocale string.dump coroutine.close math.random " ..
             "math.randomseed"):gmatch("%S+") do
  banned["_G." .. name] = true
end
local anywhere = {popen = true, loadlib = true, getregistry = true, sethook = true,
                  searchers = true, preload = true, newproxy = true, setfenv = true}
local seen = {}
local function walk(t, path)
  if seen[t] then return end
  seen[t] = true
  for k, v in pairs(t) do
    local p = path .. "." .. tostring(k)
    assert(not banned[p] and not anywhere[k], "reachable: " .. p)
    if type(v) == "table" then walk(v, p) end
  end
  local mt = getmetatable(t)
  if type(mt) == "table" then walk(mt, path .. "<mt>") end
end
walk(_G, "_G")
assert(getmetatable("") == false)
