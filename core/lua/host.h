// The Lua host: Rapport's one door into Lua 5.4.
//
// Only core/lua/ includes lua.h. Everything else sees an rp_lua (one Lua state
// with its sandbox, budget and memory cap) and rp_lua_ref handles on values
// the host keeps alive for C. Every call into Lua goes through one protected
// call with a message handler that turns any error into a string with a
// traceback, so a failing chunk is reported as `plugins/x.lua:12: message`.
//
// Chunks are loaded in text mode only and named after their file ("@path"),
// and run in an allow-list environment: a safe subset of the standard library
// (string, table, math, utf8, coroutine, os.time/date/clock, and a few base
// functions), never io, debug, package, the rest of os, load of bytecode or
// file access (see sandbox.c). Each call runs under an
// instruction budget (a count hook) and the state under a memory cap (the
// allocator), both set at creation.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "template/template.h"
#include "util/buf.h"
#include "util/error.h"

typedef struct rp_lua rp_lua;

// A reference to a Lua value held by C; 0 is "no value".
typedef int rp_lua_ref;

typedef struct rp_lua_opts {
  size_t memory_limit;      // bytes; 0 means 16 MiB
  long instruction_budget;  // VM instructions per call; 0 means 10 million
} rp_lua_opts;

// Receives what plugin code prints (print, warn): `where` is "file:line" of
// the caller, `text` the line without its newline. The host caps how much a
// state may print; past the cap the text is dropped and one notice is sent.
typedef void (*rp_lua_print_fn)(void *ud, const char *where, const char *text, size_t len);

// Resolves require(name): pushes the module's value onto the Lua stack of
// the state and returns RP_OK, or returns a negative rp_status after setting
// *errmsg (malloc'd). "rapport" never reaches it: it is the API table.
typedef int (*rp_lua_require_fn)(void *ud, rp_lua *L, const char *name, char **errmsg);

// Creates a state. opts may be NULL. Returns NULL only when Lua cannot
// allocate its state.
rp_lua *rp_lua_new(const rp_lua_opts *opts);
void rp_lua_free(rp_lua *L);

void rp_lua_set_print(rp_lua *L, rp_lua_print_fn fn, void *ud);
// What os.time() and os.date() without a time see as now, in seconds since
// the epoch; rp_lua_new reads the clock once. Set it between sessions only,
// from something no session decides (e.g. when a watched file changed).
void rp_lua_set_time(rp_lua *L, long long now);
void rp_lua_set_require(rp_lua *L, rp_lua_require_fn fn, void *ud);

// Loads the Lua source file `path` (text only), runs it in a fresh sandbox
// environment, and keeps its first return value in *result (0 when it
// returns nothing). Problems go to diags as PATH:LINE:COL. Returns RP_OK or a
// negative rp_status.
int rp_lua_run_file(rp_lua *L, const char *path, rp_diags *diags, rp_lua_ref *result);

// Same for source held in memory, named `chunkname` (e.g. "@plugins/x.lua").
int rp_lua_run_string(rp_lua *L, const char *chunkname, const char *src, size_t len,
                      rp_diags *diags, rp_lua_ref *result);

// Looks up `key` in the table `table`; sets *out to a new reference (release
// it with rp_lua_unref) and returns true when the value is a function.
bool rp_lua_get_function(rp_lua *L, rp_lua_ref table, const char *key, rp_lua_ref *out);

void rp_lua_unref(rp_lua *L, rp_lua_ref ref);

// Cuts an error message from a protected call before its traceback, for
// one-line reports (a filter that failed while rendering). msg may be NULL.
void rp_lua_strip_traceback(char *msg);

// Calls the function `fn` as a Mustache lambda: with the section's raw text
// (text != NULL) or with no arguments (an interpolation). Appends the result,
// which must be a string, a number, or nil/false for nothing, to `out`. On
// failure returns a negative rp_status and sets *errmsg (malloc'd) to the
// error with its Lua file:line.
int rp_lua_call_lambda(rp_lua *L, rp_lua_ref fn, const char *text, size_t len, rp_buf *out,
                       char **errmsg);

// ---------------------------------------------------------------------------
// Lua values as template data
// ---------------------------------------------------------------------------

// The engine's context interface over Lua values, so a template can render
// straight from tables a plugin computed. Values are read with raw access (no
// metamethod ever runs) and live on the state's stack while a render needs
// them: the engine's mark/release drop them after each section element.
//
// Kinds: nil and rp_lua_push_null's sentinel are NULL; booleans, numbers
// (integers print as integers, floats as JavaScript prints them) and strings
// are themselves; a function is a LAMBDA; a table whose [1] is not nil, and
// an empty table, is a LIST of its elements 1..#t; any other table is a MAP
// with string keys.
typedef struct rp_lua_ctx rp_lua_ctx;

// Starts a context whose root is the value at the top of the Lua stack (the
// caller pushes it). Fill an rp_ctx with rp_lua_ctx_get and render; then
// rp_lua_ctx_end pops everything the render left, the root included.
rp_lua_ctx *rp_lua_ctx_begin(rp_lua *L);
rp_ctx rp_lua_ctx_get(rp_lua_ctx *c);
void rp_lua_ctx_end(rp_lua_ctx *c);

// Pushes the null sentinel (JSON null in a table, where nil cannot stand).
void rp_lua_push_null(rp_lua *L);

// Runs `fn` on the state's stack: for glue code that builds Lua values from C
// data (e.g. core/data trees) without including lua.h.
struct rp_doc;
// Pushes a copy of the data tree value v as Lua values (maps become tables
// with string keys, lists sequences, null the sentinel). Lambdas in the tree
// become nil. The copy runs protected: when the state's memory cap (or its
// stack) cannot hold it, nothing is pushed, an error at `path` (the session
// the value came from) is added to diags and RP_ENOMEM returned; the state
// stays usable. Returns RP_OK when the value is on the stack.
int rp_lua_push_doc(rp_lua *L, struct rp_doc *doc, rp_value v, const char *path, rp_diags *diags);
// As rp_lua_push_doc, but null becomes nil (an absent field), as plugin code
// expects of a session: `if note.risk.safety_plan == nil then`.
int rp_lua_push_note(rp_lua *L, struct rp_doc *doc, rp_value v, const char *path, rp_diags *diags);
// Pops the value at the top of the stack and stores it as t[key], where t is
// the value just below it. For assembling data in tests and the spec runner.
void rp_lua_set_field(rp_lua *L, const char *key);
// Pushes the function held by `ref`.
void rp_lua_push_ref(rp_lua *L, rp_lua_ref ref);
void rp_lua_pop(rp_lua *L, int n);
