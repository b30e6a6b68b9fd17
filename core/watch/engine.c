// The watch engine (engine.h).
//
// State: the files the engine follows (plugin files, templates, sessions)
// with their signatures, the sessions' notes and what each depends on, and
// the plugin set and layouts (an rp_notes). All of it belongs to whichever
// thread runs the rebuild: the caller's thread for the first build, then one
// pool thread at a time. The loop's thread keeps only the changes waiting
// for the next rebuild and the results of the last one.
#include "watch/engine.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record/record.h"
#include "util/atomic.h"
#include "util/dir.h"
#include "util/file.h"
#include "watch/libuv.h"
#include "watch/watcher.h"

// --- files and their signatures ----------------------------------------------------------

typedef struct sig {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  uint64_t hash;  // of the content; 0 before it is read
} sig;

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

// Whether `path` changed since `s` was taken; updates `s`. A file whose
// size, inode and modification time are unchanged is not read; one whose
// content hashes the same (a save that changed nothing) is unchanged.
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

// Whether `path` is `dir` or under it.
static bool under(const char *path, const char *dir) {
  if (strcmp(dir, ".") == 0) return path[0] != '/';
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

// "./a/b/" -> "a/b" (malloc'd), as the watcher writes paths.
static char *normalize(const char *p) {
  size_t len = strlen(p);
  while (len > 1 && p[len - 1] == '/')
    len--;
  while (len > 2 && p[0] == '.' && p[1] == '/') {
    p += 2;
    len -= 2;
    while (len > 1 && p[0] == '/') {
      p++;
      len--;
    }
  }
  return rp_xstrndup(p, len);
}

// A set of followed files of one kind (plugin files, templates).
typedef struct tfile {
  char *path;
  sig s;
  bool seen;
} tfile;

typedef struct fileset {
  tfile *files;
  size_t n, cap;
  const char **dirs;  // where they live (borrowed)
  size_t ndirs;
  bool (*keep)(const char *name);
  // What the last refresh found changed (paths, malloc'd).
  char **changed;
  size_t nchanged;
} fileset;

static void fileset_changed(fileset *fs, const char *path) {
  fs->changed = rp_xrealloc(fs->changed, (fs->nchanged + 1) * sizeof *fs->changed);
  fs->changed[fs->nchanged++] = rp_xstrndup(path, strlen(path));
}

static void fileset_clear_changed(fileset *fs) {
  for (size_t i = 0; i < fs->nchanged; i++)
    free(fs->changed[i]);
  fs->nchanged = 0;
}

static void fileset_free(fileset *fs) {
  for (size_t i = 0; i < fs->n; i++)
    free(fs->files[i].path);
  free(fs->files);
  fileset_clear_changed(fs);
  free(fs->changed);
}

static void fileset_file(void *ud, const char *path, const char *name, const struct stat *st) {
  (void)name;
  fileset *fs = ud;
  tfile *f = NULL;
  for (size_t i = 0; i < fs->n && !f; i++)
    if (strcmp(fs->files[i].path, path) == 0) f = &fs->files[i];
  if (f && f->seen) return;  // reached twice (two folders overlap)
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
  if (refresh_sig(path, st, &f->s)) fileset_changed(fs, path);
}

// Looks at `scope` again: one file, a folder (everything under it), or
// (NULL) every folder of the set. Files added, changed or gone are recorded
// in fs->changed.
static void fileset_refresh(fileset *fs, const char *scope, const rp_dir_walk_opts *skip) {
  for (size_t i = 0; i < fs->n; i++)
    fs->files[i].seen = !(scope == NULL || under(fs->files[i].path, scope));
  rp_dir_walk_opts o = *skip;
  o.keep = fs->keep;
  if (!scope) {
    for (size_t i = 0; i < fs->ndirs; i++)
      rp_dir_walk(fs->dirs[i], &o, fileset_file, fs);
  } else {
    struct stat st;
    const char *base = strrchr(scope, '/');
    base = base ? base + 1 : scope;
    if (stat(scope, &st) == 0 && S_ISDIR(st.st_mode))
      rp_dir_walk(scope, &o, fileset_file, fs);
    else if (stat(scope, &st) == 0 && S_ISREG(st.st_mode) && fs->keep(base))
      fileset_file(fs, scope, base, &st);
  }
  for (size_t i = 0; i < fs->n;) {
    if (fs->files[i].seen) {
      i++;
      continue;
    }
    fileset_changed(fs, fs->files[i].path);
    free(fs->files[i].path);
    fs->files[i] = fs->files[--fs->n];
  }
}

static bool in_any(const char *path, const char **dirs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (under(path, dirs[i]) || under(dirs[i], path)) return true;
  return false;
}

// --- sessions ----------------------------------------------------------------------------

typedef struct session {
  char *path;       // "sessions/jd-07.yaml"
  char *rel;        // "jd-07.yaml": relative to its root
  char *id;         // the preview id
  char *out;        // "out/jd-07.md"
  char *note_type;  // of the last build that knew it, or NULL
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

static void session_free(session *s) {
  free(s->path);
  free(s->rel);
  free(s->id);
  free(s->out);
  free(s->note_type);
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

// Whether the session's note uses one of the templates `names` (file paths
// of changed templates: "templates/soap.md.mustache" is "soap.md").
static bool uses_any(const session *s, char *const *paths, size_t n) {
  if (n == 0) return false;
  if (s->any_template || !s->ok) return true;
  for (size_t k = 0; k < n; k++) {
    const char *base = strrchr(paths[k], '/');
    base = base ? base + 1 : paths[k];
    size_t blen = strlen(base) - strlen(".mustache");
    for (size_t i = 0; i < s->ndeps; i++)
      if (strlen(s->deps[i]) == blen && memcmp(s->deps[i], base, blen) == 0) return true;
  }
  return false;
}

char *rp_watch_session_id(const char *rel, bool with_ext) {
  const char *slash = strrchr(rel, '/');
  const char *dot = strrchr(slash ? slash + 1 : rel, '.');
  size_t len =
      !with_ext && dot && dot > (slash ? slash + 1 : rel) ? (size_t)(dot - rel) : strlen(rel);
  rp_buf b = RP_BUF_INIT;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)rel[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
      rp_buf_addc(&b, (char)c);
    else if (c == '/')
      rp_buf_addc(&b, '.');
    else if (c == '_')
      rp_buf_adds(&b, "__");
    else
      rp_buf_printf(&b, "_%02X", c);
  }
  if (!b.len) rp_buf_adds(&b, "session");
  return rp_buf_detach(&b);
}

// --- the engine --------------------------------------------------------------------------

// One rebuild's results, handed from the worker to the loop.
typedef enum ev_kind { EV_PAGE, EV_ERROR, EV_REMOVED } ev_kind;

typedef struct event {
  ev_kind kind;
  char *id;
  char *path;
  rp_buf body;  // the HTML page, or the problems
} event;

typedef struct results {
  event *events;
  size_t n;
  rp_buf log;  // problems and the log line, printed on the loop's thread
  bool changed;
} results;

struct rp_watch {
  rp_watch_opts o;
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
  bool signals;  // the signal handles are open
  rp_watcher *watcher;
  char **roots;  // normalized
  size_t nroots;
  char *out_dir;
  rp_dir_walk_opts skip;  // never enter the output folder
  const char **plugin_dirs, **template_dirs;
  size_t nplugin_dirs, ntemplate_dirs;

  // Owned by the thread running the rebuild.
  rp_notes *notes;
  rp_record *record;      // open during a rebuild, when the workspace has one
  bool plugins_ok;        // the plugin set in use loaded without problems
  char *plugin_problems;  // the problems of the last failed load, as text
  fileset plugin_files, template_files;
  session *sessions;
  size_t nsessions, capsessions;

  // The loop's thread: changes waiting, the rebuild in progress.
  char **pending;
  size_t npending;
  bool pending_full;
  bool busy;
  uv_work_t work;
  char **work_paths;  // the changes the running rebuild looks at
  size_t nwork_paths;
  bool work_full;
  results res;
  bool stopping;
};

static void res_event(results *r, ev_kind kind, const session *s, const char *body, size_t len) {
  r->events = rp_xrealloc(r->events, (r->n + 1) * sizeof *r->events);
  event *e = &r->events[r->n++];
  e->kind = kind;
  e->id = rp_xstrndup(s->id, strlen(s->id));
  e->path = rp_xstrndup(s->path, strlen(s->path));
  e->body = (rp_buf)RP_BUF_INIT;
  if (body) rp_buf_add(&e->body, body, len);
}

static void res_clear(results *r) {
  for (size_t i = 0; i < r->n; i++) {
    free(r->events[i].id);
    free(r->events[i].path);
    rp_buf_free(&r->events[i].body);
  }
  free(r->events);
  rp_buf_free(&r->log);
  memset(r, 0, sizeof *r);
}

// The problems of diags as the terminal shows them.
static void diags_text(const rp_diags *d, rp_buf *out) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    rp_buf_adds(out, "(the problems could not be listed)\n");
    return;
  }
  rp_diags_print(d, f);
  fclose(f);
  rp_buf_add(out, buf, len);
  free(buf);
}

