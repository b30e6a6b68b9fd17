// Folder trees watched with inotify through libuv (see watcher.h).
#include "watch/watcher.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "watch/libuv.h"

#ifdef __linux__
#include <sys/inotify.h>
#endif

typedef struct wentry {
  int wd;
  char *path;  // the folder, as reported ("sessions/a", or "." for a root ".")
  bool tree;   // part of a watched tree (not only a root's parent)
} wentry;

typedef struct root {
  char *path;    // "sessions"
  char *parent;  // "."
  char *base;    // "sessions"
} root;

typedef struct pending {
  char *path;
  uint64_t since;
} pending;

struct rp_watcher {
  uv_loop_t *loop;
  rp_watcher_opts opts;
  int fd;
  uv_poll_t poll;
  uv_timer_t timer;
  wentry *entries;
  size_t nentries, capentries;
  root *roots;
  size_t nroots;
  char **ignored;
  struct stat *ignored_st;  // their identities (st_ino 0: did not exist)
  size_t nignored;
  char **changed;  // this burst's paths, not yet deduplicated
  size_t nchanged, capchanged;
  bool full;   // this burst needs a full rescan
  bool burst;  // events are pending
  uint64_t burst_start;
  uint64_t last_fire;  // when `rebuild` was last called (loop time), 0 never
  char *first;         // the first path of this burst
  bool soon;           // a complete save of one file is due after the settle time
  bool several;        // this burst has more than one path
  pending *writes;     // files open for writing
  size_t nwrites, capwrites;
  int closing;  // handles still to close
  void (*done)(void *);
  void *done_ud;
};

// --- paths -------------------------------------------------------------------------------

static char *normalize(const char *dir) {
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/')
    len--;
  while (len > 2 && dir[0] == '.' && dir[1] == '/') {
    dir += 2;
    len -= 2;
  }
  return rp_xstrndup(dir, len);
}

static char *join(const char *dir, const char *name) {
  rp_buf b = RP_BUF_INIT;
  if (strcmp(dir, ".") == 0)
    rp_buf_adds(&b, name);
  else
    rp_buf_printf(&b, "%s/%s", dir, name);
  return rp_buf_detach(&b);
}

