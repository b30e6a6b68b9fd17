// The workspace and its search path (workspace.h).
#include "workspace/workspace.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/builtin.h"
#include "util/dir.h"
#include "util/file.h"

void rp_workspace_search_path(const rp_workspace *ws, rp_ws_kind kind, const char ***dirs,
                              size_t *n) {
  const char **list = kind == RP_WS_PLUGINS ? ws->plugin_dirs : ws->template_dirs;
  size_t count = kind == RP_WS_PLUGINS ? ws->nplugin_dirs : ws->ntemplate_dirs;
  *dirs = rp_xcalloc(count + 1, sizeof **dirs);
  (*dirs)[0] = kind == RP_WS_PLUGINS ? "plugins" : "templates";
  for (size_t i = 0; i < count; i++)
    (*dirs)[i + 1] = list[i];
  *n = count + 1;
}

rp_plugins *rp_workspace_load_plugins(const rp_workspace *ws, const char **extra, size_t nextra,
                                      bool one_session, rp_diags *diags) {
  const char **dirs;
  size_t n;
  rp_workspace_search_path(ws, RP_WS_PLUGINS, &dirs, &n);
  dirs = rp_xrealloc(dirs, (n + nextra) * sizeof *dirs);
  for (size_t i = 0; i < nextra; i++)
    dirs[n++] = extra[i];
  rp_plugins_opts po = {0};
  po.builtins = true;
  po.dirs = dirs;
  po.ndirs = n;
  po.one_session = one_session;
  // The budgets are configurable for clinics whose plugins need more (the
  // defaults, 16 MiB and 10 million instructions a call, are far beyond what
  // an honest plugin uses).
  const char *mem = getenv("RAPPORT_LUA_MEMORY_MIB");
  const char *ins = getenv("RAPPORT_LUA_INSTRUCTIONS");
  if (mem && atol(mem) > 0 && atol(mem) <= 4096) po.lua.memory_limit = (size_t)atol(mem) << 20;
  if (ins && atol(ins) > 0) po.lua.instruction_budget = atol(ins);
  rp_plugins *p = rp_plugins_load(&po, diags);
  free(dirs);
  return p;
}

// --- layouts ---------------------------------------------------------------------------------

typedef struct layout_dirs {
  const char **dirs;  // searched last to first: a later folder overrides
  size_t n;
} layout_dirs;

static bool valid_template_name(const char *name, size_t len) {
  if (len == 0 || name[0] == '.') return false;
  for (size_t i = 0; i < len; i++)
    if (name[i] == '/' || name[i] == '\0') return false;
  return true;
}

static int load_layout(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                       char **path, rp_diags *diags) {
  layout_dirs *ld = ud;
  if (!valid_template_name(name, namelen)) return 0;
  for (size_t i = ld->n; i > 0; i--) {
    rp_buf p = RP_BUF_INIT;
    rp_buf_printf(&p, "%s/%.*s.mustache", ld->dirs[i - 1], (int)namelen, name);
    struct stat st;
    if (stat(p.data, &st) != 0) {
      rp_buf_free(&p);
      continue;
    }
    rp_buf b = RP_BUF_INIT;
    if (rp_read_file(p.data, (size_t)64 << 20, &b, diags) != RP_OK) {
      rp_buf_free(&b);
      rp_buf_free(&p);
      return RP_EIO;
    }
    *srclen = b.len;
    *src = rp_buf_detach(&b);
    *path = rp_buf_detach(&p);
    return 1;
  }
  rp_buf want = RP_BUF_INIT;
  rp_buf_printf(&want, "templates/%.*s.mustache", (int)namelen, name);
  for (size_t i = 0; i < rp_builtin_nfiles; i++) {
    if (strcmp(rp_builtin_files[i].path, want.data) != 0) continue;
    *src = rp_xstrndup((const char *)rp_builtin_files[i].data, rp_builtin_files[i].len);
    *srclen = rp_builtin_files[i].len;
    *path = rp_buf_detach(&want);
    return 1;
  }
  rp_buf_free(&want);
  return 0;
}

static void free_layout_dirs(void *ud) {
  layout_dirs *ld = ud;
  free(ld->dirs);
  free(ld);
}

