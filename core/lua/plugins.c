// The plugin set of plugins.h: discovery on the search path, loading into the
// sandbox, the registry of what plugins registered, and calls back into them
// (filters, lambdas, tests).
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lua/internal.h"
#include "schema/schema.h"
#include "util/builtin.h"
#include "util/file.h"

enum { RP_PLUGIN_MAX_SOURCE = 1 << 20 };  // bytes of one plugin file

static const char *const kind_names[RP_ITEM_KINDS] = {
    "note type", "checklist", "measure", "filter", "lambda", "hook", "test",
};

const char *rp_item_kind_name(rp_item_kind kind) {
  return kind < RP_ITEM_KINDS ? kind_names[kind] : "item";
}

// --- reporting -----------------------------------------------------------------

// Lua shortens long chunk names in messages to "...end/of/the/path.lua":
// give back the plugin's whole path when one ends that way.
static const char *full_path(const rp_plugins *p, const char *shown) {
  if (!p || strncmp(shown, "...", 3) != 0) return shown;
  const char *tail = shown + 3;
  size_t tlen = strlen(tail);
  for (size_t i = 0; i < p->nplugins; i++) {
    const char *path = p->plugins[i].path;
    size_t len = strlen(path);
    if (len >= tlen && strcmp(path + len - tlen, tail) == 0) return path;
  }
  return shown;
}

// Reports a Lua error message ("path:LINE: text" followed by a traceback) as
// one error at that line and a note for each Lua frame of the traceback.
void rp_plugins_report(const rp_plugins *p, rp_diags *diags, const char *fallback_path,
                       const char *msg) {
  const char *tb = strstr(msg, "\nstack traceback:");
  size_t headlen = tb ? (size_t)(tb - msg) : strlen(msg);
  char *head = rp_xstrndup(msg, headlen);
  // "path:LINE: text", on the message's first line: a position further on
  // is part of the text (a plugin's error("a\nother.yaml:2: ...", 0)).
  char *path = NULL;
  int line = 0;
  const char *text = head;
  const char *first_eol = strchr(head, '\n');
  char *colon = strchr(head, ':');
  while (colon && (!first_eol || colon < first_eol)) {
    char *end = NULL;
    long l = strtol(colon + 1, &end, 10);
    if (end != colon + 1 && *end == ':' && l > 0 && l < INT_MAX) {
      path = rp_xstrndup(head, (size_t)(colon - head));
      line = (int)l;
      text = end + 1;
      while (*text == ' ')
        text++;
      break;
    }
    colon = strchr(colon + 1, ':');
  }
  rp_diags_add(diags, RP_SEV_ERROR, path ? full_path(p, path) : fallback_path, line, line ? 1 : 0,
               "%s", text);
  if (tb) {
    // "\n\tpath:LINE: in function 'x'" lines; keep at most a few Lua frames.
    int shown = 0;
    const char *q = tb + 17;
    while (*q && shown < 4) {
      while (*q == '\n' || *q == '\t')
        q++;
      const char *eol = strchr(q, '\n');
      size_t n = eol ? (size_t)(eol - q) : strlen(q);
      char *frame = rp_xstrndup(q, n);
      char *c1 = strchr(frame, ':');
      if (c1 && frame[0] != '[' && strncmp(frame, "(...", 4) != 0) {
        char *end = NULL;
        long l = strtol(c1 + 1, &end, 10);
        if (end != c1 + 1 && *end == ':' && l > 0 && l < INT_MAX) {
          *c1 = '\0';
          const char *what = end + 1;
          while (*what == ' ')
            what++;
          if (!(path && strcmp(frame, path) == 0 && l == line)) {
            rp_diags_add(diags, RP_SEV_NOTE, full_path(p, frame), (int)l, 1, "%s", what);
            shown++;
          }
        }
      }
      free(frame);
      q += n;
    }
  }
  free(path);
  free(head);
}

// --- the registry ----------------------------------------------------------------

static void item_free(rp_plugins *p, rp_item *it) {
  if (it->ref != LUA_NOREF && it->ref != LUA_REFNIL)
    luaL_unref(p->lua->L, LUA_REGISTRYINDEX, it->ref);
  free(it->id);
  free(it->title);
  free(it->path);
  free(it->overrides_path);
  rp_schema_free(it->schema);
}

