// The plugin host: finds plugins on the search path, loads them into a
// sandboxed Lua state, and keeps what they register.
//
// A plugin is a `NAME.lua` file or a `NAME/` folder with an `init.lua`. The
// search path is the built-in plugins (compiled into the binary, under their
// real chunk names such as `plugins/alliance.lua`), then each folder given,
// in order. A plugin whose NAME appears again later on the path is replaced
// by the later one. What plugins register (note types, checklists, measures,
// filters, lambdas, event hooks, tests) is keyed by kind and id: a later
// registration of the same id replaces an earlier one from another folder and
// records what it overrides; two registrations of one id from the same
// folder are an error naming both places.
//
// Plugins register only while they load. A plugin that fails to load (a
// syntax error, a runtime error, a budget exceeded, a bad option) is reported
// with its file and line and disabled: whatever it registered is dropped and
// the other plugins keep working.
//
// Isolation: plugins run once, when they load; then the host keeps a
// snapshot of the whole Lua state, and every session starts from it
// (rp_plugins_session_begin puts the state back when anything changed), so
// nothing a plugin stored while serving one session (in a global, an
// upvalue, a module table, a metatable, a coroutine) survives into the next,
// and nothing it can observe (the memory count, the clock) depends on
// another session.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lua/host.h"
#include "template/template.h"
#include "util/buf.h"
#include "util/error.h"

typedef enum rp_item_kind {
  RP_ITEM_NOTE_TYPE,
  RP_ITEM_CHECKLIST,
  RP_ITEM_MEASURE,
  RP_ITEM_FILTER,
  RP_ITEM_LAMBDA,
  RP_ITEM_HOOK,
  RP_ITEM_TEST,
  RP_ITEM_KINDS
} rp_item_kind;

// "note type", "checklist", ... for messages and `rapport list`.
const char *rp_item_kind_name(rp_item_kind kind);

typedef struct rp_item_info {
  rp_item_kind kind;
  const char *id;              // the id, filter or lambda name, event name, or test name
  const char *title;           // NULL when the plugin gave none
  const char *path;            // where it was registered: the plugin file...
  int line;                    // ...and line
  const char *overrides_path;  // the registration it replaced, or NULL
  int overrides_line;
} rp_item_info;

typedef struct rp_plugin_info {
  const char *name;  // NAME of NAME.lua or NAME/init.lua
  const char *path;  // its main file, as messages show it
  bool builtin;
  bool failed;                // it failed to load and is disabled
  const char *replaces_path;  // a plugin of the same name earlier on the path, or NULL
} rp_plugin_info;

typedef struct rp_plugins_opts {
  bool builtins;      // load the built-in plugins first
  const char **dirs;  // folders to search after them, in order; each may be missing
  size_t ndirs;
  rp_lua_opts lua;  // budgets of the state
  // The set serves at most one session (`rapport render` of one session
  // file, `rapport new`, `rapport list`): there is nothing to keep apart,
  // so no snapshot is taken. A second rp_plugins_session_begin is refused.
  bool one_session;
} rp_plugins_opts;

typedef struct rp_plugins rp_plugins;

// Loads every plugin on the search path. Never NULL. Problems (a plugin
// that fails, duplicate ids in one folder, unreadable files) go to diags;
// the plugins that loaded are usable.
rp_plugins *rp_plugins_load(const rp_plugins_opts *opts, rp_diags *diags);
void rp_plugins_free(rp_plugins *p);

// Where the plugins' print and warn go: by default standard error, each line
// a note at the plugin's file and line (PATH:LINE:1: note: TEXT). NULL drops
// them (e.g. on a rendering thread, whose output must come out in order).
void rp_plugins_set_print(rp_plugins *p, rp_lua_print_fn fn, void *ud);

// Where the plugins' print and warn go now (to hand them elsewhere for a
// while and back).
void rp_plugins_get_print(const rp_plugins *p, rp_lua_print_fn *fn, void **ud);

size_t rp_plugins_count(const rp_plugins *p);
void rp_plugins_plugin(const rp_plugins *p, size_t i, rp_plugin_info *out);
// Registered items of one kind, in registration order (overridden ones are
// gone). Returns false past the end.
bool rp_plugins_item(const rp_plugins *p, rp_item_kind kind, size_t i, rp_item_info *out);
size_t rp_plugins_item_count(const rp_plugins *p, rp_item_kind kind);

// Puts the plugins back as they were when they loaded (see above), as
// rp_plugins_session_begin does. Returns RP_OK.
int rp_plugins_reset(rp_plugins *p, rp_diags *diags);

