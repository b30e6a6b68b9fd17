// Watching folder trees for changes, for `rapport watch`.
//
// What libuv's fs_event does on Linux (checked on Debian 12's libuv 1.44)
// decides the design: UV_FS_EVENT_RECURSIVE is ignored, a watch on a file
// dies when an editor saves by rename, a folder created with content reports
// one event for the top folder only, a deleted and re-created root leaves a
// dead handle, the kernel's queue overflow is dropped without a sign, and
// "write finished" (IN_CLOSE_WRITE) is never passed on. So on Linux the
// watcher drives its own inotify descriptor through a uv_poll_t:
// - one watch per folder, added for every subfolder, including folders
//   that appear later (then scanned: their files count as changed);
// - folders only, never files, so saves by rename are seen;
// - the parent of each root is watched too, so a root that is deleted and
//   made again (or did not exist yet) is picked up;
// - IN_Q_OVERFLOW makes it rescan everything and report a full change;
// - a file that is open for writing (a modify seen, its close-write not yet)
//   holds the rebuild back until it is closed, up to a limit, so content is
//   read only once the writer has finished.
//
// An editor's complete save of one file (closed after writing, or renamed
// into place) while nothing else is being written is reported after 1 ms
// (with `immediate`): the time to see whether more of a burst follows.
//
// Events are coalesced: callbacks only record what changed; after a quiet
// window with no event (`quiet_ms`), or at the latest `max_ms` after the
// first event of a burst (so a writer that never stops cannot postpone
// rendering forever), `rebuild` is called once with the changed paths.
// Idle, nothing runs: no timer is armed while no event is pending.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "util/error.h"

typedef struct rp_watcher rp_watcher;

// Called once per burst with the paths that changed (files or folders,
// relative as the roots were given; deduplicated, sorted), or with
// full == true after an overflow or a root's return, when anything may
// have changed. The paths are valid during the call only.
typedef void (*rp_rebuild_fn)(void *ud, const char *const *paths, size_t n, bool full);

typedef struct rp_watcher_opts {
  unsigned quiet_ms;  // the quiet window; 0 means 15
  unsigned max_ms;    // the longest a burst can postpone a rebuild; 0 means 300
  unsigned write_ms;  // the longest an open writer holds a rebuild back; 0 means 2000
  // Report an editor's complete save of one file after 1 ms rather than the
  // quiet window (see note_change in watcher.c).
  bool immediate;
  // Whether a change of `path` counts as a file the owner follows (NULL: all
  // do): only those decide whether a save is one file's (a backup or a
  // temporary file beside it does not make it a burst).
  bool (*counts)(void *ud, const char *path);
  rp_rebuild_fn rebuild;
  void *ud;
} rp_watcher_opts;

// Returns NULL after reporting when the system gives no way to watch.
rp_watcher *rp_watcher_new(uv_loop_t *loop, const rp_watcher_opts *opts, rp_diags *diags);

// Watches the folder `dir` and every folder under it (`dir` need not exist
// yet). Folders whose name starts with '.' are not entered.
void rp_watcher_add_root(rp_watcher *w, const char *dir);

// Never watches `dir` or anything under it, nor reports changes there (the
// output folder, when it is inside a watched tree). The folder is known by
// its path and by its device and inode, so "./out" or an absolute path to it
// is ignored too.
void rp_watcher_ignore(rp_watcher *w, const char *dir);

// The number of folders watched now (for tests and the log).
size_t rp_watcher_count(const rp_watcher *w);

// Stops watching and closes every handle; `done` is called on the loop once
// they are closed, and w is freed.
void rp_watcher_close(rp_watcher *w, void (*done)(void *ud), void *ud);
