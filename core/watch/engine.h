// The watch engine: renders every session of a workspace once, then keeps
// the notes current as sessions, templates and plugins change.
//
// The folder watcher (watcher.h) reports which paths changed; the engine
// works out what they affect and renders only that, each note built once
// per change whatever formats are asked for:
// - a session: its note;
// - a template: the notes whose layout uses it (the layout itself or a
//   partial it names);
// - a plugin: the plugin set is loaded again; then the notes of the note
//   types that plugin registers, or that use a checklist or measure it
//   registers, render again (every note, when it registers a filter, a
//   lambda or an event handler). Should the new set have a problem, it is
//   reported, the last good plugin set stays in use, and every note's
//   preview shows the problem until it is fixed.
// A session with a problem keeps its last good note (on disk and in the
// preview, which shows the problem instead). Outputs are written atomically
// with mode 0600, only when their bytes change, never over an input and
// never through a link planted in the output folder. A session that
// disappears has its note removed.
//
// Threads: the first build runs in rp_watch_start, on the caller's thread;
// every later rebuild runs on libuv's thread pool (uv_queue_work), one at a
// time, and its results (log lines, problems, preview pages) are handed to
// the callbacks on the loop's thread. Changes that arrive during a rebuild
// are kept and make the next one. libuv callbacks never run plugin code or
// render; the loop stays free for the preview server meanwhile.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "notes/notes.h"
#include "util/error.h"
#include "workspace/workspace.h"

typedef struct rp_watch rp_watch;

// What the engine tells its owner after each rebuild, on the loop's thread.
// The strings are valid during the call only.
typedef struct rp_watch_events {
  // A note rendered: its id (unique per session file, letters, digits, '-',
  // '_' and '.'), the session's path, and its HTML page when want_html.
  void (*page)(void *ud, const char *id, const char *path, const char *html, size_t len);
  // A note that could not be rendered: its problems, one per line, as the
  // terminal shows them.
  void (*error)(void *ud, const char *id, const char *path, const char *problems);
  // A session that is gone.
  void (*removed)(void *ud, const char *id);
  // After each rebuild that changed anything, once its notes are reported.
  void (*rebuilt)(void *ud);
  // Ctrl-C or SIGTERM arrived: the engine is stopping; close whatever else
  // runs on its loop (the preview) so that rp_watch_run can return.
  void (*stopping)(void *ud);
  void *ud;
} rp_watch_events;

typedef struct rp_watch_opts {
  const rp_workspace *ws;    // borrowed; must outlive the engine
  const char *const *roots;  // session files and folders (copied)
  size_t nroots;
  const char *out_dir;  // where the notes go (copied)
  rp_format fmt;
  bool strict;
  bool want_html;     // render every note as HTML too, for events.page
  bool quiet;         // no log line per rebuild
  unsigned quiet_ms;  // the watcher's quiet window (0: its default)
  // The record (NULL: none; must outlive the engine): a session signed
  // there shows as signed, and one changed since it was signed is reported.
  const char *record;
  rp_watch_events events;
} rp_watch_opts;

// An engine with its own event loop, not started yet. opts is copied (the
// roots and out_dir too); opts->ws must outlive the engine.
rp_watch *rp_watch_new(const rp_watch_opts *opts);

// The engine's libuv loop (a uv_loop_t), for servers that run beside it:
// the preview. The caller never needs uv.h for it.
struct uv_loop_s *rp_watch_loop(rp_watch *w);

// Starts watching: makes the output folder, renders every session (printing
// the first rebuild's line), then watches the roots and the plugin and
// template folders of the search path. Returns RP_OK, or an error after
// reporting to diags (the output folder cannot be made, or the system gives
// no way to watch).
int rp_watch_start(rp_watch *w, rp_diags *diags);

// The number of folders watched now.
size_t rp_watch_folders(const rp_watch *w);

// Runs the loop until Ctrl-C or SIGTERM: then waits for a rebuild in
// progress, closes the engine's handles, calls events.stopping, and
// returns once nothing is left on the loop.
void rp_watch_run(rp_watch *w);

// Frees the engine (after rp_watch_run has returned, or when rp_watch_start
// failed: then whatever else was started on its loop must be closed first).
void rp_watch_free(rp_watch *w);

// The preview id of the session file `rel` (its path under its root): the
// path without its extension, '/' written as '.', '_' as "__", and any other
// byte that is not a letter, digit or '-' as '_' and two hex digits, so two
// session files never share an id ("x y" is "x_20y", "x_y" is "x__y",
// "sub/x" is "sub.x", "sub.x" is "sub_2Ex"). `with_ext` keeps the extension
// (for two files that differ only by it). malloc'd.
char *rp_watch_session_id(const char *rel, bool with_ext);
