-- luacheck for plugin code (`make lint` runs `luacheck plugins/ examples/plugins/`).
--
-- Plugins run in Rapport's sandbox, not in a full Lua 5.4, so the standard
-- globals here are the sandbox's allow-list (core/lua/sandbox.c, documented in
-- docs/plugins.md, "The sandbox") plus the `rapport` API: a plugin that
-- reaches for `io` or `os.execute` is flagged here, before Rapport refuses it
-- at run time. Keep this list in step with the sandbox.

local function fields(list)
  return { fields = list, other_fields = false }
end

stds.rapport_sandbox = {
  read_globals = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen",
    "rawset", "select", "tonumber", "tostring", "type", "_VERSION", "_G",
    "pcall", "xpcall", "setmetatable", "load", "require", "collectgarbage", "print", "warn",
    string = fields {
      "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
      "reverse", "sub", "upper",
    },
    table = fields { "concat", "insert", "move", "pack", "remove", "sort", "unpack" },
    -- All of math but random and randomseed.
    math = fields {
      "abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log",
      "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "sin", "sqrt", "tan",
      "tointeger", "type", "ult",
    },
    utf8 = fields { "char", "charpattern", "codepoint", "codes", "len", "offset" },
    coroutine = fields { "create", "isyieldable", "resume", "running", "status", "wrap", "yield" },
    os = fields { "clock", "date", "time" },
    rapport = fields {
      "api", "version", "note_type", "checklist", "measure", "filter", "lambda", "on", "test",
    },
  },
}

std = "rapport_sandbox"
-- Option tables read best one entry a line, and some entries are long.
max_line_length = 120

-- The meta file is not plugin code: it declares the API for the Lua language
-- server, with empty functions whose arguments only carry annotations.
files["plugins/meta/"] = {
  std = "lua54",
  globals = { "rapport", "os" },
  unused_args = false,
  ignore = { "241" }, -- the test helpers' table is declared, never used
  max_comment_line_length = false, -- LuaLS wants a field's description on its line
}
