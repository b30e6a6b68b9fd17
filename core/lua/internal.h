// Shared by the files of core/lua/ only: the host's state and its one door.
#pragma once

#include <lua.h>
#include <stdbool.h>
#include <stdint.h>

#include "lua/host.h"

typedef struct rp_arena rp_arena;
typedef struct rp_lua_snapshot rp_lua_snapshot_t;

struct rp_lua {
  // The thread the host's C code acts on: the main thread between calls,
  // and while a C function called from Lua re-enters the host (t.render,
  // t.fails, require, registration), the thread that called it, which may
  // be a coroutine. Host code never touches another thread's stack: a
  // coroutine's caller is suspended inside a C call (resume), and pushing
  // onto its stack or running a call on it corrupts it. rp_lua_enter sets
  // it; rp_lua_pcall and the sandbox's resume restore it when they return,
  // so an error that unwinds past an entry leaves it right for the caller.
  lua_State *L;
  lua_State *main;          // the state's main thread: for lua_close only
  rp_arena *arena;          // where every byte of the state lives (host.c)
  rp_lua_snapshot_t *snap;  // the state as rp_lua_snapshot kept it, or NULL
  bool dirty;               // the state may differ from the snapshot
  size_t used, limit;
  long budget, remaining;
  long spent;      // instructions of the calls since the snapshot or the last restore
  long long now;   // what os.time() and os.date() see as now (see rp_lua_set_time)
  bool exhausted;  // sticky for the current call: a plugin's pcall cannot reset it
  int depth;       // rp_lua_pcall calls in progress (nested through C)
  // Where print and warn go (see rp_lua_set_print); NULL drops the text.
  rp_lua_print_fn print;
  void *print_ud;
  // Resolves require(name) for names other than "rapport" (see
  // rp_lua_set_require); NULL means no module can be required.
  rp_lua_require_fn require;
  void *require_ud;
};

// Makes L, the thread a Lua->C function was called on, the one the host acts
// on; returns the previous one for rp_lua_leave. Every C function registered
// into Lua that calls host code using h->L (directly or through
// rp_lua_pcall, a render, a conversion) brackets that with these two.
static inline lua_State *rp_lua_enter(rp_lua *h, lua_State *L) {
  lua_State *prev = h->L;
  h->L = L;
  return prev;
}
static inline void rp_lua_leave(rp_lua *h, lua_State *prev) {
  h->L = prev;
}

// sandbox.c: hardens a new state once (called by rp_lua_new), and pushes a
// fresh environment table built from the allow-list onto the stack.
void rp_sandbox_init(rp_lua *h);
void rp_sandbox_push_env(rp_lua *h);

// Keeps the whole state as it is now (after a full collection), outside any
// call, so that rp_lua_restore can bring it back; a later snapshot replaces
// it.
void rp_lua_snapshot(rp_lua *h);
// What rp_lua_snapshot does before it copies: a full collection, and the
// collector's pace for sessions. A state that serves one session without a
// snapshot is settled all the same, so that what a plugin can measure of it
// (collectgarbage("count"), os.clock()) is what it would be after a
// snapshot.
void rp_lua_settle(rp_lua *h);
// Brings the state back to the snapshot when anything may have changed
// since (any allocation or call), outside any call: every table, upvalue,
// metatable, string, coroutine and reference is as it was then, and so are
// the memory count and the sandbox's per-state counters. Returns whether it
// copied anything. Without a snapshot it does nothing.
bool rp_lua_restore(rp_lua *h);
// Where the state's region starts: an address for ordering, never shown.
uintptr_t rp_lua_region_base(const rp_lua *h);
// Bytes of the state the snapshot holds (0 without one).
size_t rp_lua_snapshot_size(const rp_lua *h);

// The one protected call: [fn, args...] -> [results...]. Runs under the
// instruction budget with a traceback handler. On failure pops the error,
// sets *errmsg (malloc'd; may be NULL to discard) and returns a negative
// rp_status.
int rp_lua_pcall(rp_lua *h, int nargs, int nresults, char **errmsg);

// ---------------------------------------------------------------------------
// plugins.c / api.c: the plugin set and what it registered
// ---------------------------------------------------------------------------

#include "lua/plugins.h"

typedef struct rp_plugin {
  char *name;    // NAME of NAME.lua or NAME/init.lua
  char *path;    // main file, as messages show it (also the chunk name)
  char *folder;  // NAME/ for a folder plugin (its own modules), else NULL
  int dir;       // position on the search path: 0 built-ins, 1.. folders
  bool builtin;
  bool failed;
  char *replaces_path;  // a plugin of the same name earlier on the path
  int chunk_ref;        // the compiled main chunk
  int module_ref;       // what the chunk returned, for require; LUA_NOREF if nothing
} rp_plugin;

typedef struct rp_item {
  rp_item_kind kind;
  char *id;
  char *title;
  char *path;
  int line;
  char *overrides_path;
  int overrides_line;
  size_t plugin;             // index into plugins
  int ref;                   // the registered table or function
  struct rp_schema *schema;  // a note type's schema, built on first use
} rp_item;