static session *find_session(rp_watch *w, const char *path) {
  for (size_t i = 0; i < w->nsessions; i++)
    if (strcmp(w->sessions[i].path, path) == 0) return &w->sessions[i];
  return NULL;
}

static bool id_taken(const rp_watch *w, const session *self, const char *id) {
  for (size_t i = 0; i < w->nsessions; i++)
    if (&w->sessions[i] != self && w->sessions[i].id && strcmp(w->sessions[i].id, id) == 0)
      return true;
  return false;
}

// A new session's id: its path under its root without the extension, or
// with it when another session has that id already, or with a number.
static char *unique_id(const rp_watch *w, const session *s) {
  char *id = rp_watch_session_id(s->rel, false);
  if (!id_taken(w, s, id) && strlen(id) <= 128) return id;
  free(id);
  id = rp_watch_session_id(s->rel, true);
  for (unsigned k = 2; id_taken(w, s, id) || strlen(id) > 128; k++) {
    char *base = rp_watch_session_id(s->rel, true);
    if (strlen(base) > 100) base[100] = '\0';
    rp_buf b = RP_BUF_INIT;
    rp_buf_printf(&b, "%s-%016llx-%u", base, (unsigned long long)fnv1a(s->rel, strlen(s->rel)), k);
    free(base);
    free(id);
    id = rp_buf_detach(&b);
  }
  return id;
}

