// `rapport watch`: render every session once, then keep the notes current
// as sessions, templates and plugins change.
//
//   rapport watch [PATH...] [--out-dir DIR] [--format F] [--serve [PORT]] [--strict]
//
// The folders are watched by core/watch/watcher.c, which coalesces an
// editor's burst of events into one call of `rebuild`. A rebuild then looks
// at the files themselves: a file whose size, inode and modification time
// are unchanged is skipped, and one whose content hashes the same as before
// (a save that changed nothing) counts as unchanged. What changed decides
// what is rendered again, each note at most once per burst:
// - a session: its note;
// - a template: the notes whose layout uses it (the layout itself or a
//   partial it names, found with rp_template_partials);
// - a plugin: the plugin set is loaded again, and every note renders with
//   it; should it have a problem, it is reported and the last good plugin
//   set stays in use.
// A session with a problem keeps its last good note (on disk and in the
// preview, which shows the problem instead); fixing the file recovers.
// Outputs are written atomically (temp file, fsync, rename), and only when
// their bytes changed. A session that disappears (deleted, or renamed: the
// new name is a new session) has its note removed.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "data/data.h"
#include "notes/notes.h"
#include "util/atomic.h"
#include "util/file.h"
#include "serve/preview.h"
#include "watch/watcher.h"

// --- files and their signatures ---------------------------------------------------------

typedef struct sig {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  uint64_t hash;  // of the content; 0 before it is read
} sig;

typedef struct wfile {
  char *path;
  sig s;
  bool seen;  // found by the current scan
} wfile;

typedef struct fileset {
  wfile *files;
  size_t n, cap;
} fileset;

static uint64_t fnv1a(const char *p, size_t len) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3u;
  }
  return h ? h : 1;
}

static uint64_t hash_file(const char *path) {
  rp_buf b = RP_BUF_INIT;
  uint64_t h = 0;
  if (rp_read_file(path, RP_DATA_MAX_FILE, &b, NULL) == RP_OK)
    h = fnv1a(b.data ? b.data : "", b.len);
  rp_buf_free(&b);
  return h;
}

// Whether `path` changed since `s` was taken; updates `s`.
static bool refresh_sig(const char *path, const struct stat *st, sig *s) {
  if (s->hash && s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
      s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec)
    return false;
  uint64_t h = hash_file(path);
  bool changed = h != s->hash;
  s->dev = st->st_dev;
  s->ino = st->st_ino;
  s->size = st->st_size;
  s->mtime = st->st_mtim;
  s->hash = h;
  return changed;
}

static bool has_ext(const char *name, const char *ext) {
  size_t n = strlen(name), e = strlen(ext);
  return n > e && strcasecmp(name + n - e, ext) == 0;
}

static bool is_session_name(const char *name) {
  return name[0] != '.' && name[0] != '#' &&
         (has_ext(name, ".yaml") || has_ext(name, ".yml") || has_ext(name, ".json"));
}

typedef bool (*name_filter)(const char *name);

static bool is_lua(const char *name) {
  return name[0] != '.' && has_ext(name, ".lua");
}

static bool is_template(const char *name) {
  return name[0] != '.' && has_ext(name, ".mustache");
}

// A folder never read as input, however its path is written ("out",
// "./out", an absolute path): the output folder, known by device and inode.
typedef struct skip_dir {
  dev_t dev;
  ino_t ino;
  bool set;
} skip_dir;

static bool is_skipped(const skip_dir *skip, const struct stat *st) {
  return skip && skip->set && st->st_dev == skip->dev && st->st_ino == skip->ino;
}

// Calls fn for every regular file under `dir` whose name passes `keep`,
// skipping hidden folders and `skip` (the output folder).
static void walk(const char *dir, name_filter keep, const skip_dir *skip, int depth,
                 void (*fn)(void *ud, const char *path, const struct stat *st), void *ud) {
  struct stat dst;
  if (depth > 64 || stat(dir, &dst) != 0 || is_skipped(skip, &dst)) return;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    rp_buf p = RP_BUF_INIT;
    if (strcmp(dir, ".") == 0)
      rp_buf_adds(&p, de->d_name);
    else
      rp_buf_printf(&p, "%s/%s", dir, de->d_name);
    struct stat st;
    if (stat(p.data, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        walk(p.data, keep, skip, depth + 1, fn, ud);
      else if (S_ISREG(st.st_mode) && keep(de->d_name))
        fn(ud, p.data, &st);
    }
    rp_buf_free(&p);
  }
  closedir(d);
}