rp_library *rp_workspace_layouts(const rp_workspace *ws, const rp_filters *filters, bool strict) {
  layout_dirs *ld = rp_xcalloc(1, sizeof *ld);
  rp_workspace_search_path(ws, RP_WS_TEMPLATES, &ld->dirs, &ld->n);
  rp_library_opts lo = {.loader = load_layout,
                        .loader_ud = ld,
                        .filters = filters,
                        .strict = strict,
                        .loader_free = free_layout_dirs};
  return rp_library_new(&lo);
}

void rp_workspace_layouts_free(rp_library *lib) {
  rp_library_free(lib);  // its loader_free frees the folder list
}

// --- templates -------------------------------------------------------------------------------

typedef struct each_tpl {
  void (*fn)(void *ud, const char *path, const char *src, size_t len);
  void *ud;
} each_tpl;

static void template_file(void *ud, const char *path, const char *name, const struct stat *st) {
  (void)name;
  (void)st;
  each_tpl *e = ud;
  e->fn(e->ud, path, NULL, 0);
}

void rp_workspace_each_template(const rp_workspace *ws,
                                void (*fn)(void *ud, const char *path, const char *src, size_t len),
                                void *ud) {
  for (size_t i = 0; i < rp_builtin_nfiles; i++) {
    const rp_builtin_file *f = &rp_builtin_files[i];
    if (rp_has_ext(f->path, ".mustache")) fn(ud, f->path, (const char *)f->data, f->len);
  }
  const char **dirs;
  size_t n;
  rp_workspace_search_path(ws, RP_WS_TEMPLATES, &dirs, &n);
  each_tpl e = {fn, ud};
  // Only the folder itself: partials of a layout live beside it.
  rp_dir_walk_opts o = {.keep = rp_workspace_is_template, .no_subfolders = true};
  for (size_t i = 0; i < n; i++)
    rp_dir_walk(dirs[i], &o, template_file, &e);
  free(dirs);
}

// --- what a file is --------------------------------------------------------------------------

bool rp_workspace_is_session(const char *name) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  return base[0] != '.' && base[0] != '#' &&
         (rp_has_ext(base, ".yaml") || rp_has_ext(base, ".yml") || rp_has_ext(base, ".json"));
}

bool rp_workspace_is_json(const char *name) {
  return rp_has_ext(name, ".json");
}

bool rp_workspace_is_batch(const char *name) {
  return rp_has_ext(name, ".jsonl");
}

bool rp_workspace_is_plugin_file(const char *name) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  return base[0] != '.' && rp_has_ext(base, ".lua");
}

bool rp_workspace_is_template(const char *name) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  return base[0] != '.' && rp_has_ext(base, ".mustache");
}

typedef struct each_session {
  void (*fn)(void *ud, const char *path);
  void *ud;
} each_session;

static void session_file(void *ud, const char *path, const char *name, const struct stat *st) {
  (void)name;
  (void)st;
  each_session *e = ud;
  e->fn(e->ud, path);
}

void rp_workspace_each_session(const char *dir, const char *out_dir,
                               void (*fn)(void *ud, const char *path), void *ud) {
  rp_dir_walk_opts o = {.keep = rp_workspace_is_session};
  struct stat st;
  if (out_dir && stat(out_dir, &st) == 0) {
    o.skip_dev = st.st_dev;
    o.skip_ino = st.st_ino;
    o.skip_set = true;
  }
  each_session e = {fn, ud};
  rp_dir_walk(dir, &o, session_file, &e);
}

char *rp_workspace_output_name(const char *dir, const char *input, long line, const char *ext) {
  const char *base = strrchr(input, '/');
  base = base ? base + 1 : input;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  rp_buf b = RP_BUF_INIT;
  if (line > 0)
    rp_buf_printf(&b, "%s/%.*s-%ld%s", dir, (int)len, base, line, ext);
  else
    rp_buf_printf(&b, "%s/%.*s%s", dir, (int)len, base, ext);
  return rp_buf_detach(&b);
}

// --- the inputs of a run ---------------------------------------------------------------------

