// The workspace: the folder a clinic keeps (plugins/, templates/,
// sessions/, out/) and the search path around it.
//
// Everything that knows where things live on disk is here: the search path
// of plugins and templates (the built-in ones compiled into the binary, then
// the workspace's plugins/ and templates/, then each --plugins and
// --templates folder, a later one overriding an earlier one of the same
// name), loading the plugin set and the library of layouts from it, the one
// rule of what a session file is, listing the session files under a folder,
// and naming outputs. Commands, the note pipeline and watch mode all ask
// here rather than deciding for themselves.
//
// The workspace is the current folder: `-C DIR` changes into DIR before any
// of this runs, so every path here is relative to it.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lua/plugins.h"
#include "template/template.h"
#include "util/error.h"

typedef struct rp_workspace {
  // The folders given with --plugins and --templates, in order (borrowed).
  const char **plugin_dirs;
  size_t nplugin_dirs;
  const char **template_dirs;
  size_t ntemplate_dirs;
} rp_workspace;

typedef enum rp_ws_kind { RP_WS_PLUGINS, RP_WS_TEMPLATES } rp_ws_kind;

// The folders searched for `kind` after the built-in ones: the workspace's
// own ("plugins" or "templates") then each folder given, in order. *dirs is
// malloc'd (the caller frees it); the strings are borrowed from ws.
void rp_workspace_search_path(const rp_workspace *ws, rp_ws_kind kind, const char ***dirs,
                              size_t *n);

// Loads the plugin set: the built-ins, the search path, then the `extra`
// folders (rapport test's PATHs). Budgets come from RAPPORT_LUA_MEMORY_MIB and
// RAPPORT_LUA_INSTRUCTIONS when set. `one_session`: the set serves at most
// one session (rp_plugins_opts). Never NULL; problems go to diags.
rp_plugins *rp_workspace_load_plugins(const rp_workspace *ws, const char **extra, size_t nextra,
                                      bool one_session, rp_diags *diags);

// A library of layouts and their partials: NAME is NAME.mustache in the
// --templates folders (the last given first), the workspace's templates/,
// then the built-in templates/. `filters` must outlive the library. Free it
// with rp_workspace_layouts_free.
rp_library *rp_workspace_layouts(const rp_workspace *ws, const rp_filters *filters, bool strict);
void rp_workspace_layouts_free(rp_library *lib);

// Calls fn for every template on the search path, built-in ones first:
// `path` as messages show it ("templates/soap.md.mustache" for a built-in),
// `src` its bytes (NULL for a file, which the callee reads).
void rp_workspace_each_template(const rp_workspace *ws,
                                void (*fn)(void *ud, const char *path, const char *src, size_t len),
                                void *ud);

// The one rule of what a session file is: a name ending in .yaml, .yml or
// .json (any case) that does not start with '.' or '#' (editors' temporary
// and lock files).
bool rp_workspace_is_session(const char *name);
// A session file is JSON (.json), otherwise YAML.
bool rp_workspace_is_json(const char *name);
// A JSON Lines batch of sessions (.jsonl).
bool rp_workspace_is_batch(const char *name);
// Plugin sources (.lua) and templates (.mustache) that watch mode follows.
bool rp_workspace_is_plugin_file(const char *name);
bool rp_workspace_is_template(const char *name);

// Calls fn for each session file under the folder `dir` (every subfolder,
// in name order), skipping the output folder `out_dir` (may be NULL) however
// its path is written. fn receives the path as the walk forms it.
void rp_workspace_each_session(const char *dir, const char *out_dir,
                               void (*fn)(void *ud, const char *path), void *ud);

// The output of the session `input` in `dir`: "sessions/jd-07.yaml", ".md"
// -> "DIR/jd-07.md" (malloc'd). `line` > 0 names one line of a batch:
// "day.jsonl" line 12 -> "DIR/day-12.md".
char *rp_workspace_output_name(const char *dir, const char *input, long line, const char *ext);

// --- the inputs of a run ---------------------------------------------------------------------
//
// A note is never written over a file the run reads: a session, a plugin, a
// template or the record. Files are known by device and inode, so another
// spelling of the path, a hard link or a symbolic link to one is caught too.

typedef struct rp_inputs rp_inputs;

rp_inputs *rp_inputs_new(void);
void rp_inputs_free(rp_inputs *in);
// Adds the file at `path` (nothing when it does not exist). `what` says
// what it is in messages ("a session file of this run"; a static string).
void rp_inputs_add(rp_inputs *in, const char *path, const char *what);
// Adds what the open descriptor `fd` reads, when it is a file (standard
// input redirected from a session).
void rp_inputs_add_fd(rp_inputs *in, int fd, const char *what);
// Adds every file under the plugin and template folders of the search path,
// and the record (record.db and record.checkpoint, or RAPPORT_RECORD).
void rp_inputs_add_workspace(rp_inputs *in, const rp_workspace *ws);
// Adds every session file under the folder `dir` (the workspace's
// "sessions"), except those under `out_dir` (may be NULL) when it is a
// folder inside `dir`: JSON notes written there are not sessions. `what` as for rp_inputs_add.
void rp_inputs_add_sessions(rp_inputs *in, const char *dir, const char *out_dir, const char *what);
// Whether writing `path` would replace one of the inputs: the file it names
// now is one of them. Returns what it is, or NULL.
const char *rp_inputs_find(const rp_inputs *in, const char *path);

// Whether `target`, a file to be written under the folder `dir`, stays inside
// it: no folder between `dir` and the file is a symbolic link (a link planted
// there would carry the note elsewhere), and no component is "." or "..".
// False when `target` does not start with `dir` + '/'.
bool rp_output_inside(const char *dir, const char *target);
