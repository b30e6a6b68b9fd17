// Shared by the files of core/lua/ only: the host's state and its one door.
#pragma once

#include <lua.h>
#include <stdbool.h>

#include "lua/host.h"

struct rp_lua {
  lua_State *L;
  size_t used, limit;
  long budget, remaining;
  bool exhausted;  // sticky for the current call: a plugin's pcall cannot reset it
};

// The one protected call: [fn, args...] -> [results...]. Runs under the
// instruction budget with a traceback handler. On failure pops the error,
// sets *errmsg (malloc'd; may be NULL to discard) and returns a negative
// rp_status.
int rp_lua_pcall(rp_lua *h, int nargs, int nresults, char **errmsg);