static void remove_item(rp_plugins *p, size_t i) {
  item_free(p, &p->items[i]);
  memmove(&p->items[i], &p->items[i + 1], (p->nitems - i - 1) * sizeof *p->items);
  p->nitems--;
}

bool rp_plugins_register(rp_plugins *p, rp_item_kind kind, const char *id, const char *title,
                         const char *path, int line, int ref, rp_buf *err) {
  const rp_plugin *cur = &p->plugins[p->loading];
  const char *ov_path = NULL;
  int ov_line = 0;
  char *ov_copy = NULL;
  // Hooks add up: every plugin's handler for an event runs.
  for (size_t i = 0; kind != RP_ITEM_HOOK && i < p->nitems; i++) {
    rp_item *it = &p->items[i];
    if (it->kind != kind || strcmp(it->id, id) != 0) continue;
    const rp_plugin *prev = &p->plugins[it->plugin];
    if (prev->dir == cur->dir) {
      rp_buf_printf(err, "%s '%s' is registered twice in one folder: at %s:%d and here",
                    rp_item_kind_name(kind), id, it->path, it->line);
      luaL_unref(p->lua->L, LUA_REGISTRYINDEX, ref);
      return false;
    }
    ov_copy = rp_xstrndup(it->path, strlen(it->path));
    ov_line = it->line;
    remove_item(p, i);
    break;
  }
  ov_path = ov_copy;
  if (p->nitems == p->itemcap) {
    p->itemcap = p->itemcap ? p->itemcap * 2 : 32;
    p->items = rp_xrealloc(p->items, p->itemcap * sizeof *p->items);
  }
  rp_item *it = &p->items[p->nitems++];
  memset(it, 0, sizeof *it);
  it->kind = kind;
  it->id = rp_xstrndup(id, strlen(id));
  it->title = title ? rp_xstrndup(title, strlen(title)) : NULL;
  it->path = rp_xstrndup(path, strlen(path));
  it->line = line;
  it->overrides_path = (char *)ov_path;
  it->overrides_line = ov_line;
  it->plugin = (size_t)p->loading;
  it->ref = ref;
  return true;
}

static void drop_items_of(rp_plugins *p, size_t plugin) {
  for (size_t i = p->nitems; i > 0; i--)
    if (p->items[i - 1].plugin == plugin) remove_item(p, i - 1);
}

// --- discovery -------------------------------------------------------------------

static rp_plugin *add_plugin(rp_plugins *p, const char *name, const char *path, const char *folder,
                             int dir, bool builtin) {
  // A plugin of the same name earlier on the path is replaced.
  char *replaces = NULL;
  for (size_t i = 0; i < p->nplugins; i++) {
    rp_plugin *old = &p->plugins[i];
    if (strcmp(old->name, name) != 0) continue;
    replaces = rp_xstrndup(old->path, strlen(old->path));
    free(old->name);
    free(old->path);
    free(old->folder);
    free(old->replaces_path);
    memmove(old, old + 1, (p->nplugins - i - 1) * sizeof *old);
    p->nplugins--;
    break;
  }
  p->plugins = rp_xrealloc(p->plugins, (p->nplugins + 1) * sizeof *p->plugins);
  rp_plugin *pl = &p->plugins[p->nplugins++];
  memset(pl, 0, sizeof *pl);
  pl->name = rp_xstrndup(name, strlen(name));
  pl->path = rp_xstrndup(path, strlen(path));
  pl->folder = folder ? rp_xstrndup(folder, strlen(folder)) : NULL;
  pl->dir = dir;
  pl->builtin = builtin;
  pl->replaces_path = replaces;
  pl->chunk_ref = LUA_NOREF;
  pl->module_ref = LUA_NOREF;
  return pl;
}