typedef struct scan {
  fileset *set;
  bool changed;
  char **names;  // changed template names ("soap.md")
  size_t nnames;
} scan;

static void scan_file(void *ud, const char *path, const struct stat *st) {
  scan *sc = ud;
  fileset *fs = sc->set;
  wfile *f = NULL;
  for (size_t i = 0; i < fs->n && !f; i++)
    if (strcmp(fs->files[i].path, path) == 0) f = &fs->files[i];
  if (f && f->seen) return;  // reached twice (two roots overlap)
  if (!f) {
    if (fs->n == fs->cap) {
      fs->cap = fs->cap ? 2 * fs->cap : 16;
      fs->files = rp_xrealloc(fs->files, fs->cap * sizeof *fs->files);
    }
    f = &fs->files[fs->n++];
    memset(f, 0, sizeof *f);
    f->path = rp_xstrndup(path, strlen(path));
  }
  f->seen = true;
  if (refresh_sig(path, st, &f->s)) {
    sc->changed = true;
    if (!has_ext(path, ".mustache")) return;
    // A template's name: the file name without ".mustache".
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    sc->names = rp_xrealloc(sc->names, (sc->nnames + 1) * sizeof *sc->names);
    sc->names[sc->nnames++] = rp_xstrndup(base, strlen(base) - strlen(".mustache"));
  }
}

// Scans the folders of a set; true when a file was added, changed or
// removed. Removed files leave the set, and their names are in sc->names.
static void scan_set(scan *sc, const char **dirs, size_t ndirs, name_filter keep,
                     const skip_dir *skip) {
  fileset *fs = sc->set;
  for (size_t i = 0; i < fs->n; i++)
    fs->files[i].seen = false;
  for (size_t i = 0; i < ndirs; i++)
    walk(dirs[i], keep, skip, 0, scan_file, sc);
  for (size_t i = 0; i < fs->n;) {
    if (fs->files[i].seen) {
      i++;
      continue;
    }
    sc->changed = true;
    const char *base = strrchr(fs->files[i].path, '/');
    base = base ? base + 1 : fs->files[i].path;
    size_t len = strlen(base);
    if (has_ext(base, ".mustache")) {
      sc->names = rp_xrealloc(sc->names, (sc->nnames + 1) * sizeof *sc->names);
      sc->names[sc->nnames++] = rp_xstrndup(base, len - 9);
    }
    free(fs->files[i].path);
    fs->files[i] = fs->files[--fs->n];
  }
}

static void scan_free_names(scan *sc) {
  for (size_t i = 0; i < sc->nnames; i++)
    free(sc->names[i]);
  free(sc->names);
  sc->names = NULL;
  sc->nnames = 0;
}

static void fileset_free(fileset *fs) {
  for (size_t i = 0; i < fs->n; i++)
    free(fs->files[i].path);
  free(fs->files);
}

// --- sessions -----------------------------------------------------------------------------

typedef struct session {
  char *path;  // "sessions/jd-07.yaml"
  char *id;    // "jd-07": relative to its root, without the extension
  char *out;   // "out/jd-07.md"
  sig s;
  bool seen;
  bool dirty;         // render in this rebuild
  bool written;       // out holds the note we wrote
  uint64_t out_hash;  // of what out holds
  char **deps;        // template names the note's layout uses
  size_t ndeps;
  bool any_template;  // the layout names templates at render time
  bool ok;            // the last render succeeded
} session;

