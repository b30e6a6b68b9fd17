-- Lua versions of the lambdas of the spec's ~lambdas.json, one per test,
-- keyed by the test's name. Each behaves as the other languages' versions in
-- that file do; the spec runner puts each into its test's data as `lambda`.
local calls = 0

return {
  ["Interpolation"] = function()
    return "world"
  end,
  ["Interpolation - Expansion"] = function()
    return "{{planet}}"
  end,
  ["Interpolation - Alternate Delimiters"] = function()
    return "|planet| => {{planet}}"
  end,
  ["Interpolation - Multiple Calls"] = function()
    calls = calls + 1
    return calls
  end,
  ["Escaping"] = function()
    return ">"
  end,
  ["Section"] = function(text)
    return text == "{{x}}" and "yes" or "no"
  end,
  ["Section - Expansion"] = function(text)
    return text .. "{{planet}}" .. text
  end,
  ["Section - Alternate Delimiters"] = function(text)
    return text .. "{{planet}} => |planet|" .. text
  end,
  ["Section - Multiple Calls"] = function(text)
    return "__" .. text .. "__"
  end,
  ["Inverted Section"] = function()
    return false
  end,
}