static bool valid_plugin_name(const char *s, size_t len) {
  if (len == 0 || s[0] == '.') return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// True when `path`, resolved, lies inside `root` (resolved): no symlink or
// ".." takes a plugin's files out of its folder.
static bool inside(const char *root_real, const char *path) {
  char real[PATH_MAX];
  if (!realpath(path, real)) return false;
  size_t n = strlen(root_real);
  return strncmp(real, root_real, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

static void scan_dir(rp_plugins *p, const char *dir, int dirno, rp_diags *diags) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno != ENOENT)
      rp_diags_add(diags, RP_SEV_ERROR, dir, 0, 0, "cannot read the plugin folder: %s",
                   strerror(errno));
    return;
  }
  char root_real[PATH_MAX];
  if (!realpath(dir, root_real)) {
    closedir(d);
    return;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    names = rp_xrealloc(names, (n + 1) * sizeof *names);
    names[n++] = rp_xstrndup(e->d_name, strlen(e->d_name));
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    const char *name = names[i];
    size_t len = strlen(name);
    rp_buf path = RP_BUF_INIT;
    rp_buf_printf(&path, "%s/%s", dir, name);
    struct stat st;
    if (stat(path.data, &st) != 0) {
      rp_buf_free(&path);
      continue;
    }
    if (S_ISREG(st.st_mode) && len > 4 && strcmp(name + len - 4, ".lua") == 0) {
      if (!valid_plugin_name(name, len - 4)) {
        rp_diags_add(diags, RP_SEV_WARNING, path.data, 0, 0,
                     "not loaded: plugin names use letters, digits, '_' and '-'");
      } else if (!inside(root_real, path.data)) {
        rp_diags_add(diags, RP_SEV_ERROR, path.data, 0, 0,
                     "not loaded: the file lies outside its plugin folder");
      } else {
        char *pname = rp_xstrndup(name, len - 4);
        add_plugin(p, pname, path.data, NULL, dirno, false);
        free(pname);
      }
    } else if (S_ISDIR(st.st_mode) && valid_plugin_name(name, len)) {
      rp_buf init = RP_BUF_INIT;
      rp_buf_printf(&init, "%s/init.lua", path.data);
      struct stat ist;
      if (stat(init.data, &ist) == 0 && S_ISREG(ist.st_mode)) {
        if (!inside(root_real, init.data))
          rp_diags_add(diags, RP_SEV_ERROR, init.data, 0, 0,
                       "not loaded: the file lies outside its plugin folder");
        else
          add_plugin(p, name, init.data, path.data, dirno, false);
      }
      rp_buf_free(&init);
    }
    rp_buf_free(&path);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static void scan_builtins(rp_plugins *p) {
  for (size_t i = 0; i < rp_builtin_nfiles; i++) {
    const char *path = rp_builtin_files[i].path;
    if (strncmp(path, "plugins/", 8) != 0) continue;
    const char *rest = path + 8;
    const char *slash = strchr(rest, '/');
    if (!slash) {
      size_t len = strlen(rest);
      if (len <= 4 || strcmp(rest + len - 4, ".lua") != 0) continue;
      char *name = rp_xstrndup(rest, len - 4);
      add_plugin(p, name, path, NULL, 0, true);
      free(name);
    } else if (strcmp(slash, "/init.lua") == 0) {
      char *name = rp_xstrndup(rest, (size_t)(slash - rest));
      char *folder = rp_xstrndup(path, (size_t)(slash - path));
      add_plugin(p, name, path, folder, 0, true);
      free(folder);
      free(name);
    }
  }
}

// --- reading sources -------------------------------------------------------------

static const rp_builtin_file *find_builtin(const char *path) {
  for (size_t i = 0; i < rp_builtin_nfiles; i++)
    if (strcmp(rp_builtin_files[i].path, path) == 0) return &rp_builtin_files[i];
  return NULL;
}

// Reads a plugin source file (or a built-in) into *out. Returns RP_OK or a
// status after reporting.
static int read_source(const char *path, bool builtin, rp_buf *out, rp_diags *diags) {
  if (builtin) {
    const rp_builtin_file *f = find_builtin(path);
    if (!f) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "built-in file missing");
      return RP_ENOTFOUND;
    }
    rp_buf_add(out, (const char *)f->data, f->len);
    return RP_OK;
  }
  return rp_read_file(path, RP_PLUGIN_MAX_SOURCE, out, diags);
}

// --- running chunks ----------------------------------------------------------------

// Pushes a fresh environment for plugin code: the sandbox plus `rapport`.
static void push_env(rp_plugins *p) {
  lua_State *L = p->lua->L;
  rp_sandbox_push_env(p->lua);
  rp_api_push(p);
  lua_setfield(L, -2, "rapport");
}