typedef struct session_scan {
  rp_watch *w;
  const char *root;
} session_scan;

static void scan_session(void *ud, const char *path, const char *name, const struct stat *st) {
  (void)name;
  session_scan *ss = ud;
  rp_watch *w = ss->w;
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
    const char *rel = path;
    size_t rlen = strlen(ss->root);
    if (strcmp(ss->root, path) == 0) {
      const char *slash = strrchr(path, '/');
      rel = slash ? slash + 1 : path;
    } else if (strcmp(ss->root, ".") != 0 && strncmp(path, ss->root, rlen) == 0 &&
               path[rlen] == '/') {
      rel = path + rlen + 1;
    }
    s->rel = rp_xstrndup(rel, strlen(rel));
    s->id = unique_id(w, s);
    const char *dot = strrchr(rel, '.');
    const char *slash = strrchr(rel, '/');
    size_t stem = dot && dot > (slash ? slash + 1 : rel) ? (size_t)(dot - rel) : strlen(rel);
    rp_buf out = RP_BUF_INIT;
    rp_buf_printf(&out, "%s/%.*s%s", w->out_dir, (int)stem, rel, rp_format_ext[w->o.fmt]);
    // Every note has its own file: of two sessions that differ only by
    // their extension (a.yaml, a.json), the second keeps it ("a.json.md").
    for (size_t i = 0; i + 1 < w->nsessions; i++) {
      if (strcmp(w->sessions[i].out, out.data) != 0) continue;
      rp_buf_free(&out);
      rp_buf_printf(&out, "%s/%s%s", w->out_dir, rel, rp_format_ext[w->o.fmt]);
      break;
    }
    s->out = rp_buf_detach(&out);
    s->dirty = true;
  }
  s->seen = true;
  if (refresh_sig(path, st, &s->s)) s->dirty = true;
}

// Looks at the sessions under `scope` again (NULL: every root): new and
// changed ones become dirty; those gone are removed with their notes.
// Returns how many were removed.
static size_t refresh_sessions(rp_watch *w, const char *scope, results *r) {
  for (size_t i = 0; i < w->nsessions; i++)
    w->sessions[i].seen = !(scope == NULL || under(w->sessions[i].path, scope));
  for (size_t i = 0; i < w->nroots; i++) {
    const char *root = w->roots[i];
    // Only what lies in both the root and the scope.
    const char *from = root;
    if (scope && !under(scope, root) && !under(root, scope)) continue;
    if (scope && under(scope, root)) from = scope;
    session_scan ss = {w, root};
    struct stat st;
    if (stat(from, &st) != 0) continue;
    const char *base = strrchr(from, '/');
    base = base ? base + 1 : from;
    if (S_ISDIR(st.st_mode)) {
      struct stat rst;
      // A root that is a file names one session only.
      if (stat(root, &rst) == 0 && !S_ISDIR(rst.st_mode)) continue;
      rp_dir_walk_opts o = w->skip;
      o.keep = rp_workspace_is_session;
      rp_dir_walk(from, &o, scan_session, &ss);
    } else if (S_ISREG(st.st_mode) && (from == root || rp_workspace_is_session(base))) {
      scan_session(&ss, from, base, &st);
    }
  }
  size_t removed = 0;
  for (size_t i = 0; i < w->nsessions;) {
    session *s = &w->sessions[i];
    if (s->seen) {
      i++;
      continue;
    }
    if (s->written) unlink(s->out);
    res_event(r, EV_REMOVED, s, NULL, 0);
    session_free(s);
    w->sessions[i] = w->sessions[--w->nsessions];
    removed++;
  }
  return removed;
}