// Whether `path` is `dir` or under it.
static bool under(const char *path, const char *dir) {
  if (strcmp(dir, ".") == 0) return true;
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool is_ignored(const rp_watcher *w, const char *path) {
  for (size_t i = 0; i < w->nignored; i++)
    if (under(path, w->ignored[i])) return true;
  return false;
}

// Whether the folder `dir` is an ignored one under another name ("./out",
// an absolute path, a link).
static bool is_ignored_dir(const rp_watcher *w, const char *dir) {
  struct stat st;
  if (w->nignored == 0 || stat(dir, &st) != 0) return false;
  for (size_t i = 0; i < w->nignored; i++)
    if (w->ignored_st[i].st_ino && w->ignored_st[i].st_dev == st.st_dev &&
        w->ignored_st[i].st_ino == st.st_ino)
      return true;
  return false;
}

// --- changes and coalescing -------------------------------------------------------------

static void on_timer(uv_timer_t *t);

// Records a change. `complete` marks an editor's finished save: a file
// closed after writing or renamed into place. A complete save of one file,
// while no other file is being written and no burst is under way, is
// reported after a settle time of 1 ms (so that the rest of the same save,
// and a burst such as a checkout, which shows itself by a second path
// within that time, join it); anything else waits for the quiet window.
// With `immediate` off (an explicit quiet window) every change waits for it.
static void note_change(rp_watcher *w, const char *path, bool complete) {
  if (path) {
    if (w->nchanged == w->capchanged) {
      w->capchanged = w->capchanged ? 2 * w->capchanged : 32;
      w->changed = rp_xrealloc(w->changed, w->capchanged * sizeof *w->changed);
    }
    w->changed[w->nchanged++] = rp_xstrndup(path, strlen(path));
  }
  uint64_t now = uv()->uv_now(w->loop);
  if (!w->burst) {
    w->burst = true;
    w->burst_start = now;
    w->several = false;
    free(w->first);
    w->first = NULL;
  }
  // A file the owner follows no kind of (an editor's backup, sed's
  // temporary file) does not make a burst of a save.
  bool counted = path && (!w->opts.counts || w->opts.counts(w->opts.ud, path));
  if (!path)
    w->several = true;
  else if (counted && !w->first)
    w->first = rp_xstrndup(path, strlen(path));
  else if (counted && strcmp(path, w->first) != 0)
    w->several = true;
  uint64_t waited = now - w->burst_start;
  uint64_t delay = w->opts.quiet_ms;
  bool settled = w->last_fire == 0 || now - w->last_fire >= w->opts.quiet_ms;
  // The tail of a save already due (vim deleting its backup, emacs its
  // autosave file) does not put it off.
  if (w->soon && !counted && !w->several && w->nwrites == 0) return;
  w->soon = false;
  if (waited >= w->opts.max_ms) {
    delay = 0;
  } else if (w->opts.immediate && complete && counted && w->nwrites == 0 && settled &&
             !w->several && !w->full) {
    delay = 1;
    w->soon = true;
  } else if (waited + delay > w->opts.max_ms) {
    delay = w->opts.max_ms - waited;
  }
  if (w->closing == 0) uv()->uv_timer_start(&w->timer, on_timer, delay, 0);
}

static void write_started(rp_watcher *w, const char *path) {
  for (size_t i = 0; i < w->nwrites; i++)
    if (strcmp(w->writes[i].path, path) == 0) return;
  if (w->nwrites == w->capwrites) {
    w->capwrites = w->capwrites ? 2 * w->capwrites : 8;
    w->writes = rp_xrealloc(w->writes, w->capwrites * sizeof *w->writes);
  }
  w->writes[w->nwrites].path = rp_xstrndup(path, strlen(path));
  w->writes[w->nwrites].since = uv()->uv_now(w->loop);
  w->nwrites++;
}

static void write_ended(rp_watcher *w, const char *path) {
  for (size_t i = 0; i < w->nwrites; i++) {
    if (strcmp(w->writes[i].path, path) != 0) continue;
    free(w->writes[i].path);
    w->writes[i] = w->writes[--w->nwrites];
    return;
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_timer(uv_timer_t *t) {
  rp_watcher *w = t->data;
  uint64_t now = uv()->uv_now(w->loop);
  // A file still open for writing holds the rebuild back, up to write_ms.
  for (size_t i = 0; i < w->nwrites;) {
    if (now - w->writes[i].since >= w->opts.write_ms) {
      free(w->writes[i].path);
      w->writes[i] = w->writes[--w->nwrites];
      continue;
    }
    uv()->uv_timer_start(&w->timer, on_timer, w->opts.quiet_ms, 0);
    return;
  }
  qsort(w->changed, w->nchanged, sizeof *w->changed, cmp_str);
  size_t n = 0;
  for (size_t i = 0; i < w->nchanged; i++) {
    if (n > 0 && strcmp(w->changed[n - 1], w->changed[i]) == 0) {
      free(w->changed[i]);
      continue;
    }
    w->changed[n++] = w->changed[i];
  }
  bool full = w->full;
  w->nchanged = 0;
  w->full = false;
  w->burst = false;
  w->soon = false;
  w->last_fire = now;
  w->opts.rebuild(w->opts.ud, (const char *const *)w->changed, n, full);
  for (size_t i = 0; i < n; i++)
    free(w->changed[i]);
}

// --- watches ------------------------------------------------------------------------------

size_t rp_watcher_count(const rp_watcher *w) {
  size_t n = 0;
  for (size_t i = 0; i < w->nentries; i++)
    if (w->entries[i].tree) n++;
  return n;
}

#ifdef __linux__

enum {
  TREE_MASK = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
              IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |
              IN_EXCL_UNLINK,
  PARENT_MASK = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD,
};

static wentry *find_wd(rp_watcher *w, int wd) {
  for (size_t i = 0; i < w->nentries; i++)
    if (w->entries[i].wd == wd) return &w->entries[i];
  return NULL;
}

static void remove_entry(rp_watcher *w, size_t i) {
  free(w->entries[i].path);
  w->entries[i] = w->entries[--w->nentries];
}

static void set_entry(rp_watcher *w, int wd, const char *path, bool tree) {
  wentry *e = find_wd(w, wd);
  if (!e) {
    if (w->nentries == w->capentries) {
      w->capentries = w->capentries ? 2 * w->capentries : 32;
      w->entries = rp_xrealloc(w->entries, w->capentries * sizeof *w->entries);
    }
    e = &w->entries[w->nentries++];
    e->wd = wd;
    e->path = NULL;
    e->tree = false;
  }
  if (tree || !e->path) {
    // The same folder under a new name (moved within the tree) keeps its
    // watch: the kernel returns the same descriptor.
    free(e->path);
    e->path = rp_xstrndup(path, strlen(path));
  }
  e->tree = e->tree || tree;
}

// Watches `dir` and the folders under it; with `report`, every file found
// counts as changed (a folder that appeared with content).
static void add_tree(rp_watcher *w, const char *dir, bool report, int depth) {
  if (depth > 64 || is_ignored(w, dir) || is_ignored_dir(w, dir)) return;
  int wd = inotify_add_watch(w->fd, dir, TREE_MASK);
  if (wd < 0) return;  // gone already, or not a folder: its parent reports it
  set_entry(w, wd, dir, true);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char *p = join(dir, de->d_name);
    bool isdir = de->d_type == DT_DIR;
    if (de->d_type == DT_UNKNOWN) {
      struct stat st;
      isdir = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (isdir) {
      add_tree(w, p, report, depth + 1);
    } else if (report && !is_ignored(w, p)) {
      // A file in a folder that has just appeared may have been opened
      // before the folder was watched, its bytes not yet written: an empty
      // one is held back as a file open for writing is, until it is closed
      // (the watch sees that) or write_ms pass.
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) write_started(w, p);
      note_change(w, p, false);
    }
    free(p);
  }
  closedir(d);
}

// Stops watching `dir` and everything under it (it moved away).
static void remove_tree(rp_watcher *w, const char *dir) {
  for (size_t i = 0; i < w->nentries;) {
    if (w->entries[i].tree && under(w->entries[i].path, dir)) {
      bool is_root = false;
      for (size_t r = 0; r < w->nroots; r++)
        if (strcmp(w->roots[r].parent, w->entries[i].path) == 0) is_root = true;
      if (!is_root) {
        inotify_rm_watch(w->fd, w->entries[i].wd);
        remove_entry(w, i);
        continue;
      }
      w->entries[i].tree = false;
    }
    i++;
  }
}

static void watch_root(rp_watcher *w, const root *r) {
  int wd = inotify_add_watch(w->fd, r->parent, PARENT_MASK);
  if (wd >= 0) set_entry(w, wd, r->parent, false);
  add_tree(w, r->path, false, 0);
}

static void rescan(rp_watcher *w) {
  for (size_t i = 0; i < w->nroots; i++)
    watch_root(w, &w->roots[i]);
  w->full = true;
  note_change(w, NULL, false);
}

static void handle(rp_watcher *w, const struct inotify_event *ev) {
  if (ev->mask & IN_Q_OVERFLOW) {
    rescan(w);
    return;
  }
  wentry *e = find_wd(w, ev->wd);
  if (!e) return;
  if (ev->mask & IN_IGNORED) {
    remove_entry(w, (size_t)(e - w->entries));
    return;
  }
  if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    char *gone = rp_xstrndup(e->path, strlen(e->path));
    if (ev->mask & IN_MOVE_SELF) remove_tree(w, gone);
    for (size_t r = 0; r < w->nroots; r++)
      if (strcmp(w->roots[r].path, gone) == 0) w->full = true;
    note_change(w, gone, false);
    free(gone);
    return;
  }
  if (ev->len == 0 || !ev->name[0]) return;
  char *p = join(e->path, ev->name);
  // A root that appears (again) in its parent.
  for (size_t r = 0; r < w->nroots; r++) {
    if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
        strcmp(w->roots[r].parent, e->path) == 0 && strcmp(w->roots[r].base, ev->name) == 0) {
      add_tree(w, w->roots[r].path, true, 0);
      w->full = true;
      note_change(w, p, false);
    }
  }
  if (!e->tree || ev->name[0] == '.' || is_ignored(w, p)) {
    // Not in a tree, a hidden name (an editor's swap or lock file, our own
    // temporary files), or the output folder.
    free(p);
    return;
  }
  if (ev->mask & IN_ISDIR) {
    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) add_tree(w, p, true, 0);
    if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) remove_tree(w, p);
  } else {
    if (ev->mask & (IN_CREATE | IN_MODIFY)) write_started(w, p);
    if (ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM)) write_ended(w, p);
  }
  bool complete = !(ev->mask & IN_ISDIR) && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO));
  note_change(w, p, complete);
  free(p);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  rp_watcher *w = h->data;
  if (status < 0 || !(events & UV_READABLE)) return;
  char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      handle(w, ev);
      p += sizeof *ev + ev->len;
    }
  }
}