typedef struct watch {
  rp_cli *cli;
  rp_format fmt;
  bool strict;
  const char *out_dir;
  skip_dir out;        // the output folder's identity
  const char **roots;  // session files and folders
  size_t nroots;
  char **owned_roots;  // roots rewritten without their trailing slashes
  size_t nowned;
  const char **plugin_dirs, **template_dirs;
  size_t nplugin_dirs, ntemplate_dirs;
  rp_notes *r;
  bool plugins_ok;  // the plugin set in use loaded without problems
  fileset plugin_files, template_files;
  session *sessions;
  size_t nsessions, capsessions;
  uv_loop_t *loop;
  rp_watcher *watcher;
  rp_preview *preview;
  uv_signal_t sigint, sigterm;
  int closing;
  bool stopping;
} watch;

static void session_free(session *s) {
  free(s->path);
  free(s->id);
  free(s->out);
  for (size_t i = 0; i < s->ndeps; i++)
    free(s->deps[i]);
  free(s->deps);
}

static void add_dep(void *ud, const char *name, size_t len) {
  session *s = ud;
  for (size_t i = 0; i < s->ndeps; i++)
    if (strlen(s->deps[i]) == len && memcmp(s->deps[i], name, len) == 0) return;
  s->deps = rp_xrealloc(s->deps, (s->ndeps + 1) * sizeof *s->deps);
  s->deps[s->ndeps++] = rp_xstrndup(name, len);
}

static void clear_deps(session *s) {
  for (size_t i = 0; i < s->ndeps; i++)
    free(s->deps[i]);
  s->ndeps = 0;
  s->any_template = false;
}

static bool uses_any(const session *s, char *const *names, size_t n) {
  if (s->any_template || !s->ok) return n > 0;
  for (size_t i = 0; i < s->ndeps; i++)
    for (size_t k = 0; k < n; k++)
      if (strcmp(s->deps[i], names[k]) == 0) return true;
  return false;
}

// mkdir -p for the folders of `path` (not its last component).
static int make_parents(const char *path) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, path);
  int rc = 0;
  for (char *p = b.data + 1; *p && rc == 0; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(b.data, 0700) != 0 && errno != EEXIST) rc = -1;
    *p = '/';
  }
  rp_buf_free(&b);
  return rc;
}

typedef struct session_scan {
  watch *w;
  const char *root;
} session_scan;

static session *find_session(watch *w, const char *path) {
  for (size_t i = 0; i < w->nsessions; i++)
    if (strcmp(w->sessions[i].path, path) == 0) return &w->sessions[i];
  return NULL;
}

static void scan_session(void *ud, const char *path, const struct stat *st) {
  session_scan *ss = ud;
  watch *w = ss->w;
  session *s = find_session(w, path);
  if (s && s->seen) return;
  if (!s) {
    if (w->nsessions == w->capsessions) {
      w->capsessions = w->capsessions ? 2 * w->capsessions : 16;
      w->sessions = rp_xrealloc(w->sessions, w->capsessions * sizeof *w->sessions);
    }
    s = &w->sessions[w->nsessions++];
    memset(s, 0, sizeof *s);
    s->path = rp_xstrndup(path, strlen(path));
    // The id: the path under its root, without the extension.
    const char *rel = path;
    size_t rlen = strlen(ss->root);
    if (strcmp(ss->root, path) == 0) {
      const char *slash = strrchr(path, '/');
      rel = slash ? slash + 1 : path;
    } else if (strcmp(ss->root, ".") != 0 && strncmp(path, ss->root, rlen) == 0 &&
               path[rlen] == '/') {
      rel = path + rlen + 1;
    }
    const char *dot = strrchr(rel, '.');
    size_t idlen = dot && dot > rel ? (size_t)(dot - rel) : strlen(rel);
    s->id = rp_xstrndup(rel, idlen);
    rp_buf out = RP_BUF_INIT;
    rp_buf_printf(&out, "%s/%s%s", w->out_dir, s->id, rp_format_ext[w->fmt]);
    s->out = rp_buf_detach(&out);
    // Preview ids are [A-Za-z0-9._-]{1,128}: a subfolder's slash becomes a
    // dot, anything else an underscore.
    for (char *c = s->id; *c; c++) {
      bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                *c == '.' || *c == '_' || *c == '-';
      if (*c == '/')
        *c = '.';
      else if (!ok)
        *c = '_';
    }
    if (strlen(s->id) > 128) s->id[128] = '\0';
    if (!s->id[0] || strcmp(s->id, ".") == 0 || strcmp(s->id, "..") == 0) {
      free(s->id);
      s->id = rp_xstrndup("session", 7);
    }
    s->dirty = true;
  }
  s->seen = true;
  if (refresh_sig(path, st, &s->s)) s->dirty = true;
}