// mkdir -p for the folders of `path` under `dir` (not its last component).
static int make_parents(const char *dir, const char *path) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, path);
  int rc = 0;
  for (char *p = b.data + strlen(dir) + 1; *p && rc == 0; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(b.data, 0700) != 0 && errno != EEXIST) rc = -1;
    *p = '/';
  }
  rp_buf_free(&b);
  return rc;
}

static void note_type_of(session *s, const rp_note *note) {
  rp_value v;
  free(s->note_type);
  s->note_type = NULL;
  if (rp_doc_ops.get(note->doc, note->data, "note_type", 9, &v) &&
      rp_doc_ops.get(note->doc, v, "id", 2, &v)) {
    size_t len;
    const char *id = rp_doc_ops.str(note->doc, v, &len);
    if (id) s->note_type = rp_xstrndup(id, len);
  }
}

// Whether the file at s->out holds what we would write, as a note of ours
// (mode 0600).
static bool out_current(const session *s, uint64_t h, size_t len) {
  struct stat st;
  if (lstat(s->out, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0777) != 0600 ||
      (size_t)st.st_size != len)
    return false;
  return (s->written && s->out_hash == h) || hash_file(s->out) == h;
}

// Builds and renders one session; writes its note when its bytes changed.
// Returns true when its note is good.
static bool render_session(rp_watch *w, session *s, const rp_inputs *inputs, bool *wrote,
                           results *r) {
  rp_diags diags = RP_DIAGS_INIT;
  rp_buf out = RP_BUF_INIT;
  rp_note note = RP_NOTE_INIT;
  rp_session_src src = {.path = s->path};
  int rc = rp_notes_build(w->notes, &src, &note, &diags);
  if (rc == RP_OK) note_type_of(s, &note);
  if (rc == RP_OK) rc = rp_record_mark_note(w->record, &note, s->path, &diags);
  if (rc == RP_OK) rc = rp_notes_render(w->notes, &note, w->o.fmt, false, &out, &diags);
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
    const char *what;
    if (out_current(s, h, out.len)) {
      // The note on disk (ours, or from an earlier run) is this note already.
      s->written = true;
      s->out_hash = h;
    } else if (!rp_output_inside(w->out_dir, s->out)) {
      rp_diags_add(&diags, RP_SEV_ERROR, s->out, 0, 0,
                   "not written: a folder on the way is a link (notes stay inside %s)", w->out_dir);
      rc = RP_EDATA;
    } else if ((what = rp_inputs_find(inputs, s->out))) {
      rp_diags_add(&diags, RP_SEV_ERROR, s->out, 0, 0, "not written: it is %s",
                   rp_same_file(s->out, s->path) ? "the session file itself" : what);
      rc = RP_EDATA;
    } else if (make_parents(w->out_dir, s->out) != 0 || !rp_output_inside(w->out_dir, s->out) ||
               rp_write_atomic(s->out, out.data ? out.data : "", out.len, &diags) != RP_OK) {
      rc = RP_EIO;
    } else {
      s->written = true;
      s->out_hash = h;
      *wrote = true;
    }
  }
  if (w->o.want_html && w->plugin_problems) {
    // While the plugins have a problem, the preview shows it on every note
    // (the note on disk stays the last good one).
    rp_buf text = RP_BUF_INIT;
    rp_buf_adds(&text, w->plugin_problems);
    if (rc != RP_OK) diags_text(&diags, &text);
    res_event(r, EV_ERROR, s, text.data, text.len);
    rp_buf_free(&text);
  } else if (rc == RP_OK && w->o.want_html) {
    if (w->o.fmt == RP_FMT_HTML) {
      res_event(r, EV_PAGE, s, out.data, out.len);
    } else {
      rp_buf html = RP_BUF_INIT;
      rp_diags hd = RP_DIAGS_INIT;
      if (rp_notes_render(w->notes, &note, RP_FMT_HTML, false, &html, &hd) == RP_OK) {
        res_event(r, EV_PAGE, s, html.data, html.len);
      } else {
        rp_buf text = RP_BUF_INIT;
        diags_text(&hd, &text);
        res_event(r, EV_ERROR, s, text.data, text.len);
        rp_buf_free(&text);
      }
      rp_diags_free(&hd);
      rp_buf_free(&html);
    }
  } else if (rc != RP_OK && w->o.want_html) {
    rp_buf text = RP_BUF_INIT;
    diags_text(&diags, &text);
    res_event(r, EV_ERROR, s, text.data, text.len);
    rp_buf_free(&text);
  }
  diags_text(&diags, &r->log);
  rp_diags_free(&diags);
  rp_buf_free(&out);
  rp_note_clear(&note);
  s->ok = rc == RP_OK;
  return s->ok;
}

