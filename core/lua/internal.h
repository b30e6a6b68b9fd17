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
  // Where print and warn go (see rp_lua_set_print); NULL drops the text.
  rp_lua_print_fn print;
  void *print_ud;
  // Resolves require(name) for names other than "rapport" (see
  // rp_lua_set_require); NULL means no module can be required.
  rp_lua_require_fn require;
  void *require_ud;
};

// sandbox.c: hardens a new state once (called by rp_lua_new), and pushes a
// fresh environment table built from the allow-list onto the stack.
void rp_sandbox_init(rp_lua *h);
void rp_sandbox_push_env(rp_lua *h);

// The one protected call: [fn, args...] -> [results...]. Runs under the
// instruction budget with a traceback handler. On failure pops the error,
// sets *errmsg (malloc'd; may be NULL to discard) and returns a negative
// rp_status.
int rp_lua_pcall(rp_lua *h, int nargs, int nresults, char **errmsg);