struct rp_plugins {
  rp_lua *lua;
  rp_plugin *plugins;
  size_t nplugins;
  rp_item *items;
  size_t nitems, itemcap;
  long loading;   // index of the plugin whose chunk is running, or -1
  int requiring;  // depth of nested require, against cycles
  // While rp_plugins_load runs: where a plugin that require loads reports
  // its own problems, and the name of the last module require refused
  // because it failed to load (its requirer gets a note, not a second error).
  rp_diags *load_diags;
  char failed_require[72];
  bool one_session;  // no snapshot (rp_plugins_opts.one_session)...
  int sessions;      // ...and how many sessions have begun
};

// notes.c: checks the item scores at index `scores` against the measure `id`
// and scores them as a note's measures are scored, pushing the score table;
// or adds the problems to diags and pushes nothing. For t.score.
int rp_measure_score(rp_plugins *p, const char *id, int scores, rp_diags *diags);

// api.c: pushes a fresh `rapport` table whose registration functions add to
// p while p->loading >= 0 and refuse otherwise.
void rp_api_push(rp_plugins *p);
// api.c: pushes the `t` helper table handed to a test function.
void rp_api_push_test_helpers(rp_plugins *p);
// context.c: converts the Lua value at idx into `doc` with raw access (no
// metamethod runs), at most RP_DATA_MAX_DEPTH levels, and refusing cycles,
// functions and mixed tables. Returns RP_OK, or RP_EDATA with *err set
// (malloc'd) and *out null.
// An empty table becomes a list, unless it is marked as a map
// (rp_lua_mark_map): then it is an empty map, `{}` in JSON.
struct rp_doc;
int rp_lua_to_doc(rp_lua *h, int idx, struct rp_doc *doc, rp_value *out, char **err);
// context.c: calls fn(ud, args...) protected, with the `nargs` values on top
// of the stack as its arguments (popped), leaving `nresults` results. The
// host's own work on a session's tables can exceed the state's memory cap:
// then nothing is left on the stack, "no note: this session is too large for
// the plugins' memory" at `path` goes to diags and RP_ENOMEM is returned.
int rp_lua_call_checked(rp_lua *h, lua_CFunction fn, void *ud, int nargs, int nresults,
                        const char *path, rp_diags *diags);
// context.c: marks the table at idx as a map (sets the shared, protected map
// metatable; any metatable it had is replaced), and tells whether a value
// is so marked. rp_lua_push_doc marks every map it pushes; the host marks the
// maps it builds (scores, checklists, subscales); plugins use rapport.map().
void rp_lua_mark_map(lua_State *L, int idx);
bool rp_lua_is_map(lua_State *L, int idx);

// plugins.c: reports a Lua error message ("path:LINE: text" and a
// traceback) as an error at that line with notes for the Lua frames.
void rp_plugins_report(const rp_plugins *p, rp_diags *diags, const char *fallback_path,
                       const char *msg);

// notetypes.c: reports note types that name checklists or measures no
// plugin defines.
void rp_plugins_check_references(rp_plugins *p, rp_diags *diags);

// plugins.c: adds an item registered by the running plugin (ref: a registry
// reference it takes over). Returns false with a message in *err on a
// conflict with an earlier registration of the same folder.
bool rp_plugins_register(rp_plugins *p, rp_item_kind kind, const char *id, const char *title,
                         const char *path, int line, int ref, rp_buf *err);

// --- sandbox.c / pattern.c ---------------------------------------------------
// The sandbox keeps per-state bookkeeping (why a call is exhausted, its
// deadline, how much was printed) in a registry userdata, and stores a
// pointer to it in the main thread's extra space (lua_getextraspace), which
// every coroutine copies; nothing else may use the extra space.

// Charges n instructions to the current call: raises "instruction budget
// exceeded" (or the call's earlier exhaustion, or "time limit exceeded" past
// its wall-clock deadline). For C code whose work the count hook cannot see.
void rp_sandbox_charge(lua_State *L, lua_Integer n);
// host_alloc refused an allocation: marks the call exhausted and, inside a
// call, remembers the plugin line that asked.
void rp_sandbox_note_oom(rp_lua *h);
// Bracket a top-level call (rp_lua_pcall): reset the reason and the deadline.
void rp_sandbox_call_begin(rp_lua *h);
void rp_sandbox_call_end(rp_lua *h);
// When the last call was exhausted: its message, "FILE:LINE: what ran out",
// followed by the traceback of luamsg when there is one (malloc'd; the
// caller frees). NULL when it was not. *memory tells a memory exhaustion.
char *rp_sandbox_failure(rp_lua *h, const char *luamsg, bool *memory);
// The wall-clock limit of one top-level call in milliseconds (default 4000;
// 0 restores it). For tests.
void rp_sandbox_set_time_limit(rp_lua *h, long ms);

// pattern.c: string.find, match, gmatch and gsub with Lua 5.4's semantics
// and a matcher that charges its steps to the budget (rp_sandbox_charge).
int rp_pattern_find(lua_State *L);
int rp_pattern_match(lua_State *L);
int rp_pattern_gmatch(lua_State *L);
int rp_pattern_gsub(lua_State *L);