// --- what a plugin change affects --------------------------------------------------------

typedef struct affected {
  bool all;
  char **types;  // note type ids
  size_t ntypes;
} affected;

static void affect_type(affected *a, const char *id) {
  for (size_t i = 0; i < a->ntypes; i++)
    if (strcmp(a->types[i], id) == 0) return;
  a->types = rp_xrealloc(a->types, (a->ntypes + 1) * sizeof *a->types);
  a->types[a->ntypes++] = rp_xstrndup(id, strlen(id));
}

static void affected_free(affected *a) {
  for (size_t i = 0; i < a->ntypes; i++)
    free(a->types[i]);
  free(a->types);
}

// The file or folder a plugin lives in: its main file, or the folder of a
// NAME/init.lua plugin.
static char *plugin_home(const char *main_path) {
  char *p = normalize(main_path);
  size_t n = strlen(p);
  if (n > 9 && strcmp(p + n - 9, "/init.lua") == 0) p[n - 9] = '\0';
  return p;
}

typedef struct part_match {
  rp_item_kind kind;
  const char *id;
  bool found;
} part_match;

static void match_part(void *ud, rp_item_kind kind, const char *part) {
  part_match *m = ud;
  if (kind == m->kind && strcmp(part, m->id) == 0) m->found = true;
}

// Adds to `a` what the plugins of set p living in the changed files touch.
static void plugin_effects(rp_plugins *p, char *const *changed, size_t nchanged, affected *a) {
  if (!p) return;
  for (size_t i = 0; i < rp_plugins_count(p); i++) {
    rp_plugin_info pi;
    rp_plugins_plugin(p, i, &pi);
    if (pi.builtin) continue;
    char *home = plugin_home(pi.path);
    bool hit = false;
    for (size_t k = 0; k < nchanged && !hit; k++)
      hit = under(changed[k], home);
    if (hit) {
      for (int kind = 0; kind < RP_ITEM_KINDS; kind++) {
        rp_item_info it;
        for (size_t j = 0; rp_plugins_item(p, (rp_item_kind)kind, j, &it); j++) {
          char *where = normalize(it.path);
          bool mine = under(where, home);
          free(where);
          if (!mine) continue;
          if (kind == RP_ITEM_NOTE_TYPE) {
            affect_type(a, it.id);
          } else if (kind == RP_ITEM_CHECKLIST || kind == RP_ITEM_MEASURE) {
            rp_item_info nt;
            for (size_t t = 0; rp_plugins_item(p, RP_ITEM_NOTE_TYPE, t, &nt); t++) {
              part_match m = {(rp_item_kind)kind, it.id, false};
              rp_plugins_note_type_parts(p, nt.id, match_part, &m);
              if (m.found) affect_type(a, nt.id);
            }
          } else if (kind != RP_ITEM_TEST) {
            a->all = true;  // filters, lambdas and event handlers reach any note
          }
        }
      }
    }
    free(home);
  }
  // A changed file that belongs to no plugin of the set (a plugin that
  // failed, or was removed) is looked at in the other set; one in neither
  // could be anything.
}

static bool session_affected(const session *s, const affected *a) {
  if (a->all || !s->note_type || !s->ok) return true;
  for (size_t i = 0; i < a->ntypes; i++)
    if (strcmp(a->types[i], s->note_type) == 0) return true;
  return false;
}

// --- rebuilding --------------------------------------------------------------------------