// A plugin whose require of a module that failed to load stopped it: the
// module's problem is reported once, at the module's own file; this plugin
// gets a note saying why it is not loaded. False for any other error.
static bool required_a_failed_module(rp_plugins *p, const rp_plugin *pl, const char *err,
                                     rp_diags *diags) {
  if (!p->failed_require[0] || !err) return false;
  char what[128];
  snprintf(what, sizeof what, "module '%s' failed to load", p->failed_require);
  if (!strstr(err, what)) return false;
  rp_diags_add(diags, RP_SEV_NOTE, pl->path, 0, 0,
               "not loaded: it requires '%s', which failed to load", p->failed_require);
  p->failed_require[0] = '\0';
  return true;
}

// Runs plugin i's compiled chunk in a fresh environment, keeping what it
// returns for require. Reports failures; returns RP_OK or a status.
static int run_plugin(rp_plugins *p, size_t i, rp_diags *diags) {
  lua_State *L = p->lua->L;
  rp_plugin *pl = &p->plugins[i];
  lua_rawgeti(L, LUA_REGISTRYINDEX, pl->chunk_ref);
  push_env(p);
  lua_setupvalue(L, -2, 1);  // the chunk's only upvalue is _ENV
  long saved = p->loading;
  p->loading = (long)i;
  char *err = NULL;
  int rc = rp_lua_pcall(p->lua, 0, 1, &err);
  p->loading = saved;
  if (rc != RP_OK) {
    if (!required_a_failed_module(p, pl, err, diags))
      rp_plugins_report(p, diags, pl->path, err ? err : "error");
    free(err);
    return rc;
  }
  if (pl->module_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, pl->module_ref);
  pl->module_ref = luaL_ref(L, LUA_REGISTRYINDEX);  // nil gives LUA_REFNIL
  return RP_OK;
}

// Loads a built-in plugin's bytecode, compiled from its source when the
// binary was built (util/builtin.h). False, with nothing pushed, when there
// is none or this Lua cannot read it (another Lua release than the build's):
// the caller compiles the source then.
static bool load_builtin_chunk(lua_State *L, const char *path, const char *name) {
  for (size_t i = 0; i < rp_builtin_nchunks; i++) {
    const rp_builtin_file *c = &rp_builtin_chunks[i];
    if (strcmp(c->path, path) != 0) continue;
    // Binary here only: this bytecode is the binary's own, never a file's.
    if (luaL_loadbufferx(L, (const char *)c->data, c->len, name, "b") == LUA_OK) return true;
    lua_pop(L, 1);
    return false;
  }
  return false;
}

// Compiles plugin pl's source and pushes the chunk; reports and returns a
// status when it cannot.
static int load_source(rp_plugins *p, const rp_plugin *pl, const char *name, rp_diags *diags) {
  lua_State *L = p->lua->L;
  rp_buf src = RP_BUF_INIT;
  int rc = read_source(pl->path, pl->builtin, &src, diags);
  // Text only: a precompiled chunk could break the VM's invariants.
  if (rc == RP_OK && luaL_loadbufferx(L, src.data ? src.data : "", src.len, name, "t") != LUA_OK) {
    rp_plugins_report(p, diags, pl->path, lua_tostring(L, -1));
    lua_pop(L, 1);
    rc = RP_ESYNTAX;
  }
  rp_buf_free(&src);
  return rc;
}

static int load_plugin(rp_plugins *p, size_t i, rp_diags *diags) {
  lua_State *L = p->lua->L;
  rp_plugin *pl = &p->plugins[i];
  rp_buf name = RP_BUF_INIT;
  rp_buf_printf(&name, "@%s", pl->path);
  int rc = RP_OK;
  if (!pl->builtin || !load_builtin_chunk(L, pl->path, name.data))
    rc = load_source(p, pl, name.data, diags);
  if (rc == RP_OK) {
    pl->chunk_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    rc = run_plugin(p, i, diags);
  }
  rp_buf_free(&name);
  if (rc != RP_OK) {
    pl->failed = true;
    drop_items_of(p, i);
  }
  return rc;
}