typedef struct file_id {
  dev_t dev;
  ino_t ino;
  const char *what;
} file_id;

struct rp_inputs {
  file_id *ids;
  size_t n, cap;
};

rp_inputs *rp_inputs_new(void) {
  return rp_xcalloc(1, sizeof(rp_inputs));
}

void rp_inputs_free(rp_inputs *in) {
  if (!in) return;
  free(in->ids);
  free(in);
}

static void add_id(rp_inputs *in, const struct stat *st, const char *what) {
  if (!S_ISREG(st->st_mode)) return;
  if (in->n == in->cap) {
    in->cap = in->cap ? 2 * in->cap : 32;
    in->ids = rp_xrealloc(in->ids, in->cap * sizeof *in->ids);
  }
  in->ids[in->n++] = (file_id){st->st_dev, st->st_ino, what};
}

void rp_inputs_add(rp_inputs *in, const char *path, const char *what) {
  struct stat st;
  if (stat(path, &st) == 0) add_id(in, &st, what);
}

void rp_inputs_add_fd(rp_inputs *in, int fd, const char *what) {
  struct stat st;
  if (fstat(fd, &st) == 0) add_id(in, &st, what);
}

static void plugin_input(void *ud, const char *path, const char *name, const struct stat *st) {
  (void)path;
  (void)name;
  add_id(ud, st, "a plugin's file");
}

static void template_input(void *ud, const char *path, const char *name, const struct stat *st) {
  (void)path;
  (void)name;
  add_id(ud, st, "a template");
}

void rp_inputs_add_workspace(rp_inputs *in, const rp_workspace *ws) {
  for (int k = 0; k < 2; k++) {
    const char **dirs;
    size_t n;
    rp_workspace_search_path(ws, k == 0 ? RP_WS_PLUGINS : RP_WS_TEMPLATES, &dirs, &n);
    for (size_t i = 0; i < n; i++)
      rp_dir_walk(dirs[i], NULL, k == 0 ? plugin_input : template_input, in);
    free(dirs);
  }
  const char *record = getenv("RAPPORT_RECORD");
  rp_inputs_add(in, record && *record ? record : "record.db", "the record");
  rp_inputs_add(in, "record.checkpoint", "the record's checkpoint");
}

typedef struct session_input {
  rp_inputs *in;
  const char *what;
} session_input;

static void add_session_input(void *ud, const char *path) {
  session_input *si = ud;
  rp_inputs_add(si->in, path, si->what);
}

void rp_inputs_add_sessions(rp_inputs *in, const char *dir, const char *out_dir, const char *what) {
  session_input si = {in, what};
  // Notes written into the sessions folder itself land among the sessions:
  // nothing there is skipped.
  struct stat ds, os;
  if (out_dir && stat(dir, &ds) == 0 && stat(out_dir, &os) == 0 && ds.st_dev == os.st_dev &&
      ds.st_ino == os.st_ino)
    out_dir = NULL;
  rp_workspace_each_session(dir, out_dir, add_session_input, &si);
}

const char *rp_inputs_find(const rp_inputs *in, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return NULL;
  for (size_t i = 0; i < in->n; i++)
    if (in->ids[i].dev == st.st_dev && in->ids[i].ino == st.st_ino) return in->ids[i].what;
  return NULL;
}

bool rp_output_inside(const char *dir, const char *target) {
  size_t dlen = strlen(dir);
  if (strncmp(target, dir, dlen) != 0 || target[dlen] != '/') return false;
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, target);
  bool ok = true;
  char *p = b.data + dlen + 1;
  // Each folder between `dir` and the file; the file itself is replaced by
  // a rename, which never follows a link.
  for (char *slash; ok && (slash = strchr(p, '/')); p = slash + 1) {
    *slash = '\0';
    struct stat st;
    if (strcmp(p, "..") == 0 || strcmp(p, ".") == 0 || *p == '\0' ||
        (lstat(b.data, &st) == 0 && S_ISLNK(st.st_mode)))
      ok = false;
    *slash = '/';
  }
  if (strcmp(p, "..") == 0 || strcmp(p, ".") == 0 || *p == '\0') ok = false;
  rp_buf_free(&b);
  return ok;
}
