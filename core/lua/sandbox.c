// The sandbox: the environment plugin code runs in, built from an
// allow-list of safe functions on stock Lua (never a patched Lua, never a
// list of banned names). See host.h for what it promises.
#include <lauxlib.h>
#include <lualib.h>

#include "lua/internal.h"

static void copy_fields(lua_State *L, const char *lib, const char *const *names) {
  // [env] -> [env], env[lib] = { safe subset of the library }
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, lib);  // [env, loaded, libtable]
  lua_newtable(L);           // [env, loaded, libtable, copy]
  for (const char *const *n = names; *n; n++) {
    lua_getfield(L, -2, *n);
    lua_setfield(L, -2, *n);
  }
  lua_setfield(L, -4, lib);
  lua_pop(L, 2);
}

// Pushes a fresh sandbox environment built from an allow-list.
void rp_sandbox_push_env(rp_lua *h) {
  lua_State *L = h->L;
  static const char *const base[] = {"assert",   "error",    "ipairs", "next",   "pairs",
                                     "pcall",    "rawequal", "rawlen", "select", "tonumber",
                                     "tostring", "type",     "xpcall", NULL};
  static const char *const string[] = {"byte",    "char", "find",  "format", "gmatch",
                                       "gsub",    "len",  "lower", "match",  "rep",
                                       "reverse", "sub",  "upper", NULL};
  static const char *const table[] = {"concat", "insert", "remove", "sort", "unpack", NULL};
  static const char *const math[] = {"abs",        "ceil", "floor",      "fmod", "huge", "max",
                                     "maxinteger", "min",  "mininteger", "modf", "pi",   "sqrt",
                                     "tointeger",  "type", "ult",        NULL};
  static const char *const utf8[] = {"char", "charpattern", "codepoint", "codes",
                                     "len",  "offset",      NULL};
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, LUA_GNAME);  // [env, loaded, _G]
  for (const char *const *n = base; *n; n++) {
    lua_getfield(L, -1, *n);
    lua_setfield(L, -4, *n);
  }
  lua_pop(L, 2);
  copy_fields(L, LUA_STRLIBNAME, string);
  copy_fields(L, LUA_TABLIBNAME, table);
  copy_fields(L, LUA_MATHLIBNAME, math);
  copy_fields(L, LUA_UTF8LIBNAME, utf8);
}

void rp_sandbox_init(rp_lua *h) {
  (void)h;
}