// require(name): another plugin by name (its chunk's return value).
static int require_module(void *ud, rp_lua *h, const char *name, char **errmsg) {
  rp_plugins *p = ud;
  lua_State *L = h->L;
  for (size_t i = 0; i < p->nplugins; i++) {
    rp_plugin *pl = &p->plugins[i];
    if (strcmp(pl->name, name) != 0) continue;
    if (pl->failed) {
      // Its problem was reported when it loaded: say only that it failed.
      snprintf(p->failed_require, sizeof p->failed_require, "%s", name);
      rp_buf m = RP_BUF_INIT;
      rp_buf_printf(&m, "module '%s' failed to load", name);
      *errmsg = rp_buf_detach(&m);
      return RP_EDATA;
    }
    if (pl->module_ref == LUA_NOREF) {
      // Not run yet (later on the path): run it now, once.
      if (p->requiring > 8) {
        *errmsg = rp_xstrndup("require nested too deeply (do two plugins require each other?)", 62);
        return RP_ELIMIT;
      }
      p->requiring++;
      rp_diags d = RP_DIAGS_INIT;
      // While the plugins load, the module reports its own problems where
      // every plugin does, once; otherwise its first problem is quoted.
      rp_diags *to = p->load_diags ? p->load_diags : &d;
      int rc = pl->chunk_ref == LUA_NOREF ? load_plugin(p, i, to) : run_plugin(p, i, to);
      p->requiring--;
      if (rc != RP_OK) {
        rp_buf m = RP_BUF_INIT;
        if (p->load_diags) {
          snprintf(p->failed_require, sizeof p->failed_require, "%s", name);
          rp_buf_printf(&m, "module '%s' failed to load", name);
        } else {
          rp_buf_printf(&m, "module '%s' failed to load: %s", name, d.n ? d.items[0].msg : "error");
        }
        *errmsg = rp_buf_detach(&m);
        rp_diags_free(&d);
        return rc;
      }
      rp_diags_free(&d);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->plugins[i].module_ref);
    return RP_OK;
  }
  rp_buf m = RP_BUF_INIT;
  rp_buf_printf(&m, "module '%s' not found: require finds other plugins by name", name);
  *errmsg = rp_buf_detach(&m);
  return RP_ENOTFOUND;
}

// --- the public API -------------------------------------------------------------------

// What plugins print goes to standard error as notes at their line: the
// sandbox has already capped how much a state may print. Each print is one
// line, its control characters escaped, so a plugin's text can never pose
// as a problem line or a summary of the run.
static void print_note(void *ud, const char *where, const char *text, size_t len) {
  const rp_plugins *p = ud;
  char *w = rp_xstrndup(where, strlen(where));
  char *colon = strrchr(w, ':');
  int line = 0;
  if (colon) {
    line = atoi(colon + 1);
    *colon = '\0';
  }
  rp_diag d = {RP_SEV_NOTE, (char *)full_path(p, w), line, 1, NULL};
  rp_buf msg = RP_BUF_INIT;
  rp_buf_add(&msg, text, len);
  d.msg = msg.data ? msg.data : (char *)"";
  char *s = rp_diag_format(&d);
  fprintf(stderr, "%s\n", s);
  free(s);
  rp_buf_free(&msg);
  free(w);
}

void rp_plugins_set_print(rp_plugins *p, rp_lua_print_fn fn, void *ud) {
  rp_lua_set_print(p->lua, fn, ud);
}

void rp_plugins_get_print(const rp_plugins *p, rp_lua_print_fn *fn, void **ud) {
  *fn = p->lua->print;
  *ud = p->lua->print_ud;
}

// Loading is over: what the plugins built is what every session starts
// from. The note types' schemas are built now, while their tables are as
// their plugins left them (a session could change a table, and the C side
// keeps the schema), then the state is snapshotted, unless the set serves
// one session only: a copy of the whole state would then never be used
// (the state is settled all the same).
static void freeze(rp_plugins *p) {
  for (size_t i = 0; i < p->nitems; i++) {
    rp_item *it = &p->items[i];
    if (it->kind == RP_ITEM_NOTE_TYPE && !it->schema) it->schema = rp_plugins_schema(p, it->id);
  }
  if (p->one_session)
    rp_lua_settle(p->lua);
  else
    rp_lua_snapshot(p->lua);
}