static void log_line(rp_watch *w, results *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void log_line(rp_watch *w, results *r, const char *fmt, ...) {
  if (w->o.quiet) return;
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  rp_buf_printf(&r->log, "rapport: %02d:%02d:%02d ", tm.tm_hour, tm.tm_min, tm.tm_sec);
  va_list ap;
  va_start(ap, fmt);
  char line[1024];
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  rp_buf_adds(&r->log, line);
  rp_buf_addc(&r->log, '\n');
}

// Loads the plugins again; on success the notes start over with them. On
// failure the last good set stays (w->plugin_problems says why).
static bool reload_plugins(rp_watch *w, results *r) {
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_workspace_load_plugins(w->o.ws, NULL, 0, false, &diags);
  diags_text(&diags, &r->log);
  bool ok = diags.errors == 0;
  free(w->plugin_problems);
  w->plugin_problems = NULL;
  if (!ok) {
    rp_buf text = RP_BUF_INIT;
    diags_text(&diags, &text);
    w->plugin_problems = rp_buf_detach(&text);
  }
  rp_diags_free(&diags);
  if (!ok && w->notes) {
    rp_plugins_free(p);
    return false;
  }
  rp_diags quiet = RP_DIAGS_INIT;
  rp_notes_opts no = {.strict = w->o.strict, .plugins = p};
  rp_notes *n = rp_notes_new(w->o.ws, &no, &quiet);
  rp_diags_free(&quiet);
  rp_notes_free(w->notes);
  w->notes = n;
  w->plugins_ok = ok;
  return true;
}

// Every file the notes must never be written over.
static rp_inputs *inputs_of(rp_watch *w) {
  rp_inputs *in = rp_inputs_new();
  for (size_t i = 0; i < w->plugin_files.n; i++)
    rp_inputs_add(in, w->plugin_files.files[i].path, "a plugin's file");
  for (size_t i = 0; i < w->template_files.n; i++)
    rp_inputs_add(in, w->template_files.files[i].path, "a template");
  for (size_t i = 0; i < w->nsessions; i++)
    rp_inputs_add(in, w->sessions[i].path, "a session file");
  rp_inputs_add_workspace(in, w->o.ws);
  return in;
}

static void rebuild(rp_watch *w, char *const *paths, size_t npaths, bool full, const char *what,
                    results *r) {
  uint64_t t0 = uv()->uv_hrtime();
  bool first = w->notes == NULL;
  size_t removed = 0;
  fileset_clear_changed(&w->plugin_files);
  fileset_clear_changed(&w->template_files);
  if (full || first) {
    fileset_refresh(&w->plugin_files, NULL, &w->skip);
    fileset_refresh(&w->template_files, NULL, &w->skip);
    removed += refresh_sessions(w, NULL, r);
  } else {
    for (size_t i = 0; i < npaths; i++) {
      const char *p = paths[i];
      if (in_any(p, w->plugin_dirs, w->nplugin_dirs))
        fileset_refresh(&w->plugin_files, p, &w->skip);
      if (in_any(p, w->template_dirs, w->ntemplate_dirs))
        fileset_refresh(&w->template_files, p, &w->skip);
      if (in_any(p, (const char **)w->roots, w->nroots)) removed += refresh_sessions(w, p, r);
    }
  }

  bool plugins_failed = false;
  affected aff = {0};
  if (first) {
    reload_plugins(w, r);
    aff.all = true;
  } else if (w->plugin_files.nchanged) {
    bool was_ok = w->plugins_ok && !w->plugin_problems;
    rp_plugins *old = rp_notes_plugins(w->notes);
    plugin_effects(old, w->plugin_files.changed, w->plugin_files.nchanged, &aff);
    if (reload_plugins(w, r)) {
      plugin_effects(rp_notes_plugins(w->notes), w->plugin_files.changed, w->plugin_files.nchanged,
                     &aff);
      // A file that belongs to no plugin in either set could be anything;
      // after a problem is fixed, every note shows again.
      if ((!aff.all && aff.ntypes == 0) || !was_ok) aff.all = true;
    } else {
      plugins_failed = true;
    }
  }
  bool templates = w->template_files.nchanged > 0;
  if (templates && !aff.all) rp_notes_reload_layouts(w->notes);
  // What os.time() shows the plugins: when this rebuild began, the same for
  // every note of it (no note's time depends on how long another took).
  rp_plugins_set_time(rp_notes_plugins(w->notes), (long long)time(NULL));

  rp_inputs *inputs = inputs_of(w);
  // The record as it is now, for the signed notes among those rendered.
  if (w->o.record && rp_record_open_if_any(w->o.record, &w->record, NULL) != RP_OK)
    w->record = NULL;
  size_t rendered = 0, failed = 0, written = 0;
  for (size_t i = 0; i < w->nsessions; i++) {
    session *s = &w->sessions[i];
    bool affected_now =
        s->dirty || (!plugins_failed && (aff.all || aff.ntypes) && session_affected(s, &aff)) ||
        (templates && uses_any(s, w->template_files.changed, w->template_files.nchanged));
    if (plugins_failed) {
      // The preview shows the plugins' problem on every note until it is
      // fixed; the notes on disk stay as they were.
      if (w->o.want_html)
        res_event(r, EV_ERROR, s, w->plugin_problems,
                  w->plugin_problems ? strlen(w->plugin_problems) : 0);
      if (!s->dirty) continue;
    }
    if (!affected_now) continue;
    bool wrote;
    if (render_session(w, s, inputs, &wrote, r))
      rendered++;
    else
      failed++;
    if (wrote) written++;
    s->dirty = false;
  }
  rp_inputs_free(inputs);
  rp_record_close(w->record);
  w->record = NULL;
  affected_free(&aff);
  if (rendered || failed || removed || plugins_failed) {
    r->changed = true;
    double ms = (double)(uv()->uv_hrtime() - t0) / 1e6;
    rp_buf msg = RP_BUF_INIT;
    rp_buf_printf(&msg, "%s: rendered %zu note%s (%zu written)", what, rendered,
                  rendered == 1 ? "" : "s", written);
    if (failed) rp_buf_printf(&msg, ", %zu with problems (their last good notes are kept)", failed);
    if (removed) rp_buf_printf(&msg, ", removed %zu", removed);
    if (plugins_failed)
      rp_buf_adds(&msg, "; plugins have problems: the last good ones stay in use");
    rp_buf_printf(&msg, " in %.1f ms", ms);
    log_line(w, r, "%s", msg.data);
    rp_buf_free(&msg);
  }
}

// --- the loop's side ---------------------------------------------------------------------

static void deliver(rp_watch *w, results *r) {
  if (r->log.len) {
    fwrite(r->log.data, 1, r->log.len, stderr);
    fflush(stderr);
  }
  const rp_watch_events *ev = &w->o.events;
  for (size_t i = 0; i < r->n; i++) {
    event *e = &r->events[i];
    if (e->kind == EV_PAGE && ev->page)
      ev->page(ev->ud, e->id, e->path, e->body.data ? e->body.data : "", e->body.len);
    else if (e->kind == EV_ERROR && ev->error)
      ev->error(ev->ud, e->id, e->path, e->body.data ? e->body.data : "");
    else if (e->kind == EV_REMOVED && ev->removed)
      ev->removed(ev->ud, e->id);
  }
  if (r->changed && ev->rebuilt) ev->rebuilt(ev->ud);
  res_clear(r);
}

static void free_paths(char **paths, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  free(paths);
}

static void work_run(uv_work_t *req) {
  rp_watch *w = req->data;
  rp_buf what = RP_BUF_INIT;
  if (w->work_full || w->nwork_paths == 0)
    rp_buf_adds(&what, "files changed");
  else if (w->nwork_paths == 1)
    rp_buf_adds(&what, w->work_paths[0]);
  else
    rp_buf_printf(&what, "%s and %zu more", w->work_paths[0], w->nwork_paths - 1);
  rebuild(w, w->work_paths, w->nwork_paths, w->work_full, what.data, &w->res);
  rp_buf_free(&what);
}

static void start_work(rp_watch *w);
static void close_handles(rp_watch *w);

static void work_done(uv_work_t *req, int status) {
  (void)status;
  rp_watch *w = req->data;
  w->busy = false;
  free_paths(w->work_paths, w->nwork_paths);
  w->work_paths = NULL;
  w->nwork_paths = 0;
  deliver(w, &w->res);
  if (w->stopping)
    close_handles(w);
  else if (w->npending || w->pending_full)
    start_work(w);
}

static void start_work(rp_watch *w) {
  w->work_paths = w->pending;
  w->nwork_paths = w->npending;
  w->work_full = w->pending_full;
  w->pending = NULL;
  w->npending = 0;
  w->pending_full = false;
  w->busy = true;
  w->work.data = w;
  uv()->uv_queue_work(&w->loop, &w->work, work_run, work_done);
}

// The watcher's call, on the loop: queue the changes; rebuild now unless a
// rebuild is running (then its end starts the next).
static void on_change(void *ud, const char *const *paths, size_t n, bool full) {
  rp_watch *w = ud;
  if (w->stopping) return;
  for (size_t i = 0; i < n; i++) {
    bool dup = false;
    for (size_t k = 0; k < w->npending && !dup; k++)
      dup = strcmp(w->pending[k], paths[i]) == 0;
    if (dup) continue;
    w->pending = rp_xrealloc(w->pending, (w->npending + 1) * sizeof *w->pending);
    w->pending[w->npending++] = normalize(paths[i]);
  }
  if (full) w->pending_full = true;
  if (!w->busy) start_work(w);
}

rp_watch *rp_watch_new(const rp_watch_opts *opts) {
  rp_watch *w = rp_xcalloc(1, sizeof *w);
  w->o = *opts;
  w->o.roots = NULL;
  w->out_dir = normalize(opts->out_dir);
  w->roots = rp_xcalloc(opts->nroots ? opts->nroots : 1, sizeof *w->roots);
  for (size_t i = 0; i < opts->nroots; i++)
    w->roots[w->nroots++] = normalize(opts->roots[i]);
  rp_workspace_search_path(opts->ws, RP_WS_PLUGINS, &w->plugin_dirs, &w->nplugin_dirs);
  rp_workspace_search_path(opts->ws, RP_WS_TEMPLATES, &w->template_dirs, &w->ntemplate_dirs);
  w->plugin_files.dirs = w->plugin_dirs;
  w->plugin_files.ndirs = w->nplugin_dirs;
  w->plugin_files.keep = rp_workspace_is_plugin_file;
  w->template_files.dirs = w->template_dirs;
  w->template_files.ndirs = w->ntemplate_dirs;
  w->template_files.keep = rp_workspace_is_template;
  uv()->uv_loop_init(&w->loop);
  return w;
}

struct uv_loop_s *rp_watch_loop(rp_watch *w) {
  return &w->loop;
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  rp_watch *w = h->data;
  if (w->stopping) return;
  w->stopping = true;
  if (w->o.events.stopping) w->o.events.stopping(w->o.events.ud);
  // A rebuild in progress ends first; its end closes the handles.
  if (!w->busy) close_handles(w);
}

static void watcher_closed(void *ud) {
  (void)ud;
}

static void close_handles(rp_watch *w) {
  if (w->signals) {
    w->signals = false;
    uv()->uv_close((uv_handle_t *)&w->sigint, NULL);
    uv()->uv_close((uv_handle_t *)&w->sigterm, NULL);
  }
  if (w->watcher) {
    rp_watcher_close(w->watcher, watcher_closed, w);
    w->watcher = NULL;
  }
}

// The watcher's question: is `path` a file the engine follows?
static bool followed(void *ud, const char *path) {
  (void)ud;
  return rp_workspace_is_session(path) || rp_workspace_is_plugin_file(path) ||
         rp_workspace_is_template(path);
}

int rp_watch_start(rp_watch *w, rp_diags *diags) {
  if (mkdir(w->out_dir, 0700) != 0 && errno != EEXIST) {
    rp_diags_add(diags, RP_SEV_ERROR, w->out_dir, 0, 0, "cannot create the output folder: %s",
                 strerror(errno));
    return RP_EIO;
  }
  struct stat ost;
  if (stat(w->out_dir, &ost) == 0) {
    w->skip.skip_dev = ost.st_dev;
    w->skip.skip_ino = ost.st_ino;
    w->skip.skip_set = true;
  }
  // A quiet window the user chose (--debounce) is kept for every change.
  // Only sessions, plugin files and templates decide whether a save is one
  // file's.
  rp_watcher_opts wo = {.quiet_ms = w->o.quiet_ms,
                        .immediate = w->o.quiet_ms == 0,
                        .counts = followed,
                        .rebuild = on_change,
                        .ud = w};
  w->watcher = rp_watcher_new(&w->loop, &wo, diags);
  if (!w->watcher) return RP_EIO;
  rp_watcher_ignore(w->watcher, w->out_dir);
  for (size_t i = 0; i < w->nroots; i++) {
    struct stat st;
    if (stat(w->roots[i], &st) == 0 && S_ISREG(st.st_mode)) {
      // A session file: watch its folder (editors save by rename).
      const char *slash = strrchr(w->roots[i], '/');
      char *dir = slash ? rp_xstrndup(w->roots[i], (size_t)(slash - w->roots[i])) : NULL;
      rp_watcher_add_root(w->watcher, dir ? dir : ".");
      free(dir);
    } else {
      rp_watcher_add_root(w->watcher, w->roots[i]);
    }
  }
  for (size_t i = 0; i < w->nplugin_dirs; i++)
    rp_watcher_add_root(w->watcher, w->plugin_dirs[i]);
  for (size_t i = 0; i < w->ntemplate_dirs; i++)
    rp_watcher_add_root(w->watcher, w->template_dirs[i]);
  uv()->uv_signal_init(&w->loop, &w->sigint);
  uv()->uv_signal_init(&w->loop, &w->sigterm);
  w->sigint.data = w->sigterm.data = w;
  uv()->uv_signal_start(&w->sigint, on_signal, SIGINT);
  uv()->uv_signal_start(&w->sigterm, on_signal, SIGTERM);
  w->signals = true;
  // The first build, here, so that its line comes before anything else.
  rebuild(w, NULL, 0, true, "start", &w->res);
  deliver(w, &w->res);
  return RP_OK;
}

size_t rp_watch_folders(const rp_watch *w) {
  return w->watcher ? rp_watcher_count(w->watcher) : 0;
}

void rp_watch_run(rp_watch *w) {
  uv()->uv_run(&w->loop, UV_RUN_DEFAULT);
}

void rp_watch_free(rp_watch *w) {
  if (!w) return;
  // Handles still open (a failed start): close them and let the loop end.
  close_handles(w);
  uv()->uv_run(&w->loop, UV_RUN_DEFAULT);
  uv()->uv_loop_close(&w->loop);
  rp_notes_free(w->notes);
  for (size_t i = 0; i < w->nsessions; i++)
    session_free(&w->sessions[i]);
  free(w->sessions);
  fileset_free(&w->plugin_files);
  fileset_free(&w->template_files);
  free(w->plugin_dirs);
  free(w->template_dirs);
  free(w->plugin_problems);
  free_paths(w->roots, w->nroots);
  free_paths(w->pending, w->npending);
  res_clear(&w->res);
  free(w->out_dir);
  free(w);
}