rp_watcher *rp_watcher_new(uv_loop_t *loop, const rp_watcher_opts *opts, rp_diags *diags) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0, "cannot watch files: %s", strerror(errno));
    return NULL;
  }
  rp_watcher *w = rp_xcalloc(1, sizeof *w);
  w->loop = loop;
  w->opts = *opts;
  if (!w->opts.quiet_ms) w->opts.quiet_ms = 15;
  if (!w->opts.max_ms) w->opts.max_ms = 300;
  if (!w->opts.write_ms) w->opts.write_ms = 2000;
  w->fd = fd;
  uv()->uv_poll_init(loop, &w->poll, fd);
  w->poll.data = w;
  uv()->uv_poll_start(&w->poll, UV_READABLE, on_readable);
  uv()->uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  return w;
}

void rp_watcher_add_root(rp_watcher *w, const char *dir) {
  w->roots = rp_xrealloc(w->roots, (w->nroots + 1) * sizeof *w->roots);
  root *r = &w->roots[w->nroots++];
  r->path = normalize(dir);
  const char *slash = strrchr(r->path, '/');
  if (strcmp(r->path, ".") == 0 || strcmp(r->path, "/") == 0) {
    r->parent = rp_xstrndup(r->path, strlen(r->path));
    r->base = rp_xstrndup("", 0);
  } else if (slash) {
    r->parent = rp_xstrndup(r->path, slash == r->path ? 1 : (size_t)(slash - r->path));
    r->base = rp_xstrndup(slash + 1, strlen(slash + 1));
  } else {
    r->parent = rp_xstrndup(".", 1);
    r->base = rp_xstrndup(r->path, strlen(r->path));
  }
  watch_root(w, r);
}