rp_plugins *rp_plugins_load(const rp_plugins_opts *opts, rp_diags *diags) {
  rp_plugins *p = rp_xcalloc(1, sizeof *p);
  p->loading = -1;
  p->one_session = opts && opts->one_session;
  p->lua = rp_lua_new(opts ? &opts->lua : NULL);
  if (!p->lua) rp_oom();
  rp_lua_set_require(p->lua, require_module, p);
  rp_lua_set_print(p->lua, print_note, p);
  if (!opts || opts->builtins) scan_builtins(p);
  for (size_t i = 0; opts && i < opts->ndirs; i++)
    scan_dir(p, opts->dirs[i], (int)i + 1, diags);
  p->load_diags = diags;
  for (size_t i = 0; i < p->nplugins; i++) {
    // A plugin another one required may have run already.
    if (p->plugins[i].chunk_ref == LUA_NOREF && !p->plugins[i].failed) load_plugin(p, i, diags);
  }
  p->load_diags = NULL;
  p->failed_require[0] = '\0';
  rp_plugins_check_references(p, diags);
  // rapport.on("loaded", fn): once everything is registered, for checks
  // across plugins. Registration is closed by then.
  for (size_t i = 0; i < p->nitems; i++) {
    const rp_item *it = &p->items[i];
    if (it->kind != RP_ITEM_HOOK || strcmp(it->id, "loaded") != 0) continue;
    char *path = rp_xstrndup(it->path, strlen(it->path));
    lua_rawgeti(p->lua->L, LUA_REGISTRYINDEX, it->ref);
    char *err = NULL;
    if (rp_lua_pcall(p->lua, 0, 0, &err) != RP_OK) rp_plugins_report(p, diags, path, err);
    free(err);
    free(path);
  }
  freeze(p);
  return p;
}

void rp_plugins_free(rp_plugins *p) {
  if (!p) return;
  for (size_t i = 0; i < p->nitems; i++)
    item_free(p, &p->items[i]);
  free(p->items);
  for (size_t i = 0; i < p->nplugins; i++) {
    free(p->plugins[i].name);
    free(p->plugins[i].path);
    free(p->plugins[i].folder);
    free(p->plugins[i].replaces_path);
  }
  free(p->plugins);
  rp_lua_free(p->lua);
  free(p);
}

size_t rp_plugins_count(const rp_plugins *p) {
  return p->nplugins;
}

void rp_plugins_plugin(const rp_plugins *p, size_t i, rp_plugin_info *out) {
  const rp_plugin *pl = &p->plugins[i];
  out->name = pl->name;
  out->path = pl->path;
  out->builtin = pl->builtin;
  out->failed = pl->failed;
  out->replaces_path = pl->replaces_path;
}

size_t rp_plugins_item_count(const rp_plugins *p, rp_item_kind kind) {
  size_t n = 0;
  for (size_t i = 0; i < p->nitems; i++)
    n += p->items[i].kind == kind;
  return n;
}

static const rp_item *nth_item(const rp_plugins *p, rp_item_kind kind, size_t n) {
  for (size_t i = 0; i < p->nitems; i++) {
    if (p->items[i].kind != kind) continue;
    if (n-- == 0) return &p->items[i];
  }
  return NULL;
}

bool rp_plugins_item(const rp_plugins *p, rp_item_kind kind, size_t i, rp_item_info *out) {
  const rp_item *it = nth_item(p, kind, i);
  if (!it) return false;
  out->kind = it->kind;
  out->id = it->id;
  out->title = it->title;
  out->path = it->path;
  out->line = it->line;
  out->overrides_path = it->overrides_path;
  out->overrides_line = it->overrides_line;
  return true;
}

int rp_plugins_reset(rp_plugins *p, rp_diags *diags) {
  (void)diags;
  rp_lua_restore(p->lua);
  return RP_OK;
}

// --- filters and lambdas ----------------------------------------------------------------

// Converts the value at the top of the Lua stack into a filter result: text
// and numbers are copied into the call's scratch buffer; nil gives missing.
static int filter_result(lua_State *L, const rp_filter_call *call) {
  int t = lua_type(L, -1);
  rp_fval *out = call->out;
  memset(out, 0, sizeof *out);
  switch (t) {
    case LUA_TNIL:
      out->missing = true;
      return RP_OK;
    case LUA_TBOOLEAN:
      out->kind = RP_KIND_BOOL;
      out->b = lua_toboolean(L, -1);
      return RP_OK;
    case LUA_TNUMBER:
      out->kind = RP_KIND_NUMBER;
      out->num = lua_tonumber(L, -1);
      if (lua_isinteger(L, -1)) {
        size_t at = call->scratch->len;
        rp_buf_printf(call->scratch, "%lld", (long long)lua_tointeger(L, -1));
        out->s = call->scratch->data + at;
        out->len = call->scratch->len - at;
      }
      return RP_OK;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      size_t at = call->scratch->len;
      rp_buf_add(call->scratch, s, len);
      out->kind = RP_KIND_STRING;
      out->s = call->scratch->data + at;
      out->len = len;
      return RP_OK;
    }
    default:
      *call->errmsg = rp_xstrndup("a filter must return text, a number, a boolean or nil", 53);
      return RP_EFILTER;
  }
}