static bool keep_session(const char *name) {
  return is_session_name(name);
}

// Finds the sessions now on disk: new ones and changed ones are dirty;
// those gone are removed with their notes. Returns how many were removed.
static size_t scan_sessions(watch *w) {
  for (size_t i = 0; i < w->nsessions; i++)
    w->sessions[i].seen = false;
  for (size_t i = 0; i < w->nroots; i++) {
    session_scan ss = {w, w->roots[i]};
    struct stat st;
    if (stat(w->roots[i], &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      walk(w->roots[i], keep_session, &w->out, 0, scan_session, &ss);
    else if (S_ISREG(st.st_mode))
      scan_session(&ss, w->roots[i], &st);
  }
  size_t removed = 0;
  for (size_t i = 0; i < w->nsessions;) {
    session *s = &w->sessions[i];
    if (s->seen) {
      i++;
      continue;
    }
    if (s->written) unlink(s->out);
    if (w->preview) rp_preview_remove(w->preview, s->id);
    session_free(s);
    w->sessions[i] = w->sessions[--w->nsessions];
    removed++;
  }
  return removed;
}

// The problems of a failed render, as the preview shows them.
static char *diags_text(const rp_diags *d) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return rp_xstrndup("(the problems could not be listed)", 34);
  rp_diags_print(d, f);
  fclose(f);
  return buf;
}

// Renders one session; returns true when its note is good.
static bool render_session(watch *w, session *s, bool *wrote) {
  rp_diags diags = RP_DIAGS_INIT;
  rp_buf out = RP_BUF_INIT;
  rp_note note = RP_NOTE_INIT;
  rp_session_src src = {.path = s->path};
  int rc = rp_notes_build(w->r, &src, &note, &diags);
  if (rc == RP_OK) rc = rp_notes_render(w->r, &note, w->fmt, false, &out, &diags);
  *wrote = false;
  // Another session with the same output name (two roots holding jd-07.yaml).
  for (size_t i = 0; rc == RP_OK && i < w->nsessions; i++) {
    session *o = &w->sessions[i];
    if (o != s && o->written && strcmp(o->out, s->out) == 0) {
      rp_diags_add(&diags, RP_SEV_ERROR, s->path, 0, 0, "not written: %s writes %s already",
                   o->path, s->out);
      rc = RP_EDATA;
    }
  }
  if (rc == RP_OK) {
    clear_deps(s);
    // The layout's own name ("soap.md") and every partial it names.
    s->any_template = rp_notes_layout_deps(&note, add_dep, s);
    uint64_t h = fnv1a(out.data ? out.data : "", out.len);
    struct stat st;
    if (!s->written && stat(s->out, &st) == 0 && S_ISREG(st.st_mode) &&
        (size_t)st.st_size == out.len && hash_file(s->out) == h) {
      // The note on disk (from an earlier run) is this note already.
      s->written = true;
      s->out_hash = h;
    }
    if (!s->written || h != s->out_hash || stat(s->out, &st) != 0) {
      if (rp_same_file(s->out, s->path)) {
        rp_diags_add(&diags, RP_SEV_ERROR, s->out, 0, 0,
                     "not written: it is the session file itself");
        rc = RP_EDATA;
      } else if (make_parents(s->out) != 0 ||
                 rp_write_atomic(s->out, out.data ? out.data : "", out.len, &diags) != RP_OK) {
        rc = RP_EIO;
      } else {
        s->written = true;
        s->out_hash = h;
        *wrote = true;
      }
    }
  }
  if (w->preview) {
    if (rc == RP_OK) {
      if (w->fmt == RP_FMT_HTML) {
        rp_preview_set_page(w->preview, s->id, s->path, out.data ? out.data : "", out.len);
      } else {
        rp_buf html = RP_BUF_INIT;
        rp_diags hd = RP_DIAGS_INIT;
        if (rp_notes_render(w->r, &note, RP_FMT_HTML, false, &html, &hd) == RP_OK) {
          rp_preview_set_page(w->preview, s->id, s->path, html.data ? html.data : "", html.len);
        } else {
          char *text = diags_text(&hd);
          rp_preview_set_error(w->preview, s->id, s->path, text);
          free(text);
        }
        rp_diags_free(&hd);
        rp_buf_free(&html);
      }
    } else {
      char *text = diags_text(&diags);
      rp_preview_set_error(w->preview, s->id, s->path, text);
      free(text);
    }
  }
  rp_diags_print(&diags, stderr);
  rp_diags_free(&diags);
  rp_buf_free(&out);
  rp_note_clear(&note);
  s->ok = rc == RP_OK;
  return s->ok;
}

// --- rebuilding ---------------------------------------------------------------------------

static void log_line(watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(watch *w, const char *fmt, ...) {
  if (w->cli->quiet) return;
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  fprintf(stderr, "rapport: %02d:%02d:%02d ", tm.tm_hour, tm.tm_min, tm.tm_sec);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

// Loads the plugins again; on success the renderer starts over with them.
static bool reload_plugins(watch *w) {
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_workspace_load_plugins(&w->cli->ws, NULL, 0, &diags);
  rp_diags_print(&diags, stderr);
  bool ok = diags.errors == 0;
  rp_diags_free(&diags);
  if (!ok && w->r) {
    rp_plugins_free(p);
    return false;
  }
  rp_diags quiet = RP_DIAGS_INIT;
  rp_notes_opts no = {.strict = w->strict, .plugins = p};
  rp_notes *r = rp_notes_new(&w->cli->ws, &no, &quiet);
  rp_diags_free(&quiet);
  rp_notes_free(w->r);
  w->r = r;
  w->plugins_ok = ok;
  return true;
}

static void rebuild(watch *w, const char *what) {
  uint64_t t0 = uv_hrtime();
  scan ps = {&w->plugin_files, false, NULL, 0};
  scan_set(&ps, w->plugin_dirs, w->nplugin_dirs, is_lua, &w->out);
  scan ts = {&w->template_files, false, NULL, 0};
  scan_set(&ts, w->template_dirs, w->ntemplate_dirs, is_template, &w->out);
  size_t removed = scan_sessions(w);

  bool plugins_failed = false, all = false;
  if (ps.changed || !w->r) {
    if (reload_plugins(w))
      all = true;
    else
      plugins_failed = true;
  }
  if (ts.changed && !all) {
    // Layouts are compiled again from the files as they are now.
    rp_notes_reload_layouts(w->r);
  }
  size_t rendered = 0, failed = 0, written = 0;
  for (size_t i = 0; i < w->nsessions; i++) {
    session *s = &w->sessions[i];
    if (!(s->dirty || all || (ts.changed && uses_any(s, ts.names, ts.nnames)))) continue;
    bool wrote;
    if (render_session(w, s, &wrote))
      rendered++;
    else
      failed++;
    if (wrote) written++;
    s->dirty = false;
  }
  scan_free_names(&ps);
  scan_free_names(&ts);
  if (rendered || failed || removed || plugins_failed) {
    double ms = (double)(uv_hrtime() - t0) / 1e6;
    rp_buf msg = RP_BUF_INIT;
    rp_buf_printf(&msg, "%s: rendered %zu note%s (%zu written)", what, rendered,
                  rendered == 1 ? "" : "s", written);
    if (failed) rp_buf_printf(&msg, ", %zu with problems (their last good notes are kept)", failed);
    if (removed) rp_buf_printf(&msg, ", removed %zu", removed);
    if (plugins_failed)
      rp_buf_adds(&msg, "; plugins have problems: the last good ones stay in use");
    rp_buf_printf(&msg, " in %.1f ms", ms);
    log_line(w, "%s", msg.data);
    rp_buf_free(&msg);
    if (w->preview) rp_preview_changed(w->preview);
  }
}

static void on_rebuild(void *ud, const char *const *paths, size_t n, bool full) {
  watch *w = ud;
  rp_buf what = RP_BUF_INIT;
  if (full || n == 0)
    rp_buf_adds(&what, "files changed");
  else if (n == 1)
    rp_buf_adds(&what, paths[0]);
  else
    rp_buf_printf(&what, "%s and %zu more", paths[0], n - 1);
  rebuild(w, what.data);
  rp_buf_free(&what);
}

// --- stopping -----------------------------------------------------------------------------

static void on_closed(void *ud) {
  watch *w = ud;
  w->closing--;
}

static void on_handle_closed(uv_handle_t *h) {
  on_closed(h->data);
}

static void stop(watch *w) {
  if (w->stopping) return;
  w->stopping = true;
  w->closing = 2;
  uv_signal_stop(&w->sigint);
  uv_signal_stop(&w->sigterm);
  uv_close((uv_handle_t *)&w->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&w->sigterm, on_handle_closed);
  if (w->watcher) {
    w->closing++;
    rp_watcher_close(w->watcher, on_closed, w);
    w->watcher = NULL;
  }
  if (w->preview) {
    w->closing++;
    rp_preview_close(w->preview, on_closed, w);
    w->preview = NULL;
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  stop(h->data);
}

// --- the command --------------------------------------------------------------------------

static bool all_digits(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

int rp_cmd_watch(rp_cli *cli, int argc, char **argv) {
  watch w = {0};
  w.cli = cli;
  w.fmt = RP_FMT_MD;
  w.out_dir = "out";
  bool serve = false;
  int port = 0;
  unsigned quiet_ms = 0;
  w.roots = rp_xcalloc((size_t)argc + 1, sizeof *w.roots);
  int status = RP_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("watch");
      goto done;
    } else if (strcmp(a, "--out-dir") == 0 || strcmp(a, "--format") == 0 ||
               strcmp(a, "--debounce") == 0) {
      if (i + 1 >= argc) {
        status = rp_cli_usage_error("watch", "option '%s' needs a value", a);
        goto done;
      }
      const char *v = argv[++i];
      if (a[2] == 'o') {
        w.out_dir = v;
      } else if (a[2] == 'f') {
        if (!rp_format_parse(v, &w.fmt)) {
          status = rp_cli_usage_error("watch", "--format takes md, html, txt or json, not '%s'", v);
          goto done;
        }
      } else {
        if (!all_digits(v) || atoi(v) < 1 || atoi(v) > 1000) {
          status = rp_cli_usage_error("watch", "--debounce takes milliseconds from 1 to 1000");
          goto done;
        }
        quiet_ms = (unsigned)atoi(v);
      }
    } else if (strcmp(a, "--serve") == 0) {
      serve = true;
      if (i + 1 < argc && all_digits(argv[i + 1])) {
        port = atoi(argv[++i]);
        if (port < 1 || port > 65535) {
          status = rp_cli_usage_error("watch", "--serve takes a port from 1 to 65535");
          goto done;
        }
      }
    } else if (strcmp(a, "--strict") == 0) {
      w.strict = true;
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("watch", "unknown option '%s'", a);
      goto done;
    } else if (strcmp(a, "-") == 0) {
      status = rp_cli_usage_error("watch", "watch reads session files, not standard input");
      goto done;
    } else {
      w.roots[w.nroots++] = a;
    }
  }
  if (w.nroots == 0) w.roots[w.nroots++] = "sessions";
  // Strip trailing slashes so that paths compare as written.
  char *out_dir = rp_xstrndup(w.out_dir, strlen(w.out_dir));
  for (size_t n = strlen(out_dir); n > 1 && out_dir[n - 1] == '/'; n--)
    out_dir[n - 1] = '\0';
  w.out_dir = out_dir;
  if (mkdir(w.out_dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "%s: error: cannot create the output folder: %s\n", w.out_dir, strerror(errno));
    free(out_dir);
    status = RP_EXIT_PROBLEM;
    goto done;
  }
  struct stat ost;
  if (stat(w.out_dir, &ost) == 0) w.out = (skip_dir){ost.st_dev, ost.st_ino, true};
  // Roots as written, without trailing slashes ("sessions/" is "sessions").
  for (size_t i = 0; i < w.nroots; i++) {
    size_t n = strlen(w.roots[i]);
    if (n > 1 && w.roots[i][n - 1] == '/') {
      char *r = rp_xstrndup(w.roots[i], n);
      while (n > 1 && r[n - 1] == '/')
        r[--n] = '\0';
      w.roots[i] = r;
      w.owned_roots = rp_xrealloc(w.owned_roots, (w.nowned + 1) * sizeof *w.owned_roots);
      w.owned_roots[w.nowned++] = r;
    }
  }
  rp_workspace_search_path(&cli->ws, RP_WS_PLUGINS, &w.plugin_dirs, &w.nplugin_dirs);
  rp_workspace_search_path(&cli->ws, RP_WS_TEMPLATES, &w.template_dirs, &w.ntemplate_dirs);
  signal(SIGPIPE, SIG_IGN);

  w.loop = rp_xcalloc(1, sizeof *w.loop);
  uv_loop_init(w.loop);
  rp_diags diags = RP_DIAGS_INIT;
  rp_watcher_opts wo = {.quiet_ms = quiet_ms, .rebuild = on_rebuild, .ud = &w};
  w.watcher = rp_watcher_new(w.loop, &wo, &diags);
  if (w.watcher && serve) {
    w.preview = rp_preview_start(w.loop, port, &diags);
    if (!w.preview) status = RP_EXIT_PROBLEM;
  }
  rp_diags_print(&diags, stderr);
  rp_diags_free(&diags);
  if (!w.watcher || (serve && !w.preview)) {
    if (w.watcher) rp_watcher_close(w.watcher, NULL, NULL);
    uv_run(w.loop, UV_RUN_DEFAULT);
    status = RP_EXIT_PROBLEM;
  } else {
    rp_watcher_ignore(w.watcher, w.out_dir);
    for (size_t i = 0; i < w.nroots; i++) {
      struct stat st;
      if (stat(w.roots[i], &st) == 0 && S_ISREG(st.st_mode)) {
        // A session file: watch its folder (editors save by rename).
        const char *slash = strrchr(w.roots[i], '/');
        char *dir = slash ? rp_xstrndup(w.roots[i], (size_t)(slash - w.roots[i])) : NULL;
        rp_watcher_add_root(w.watcher, dir ? dir : ".");
        free(dir);
      } else {
        rp_watcher_add_root(w.watcher, w.roots[i]);
      }
    }
    for (size_t i = 0; i < w.nplugin_dirs; i++)
      rp_watcher_add_root(w.watcher, w.plugin_dirs[i]);
    for (size_t i = 0; i < w.ntemplate_dirs; i++)
      rp_watcher_add_root(w.watcher, w.template_dirs[i]);
    uv_signal_init(w.loop, &w.sigint);
    uv_signal_init(w.loop, &w.sigterm);
    w.sigint.data = w.sigterm.data = &w;
    uv_signal_start(&w.sigint, on_signal, SIGINT);
    uv_signal_start(&w.sigterm, on_signal, SIGTERM);

    rebuild(&w, "start");
    if (!cli->quiet) {
      fprintf(stderr, "rapport: watching %zu folder%s; notes in %s/; Ctrl-C stops\n",
              rp_watcher_count(w.watcher), rp_watcher_count(w.watcher) == 1 ? "" : "s", w.out_dir);
    }
    if (w.preview) fprintf(stderr, "rapport: preview at %s\n", rp_preview_url(w.preview));
    fflush(stderr);
    uv_run(w.loop, UV_RUN_DEFAULT);
    if (!cli->quiet) fprintf(stderr, "rapport: stopped\n");
  }
  uv_loop_close(w.loop);
  free(w.loop);
  rp_notes_free(w.r);
  for (size_t i = 0; i < w.nsessions; i++)
    session_free(&w.sessions[i]);
  free(w.sessions);
  fileset_free(&w.plugin_files);
  fileset_free(&w.template_files);
  free(w.plugin_dirs);
  free(w.template_dirs);
  free(out_dir);
done:
  for (size_t i = 0; i < w.nowned; i++)
    free(w.owned_roots[i]);
  free(w.owned_roots);
  free(w.roots);
  return status;
}