#else  // not Linux

rp_watcher *rp_watcher_new(uv_loop_t *loop, const rp_watcher_opts *opts, rp_diags *diags) {
  (void)loop;
  (void)opts;
  rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0,
               "watching files needs Linux's inotify in this version");
  return NULL;
}

void rp_watcher_add_root(rp_watcher *w, const char *dir) {
  (void)w;
  (void)dir;
}

#endif

void rp_watcher_ignore(rp_watcher *w, const char *dir) {
  w->ignored = rp_xrealloc(w->ignored, (w->nignored + 1) * sizeof *w->ignored);
  w->ignored_st = rp_xrealloc(w->ignored_st, (w->nignored + 1) * sizeof *w->ignored_st);
  if (stat(dir, &w->ignored_st[w->nignored]) != 0)
    memset(&w->ignored_st[w->nignored], 0, sizeof *w->ignored_st);
  w->ignored[w->nignored++] = normalize(dir);
}

static void on_closed(uv_handle_t *h) {
  rp_watcher *w = h->data;
  if (--w->closing > 0) return;
  if (w->fd >= 0) close(w->fd);
  for (size_t i = 0; i < w->nentries; i++)
    free(w->entries[i].path);
  free(w->entries);
  for (size_t i = 0; i < w->nroots; i++) {
    free(w->roots[i].path);
    free(w->roots[i].parent);
    free(w->roots[i].base);
  }
  free(w->roots);
  for (size_t i = 0; i < w->nignored; i++)
    free(w->ignored[i]);
  free(w->ignored);
  free(w->ignored_st);
  for (size_t i = 0; i < w->nchanged; i++)
    free(w->changed[i]);
  free(w->changed);
  free(w->first);
  for (size_t i = 0; i < w->nwrites; i++)
    free(w->writes[i].path);
  free(w->writes);
  void (*done)(void *) = w->done;
  void *ud = w->done_ud;
  free(w);
  if (done) done(ud);
}

void rp_watcher_close(rp_watcher *w, void (*done)(void *ud), void *ud) {
  w->done = done;
  w->done_ud = ud;
  w->closing = 2;
  uv()->uv_timer_stop(&w->timer);
  uv()->uv_poll_stop(&w->poll);
  uv()->uv_close((uv_handle_t *)&w->timer, on_closed);
  uv()->uv_close((uv_handle_t *)&w->poll, on_closed);
}