// Whole numbers reach Lua as integers (4, not 4.0), as they were written.
static void push_number(lua_State *L, double x) {
  if (x == floor(x) && x >= -9007199254740992.0 && x <= 9007199254740992.0)
    lua_pushinteger(L, (lua_Integer)x);
  else
    lua_pushnumber(L, x);
}

// Pushes a filter's input as a Lua value: scalars as themselves, lists and
// maps of the context copied into tables (depth-bounded).
static void push_fval(lua_State *L, const rp_filter_call *call, const rp_fval *v, int depth);

static void push_ctx_value(lua_State *L, const rp_ctx *ctx, rp_value v, int depth) {
  luaL_checkstack(L, 4, "value nested too deeply");
  const rp_ctx_ops *ops = ctx->ops;
  switch (ops->kind(ctx->ud, v)) {
    case RP_KIND_NULL:
    case RP_KIND_LAMBDA:
      lua_pushnil(L);
      return;
    case RP_KIND_BOOL:
      lua_pushboolean(L, ops->boolean(ctx->ud, v));
      return;
    case RP_KIND_NUMBER:
      push_number(L, ops->number(ctx->ud, v));
      return;
    case RP_KIND_STRING: {
      size_t len = 0;
      const char *s = ops->str(ctx->ud, v, &len);
      lua_pushlstring(L, s, len);
      return;
    }
    case RP_KIND_LIST: {
      if (depth >= 64) {
        lua_pushnil(L);
        return;
      }
      size_t n = ops->len(ctx->ud, v);
      lua_createtable(L, n < 4096 ? (int)n : 4096, 0);
      // The context may keep its values on this very stack (t.render's
      // data): address the table by its absolute index, and let release
      // drop what `at` pushed only after the copy is stored.
      int tab = lua_gettop(L);
      for (size_t i = 0; i < n; i++) {
        size_t m = ops->mark ? ops->mark(ctx->ud) : 0;
        push_ctx_value(L, ctx, ops->at(ctx->ud, v, i), depth + 1);
        lua_rawseti(L, tab, (lua_Integer)i + 1);
        if (ops->release) ops->release(ctx->ud, m);
      }
      return;
    }
    case RP_KIND_MAP:
      // Maps reach filters as empty tables: the interface has no key
      // iteration, and filters work on text and lists.
      lua_newtable(L);
      return;
  }
}

static void push_fval(lua_State *L, const rp_filter_call *call, const rp_fval *v, int depth) {
  if (v->missing) {
    lua_pushnil(L);
  } else if (v->from_ctx) {
    push_ctx_value(L, call->ctx, v->v, depth);
  } else if (v->kind == RP_KIND_BOOL) {
    lua_pushboolean(L, v->b);
  } else if (v->kind == RP_KIND_NUMBER) {
    push_number(L, v->num);
  } else if (v->kind == RP_KIND_STRING) {
    lua_pushlstring(L, v->s, v->len);
  } else {
    lua_pushnil(L);
  }
}

static int plugin_filter(const rp_filter_call *call, void *ud) {
  rp_plugins *p = call->user;
  size_t index = (size_t)(uintptr_t)ud;
  if (!p) {
    *call->errmsg = rp_xstrndup("plugin filters need their plugins at render time", 48);
    return RP_EFILTER;
  }
  const rp_item *it = nth_item(p, RP_ITEM_FILTER, index);
  if (!it) {
    *call->errmsg = rp_xstrndup("the plugin that defined this filter is disabled", 47);
    return RP_EFILTER;
  }
  lua_State *L = p->lua->L;
  int top = lua_gettop(L);
  luaL_checkstack(L, (int)call->nargs + 4, "too many filter arguments");
  lua_rawgeti(L, LUA_REGISTRYINDEX, it->ref);
  push_fval(L, call, call->in, 0);
  for (size_t i = 0; i < call->nargs; i++) {
    if (call->args[i].is_number)
      push_number(L, call->args[i].num);
    else
      lua_pushlstring(L, call->args[i].s, call->args[i].len);
  }
  int rc = rp_lua_pcall(p->lua, (int)call->nargs + 1, 1, call->errmsg);
  if (rc != RP_OK) rp_lua_strip_traceback(*call->errmsg);
  if (rc == RP_OK) rc = filter_result(L, call);
  lua_settop(L, top);
  return rc == RP_OK ? RP_OK : RP_EFILTER;
}