// Brackets one session's use of the plugins: every caller that runs plugin
// code for a session (render, check, watch, a batch worker) calls
// rp_plugins_session_begin before and rp_plugins_session_end after, and the
// host decides what it takes to keep one session's data out of the next
// (it restores the snapshot, see above). begin returns RP_OK, or a negative
// status after reporting to diags when the plugins could not be made ready
// (then no note may be made). `failed` tells end that the session stopped
// part way in the plugins' hands. Any plugin code run outside a session
// (a lambda, a check) is undone by the next begin as well.
int rp_plugins_session_begin(rp_plugins *p, const char *path, rp_diags *diags);
void rp_plugins_session_end(rp_plugins *p, bool failed);

// What os.time() and os.date() without a time see as now, in seconds since
// the epoch: the time rp_plugins_load read, unless set. It is the same for
// every session of a run, since the clock's reading when a session starts
// would tell how long the sessions before it took. Set it only between
// sessions, from something no session decides (watch mode: when the change
// that starts a rebuild happened).
void rp_plugins_set_time(rp_plugins *p, long long now);

// Adds the plugins' filters to `f`. A plugin filter finds the plugin set to
// call through rp_render_opts.user, which must be this rp_plugins (or one
// loaded from the same search path, e.g. another worker's) when rendering.
void rp_plugins_add_filters(const rp_plugins *p, rp_filters *f);

// Calls registered lambda number i (0-based, in rp_plugins_item order), with
// the contract of rp_ctx_ops.call.
int rp_plugins_call_lambda(rp_plugins *p, size_t i, const char *text, size_t len, rp_buf *out,
                           char **errmsg);

typedef struct rp_test_result {
  size_t passed, failed;
} rp_test_result;

// Runs the registered tests whose name contains `match` (NULL: all), each
// from the plugins as they loaded (the snapshot, as a session) and under its
// own budget; the built-in plugins' tests
// only when `builtin` is set. Reports one line per failure (PATH:LINE:COL:
// error: test 'name' failed: message) to diags, and counts.
void rp_plugins_run_tests(rp_plugins *p, const char *match, bool builtin, rp_test_result *result,
                          rp_diags *diags);

// The schema of the registered note type `id` (its fields, and its
// checklists' and measures' ids as the session keys `alliance`-style data
// lives under: each checklist id, and `measures`), built from the plugin's
// table with raw access. NULL when there is no such note type. The caller
// frees it with rp_schema_free.
struct rp_schema *rp_plugins_schema(rp_plugins *p, const char *id);

// The layout template name of note type `id` (its `layout`, or the id),
// malloc'd; NULL when there is no such note type.
char *rp_plugins_layout(rp_plugins *p, const char *id);

// The schema of the registered note type `id` (built once per registration
// and owned by p, valid until the plugins are reset or freed), and its title
// in *title (may be NULL; title may be NULL). NULL when there is no such note
// type.
const struct rp_schema *rp_plugins_note_type(rp_plugins *p, const char *id, const char **title);

// Builds the note of one session, as read into `in` (root `root`; `path`
// names it in messages): finds its note type (the top-level `type`),
// validates and types the session against the note type's schema
// (core/schema/), then calls the rapport.on("session") handlers with the
// typed session, runs the note type's validate rules, checks and scores the
// measures (note.scores[id]), summarizes the checklists
// (note.checklists[id]), runs compute, then the rapport.on("note") handlers
// (a handler or compute that returns a table replaces the note). The note's
// data goes into `out` (*note), and *layout (malloc'd) names its layout
// template. A session whose fields have problems still has its rules,
// checklist answers and measures checked, so every problem is reported at
// once. Every problem goes to diags; returns RP_OK, or RP_EDATA when the
// session has problems (then no note may be written). This is the one door
// from the note pipeline (core/notes/) into the plugins, and t.validate's
// code too.
int rp_plugins_build_note(rp_plugins *p, const char *path, struct rp_doc *in, rp_value root,
                          struct rp_doc *out, rp_value *note, char **layout, rp_diags *diags);

// Calls fn with the id of each checklist (RP_ITEM_CHECKLIST) and measure
// (RP_ITEM_MEASURE) that note type `id` names (with raw access to its
// table). Nothing when there is no such note type.
void rp_plugins_note_type_parts(rp_plugins *p, const char *id,
                                void (*fn)(void *ud, rp_item_kind kind, const char *part),
                                void *ud);