void rp_plugins_add_filters(const rp_plugins *p, rp_filters *f) {
  size_t n = 0;
  for (size_t i = 0; i < p->nitems; i++) {
    if (p->items[i].kind != RP_ITEM_FILTER) continue;
    rp_filters_add(f, p->items[i].id, plugin_filter, (void *)(uintptr_t)n);
    n++;
  }
}

int rp_plugins_call_lambda(rp_plugins *p, size_t i, const char *text, size_t len, rp_buf *out,
                           char **errmsg) {
  const rp_item *it = nth_item(p, RP_ITEM_LAMBDA, i);
  if (!it) {
    *errmsg = rp_xstrndup("no such lambda", 14);
    return RP_ELAMBDA;
  }
  int rc = rp_lua_call_lambda(p->lua, it->ref, text, len, out, errmsg);
  if (rc != RP_OK) rp_lua_strip_traceback(*errmsg);
  return rc;
}

// --- tests ---------------------------------------------------------------------------------

void rp_plugins_run_tests(rp_plugins *p, const char *match, bool builtin, rp_test_result *result,
                          rp_diags *diags) {
  lua_State *L = p->lua->L;
  size_t n = rp_plugins_item_count(p, RP_ITEM_TEST);
  for (size_t k = 0; k < n; k++) {
    const rp_item *it = nth_item(p, RP_ITEM_TEST, k);
    if (!it) break;
    if (match && !strstr(it->id, match)) continue;
    if (p->plugins[it->plugin].builtin && !builtin) continue;
    // Each test starts from the plugins as they were loaded, as a session
    // does: nothing one test stores reaches the next.
    rp_lua_restore(p->lua);
    char *id = rp_xstrndup(it->id, strlen(it->id));
    char *path = rp_xstrndup(it->path, strlen(it->path));
    int line = it->line;
    lua_rawgeti(L, LUA_REGISTRYINDEX, it->ref);
    rp_api_push_test_helpers(p);
    char *err = NULL;
    int rc = rp_lua_pcall(p->lua, 1, 0, &err);
    if (rc == RP_OK) {
      result->passed++;
    } else {
      result->failed++;
      rp_diags d = RP_DIAGS_INIT;
      rp_plugins_report(p, &d, path, err ? err : "error");
      if (d.n) {
        // Where it failed when that is known; at the test's line otherwise.
        if (d.items[0].line == 0 || strcmp(d.items[0].path, path) != 0) {
          if (d.items[0].line == 0) {
            free(d.items[0].path);
            d.items[0].path = rp_xstrndup(path, strlen(path));
            d.items[0].line = line;
            d.items[0].col = 1;
          }
        }
        rp_buf msg = RP_BUF_INIT;
        rp_buf_printf(&msg, "test '%s' failed: %s", id, d.items[0].msg);
        free(d.items[0].msg);
        d.items[0].msg = rp_buf_detach(&msg);
      }
      rp_diags_move(diags, &d);
      rp_diags_free(&d);
    }
    free(err);
    free(id);
    free(path);
  }
}

int rp_plugins_session_begin(rp_plugins *p, const char *path, rp_diags *diags) {
  // Without a snapshot nothing could undo the first session: a second one
  // is a mistake of the caller, refused rather than run on what the first
  // left behind.
  if (p->one_session && p->sessions++ > 0) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                 "internal error: the plugins were loaded for one session only");
    return RP_EDATA;
  }
  // The whole Lua state goes back to the snapshot rp_plugins_load took:
  // whatever the last session (or anything else since) changed, through
  // any path a plugin can reach, is undone, and the built-in plugins take
  // this path as every other plugin does.
  rp_lua_restore(p->lua);
  return RP_OK;
}

void rp_plugins_session_end(rp_plugins *p, bool failed) {
  // The next session_begin restores; nothing a failed session left behind
  // survives it either.
  (void)p;
  (void)failed;
}

void rp_plugins_set_time(rp_plugins *p, long long now) {
  rp_lua_set_time(p->lua, now);
}
