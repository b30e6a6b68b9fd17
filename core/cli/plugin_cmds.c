// `rapport list`, `rapport check` and `rapport test`: the commands about
// plugins and templates on the search path.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "data/data.h"
#include "schema/schema.h"
#include "lua/plugins.h"
#include "template/template.h"
#include "util/builtin.h"
#include "util/file.h"

void rp_cli_search_path(const rp_cli *cli, const char *kind, const char ***dirs, size_t *n) {
  const char **list = cli->plugin_dirs;
  size_t count = cli->nplugin_dirs;
  if (strcmp(kind, "templates") == 0) {
    list = cli->template_dirs;
    count = cli->ntemplate_dirs;
  }
  *dirs = rp_xcalloc(count + 1, sizeof **dirs);
  (*dirs)[0] = kind;  // the workspace's own folder: "plugins" or "templates"
  for (size_t i = 0; i < count; i++)
    (*dirs)[i + 1] = list[i];
  *n = count + 1;
}

rp_plugins *rp_cli_load_plugins(const rp_cli *cli, const char **extra, size_t nextra,
                                rp_diags *diags) {
  const char **dirs;
  size_t n;
  rp_cli_search_path(cli, "plugins", &dirs, &n);
  dirs = rp_xrealloc(dirs, (n + nextra) * sizeof *dirs);
  for (size_t i = 0; i < nextra; i++)
    dirs[n++] = extra[i];
  rp_plugins_opts po = {0};
  po.builtins = true;
  po.dirs = dirs;
  po.ndirs = n;
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

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// --- list -------------------------------------------------------------------------

static const char *const builtin_filters[] = {"upper", "lower", "default", "join",
                                              "date",  "count", NULL};

static void list_kind(const rp_plugins *p, rp_item_kind kind, const char *heading) {
  size_t n = rp_plugins_item_count(p, kind);
  bool filters = kind == RP_ITEM_FILTER;
  if (n == 0 && !filters) return;
  printf("%s\n", heading);
  if (filters) {
    for (const char *const *f = builtin_filters; *f; f++) {
      bool replaced = false;
      rp_item_info it;
      for (size_t i = 0; rp_plugins_item(p, kind, i, &it); i++)
        replaced |= strcmp(it.id, *f) == 0;
      if (!replaced) printf("  %-18s built in\n", *f);
    }
  }
  rp_item_info it;
  for (size_t i = 0; rp_plugins_item(p, kind, i, &it); i++) {
    printf("  %-18s %s:%d", it.id, it.path, it.line);
    if (it.title) printf("  %s", it.title);
    if (it.overrides_path) printf("  (overrides %s:%d)", it.overrides_path, it.overrides_line);
    if (filters) {
      for (const char *const *f = builtin_filters; *f; f++)
        if (strcmp(it.id, *f) == 0) printf("  (overrides the built-in filter)");
    }
    printf("\n");
  }
  printf("\n");
}

int rp_cmd_list(rp_cli *cli, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      rp_cli_help("list");
      return RP_EXIT_OK;
    }
    return rp_cli_usage_error("list", "unexpected argument '%s'", argv[i]);
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_cli_load_plugins(cli, NULL, 0, &diags);
  list_kind(p, RP_ITEM_NOTE_TYPE, "Note types");
  list_kind(p, RP_ITEM_CHECKLIST, "Checklists");
  list_kind(p, RP_ITEM_MEASURE, "Measures");
  list_kind(p, RP_ITEM_FILTER, "Filters");
  list_kind(p, RP_ITEM_LAMBDA, "Lambdas");
  list_kind(p, RP_ITEM_HOOK, "Event handlers");
  printf("Plugins\n");
  for (size_t i = 0; i < rp_plugins_count(p); i++) {
    rp_plugin_info pi;
    rp_plugins_plugin(p, i, &pi);
    printf("  %-18s %s", pi.name, pi.path);
    if (pi.builtin) printf(" (built in)");
    if (pi.failed) printf(" (failed to load: disabled)");
    if (pi.replaces_path) printf(" (replaces %s)", pi.replaces_path);
    printf("\n");
  }
  rp_diags_print(&diags, stderr);
  int status = diags.errors ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_diags_free(&diags);
  rp_plugins_free(p);
  return status;
}

// --- check ------------------------------------------------------------------------

static size_t check_template_file(const char *path, rp_library *lib, rp_diags *diags) {
  rp_buf b = RP_BUF_INIT;
  if (rp_read_file(path, (size_t)64 << 20, &b, diags) == RP_OK)
    rp_template_free(rp_template_compile(lib, path, b.data ? b.data : "", b.len, diags));
  rp_buf_free(&b);
  return 1;
}

static size_t check_template_dir(const char *dir, rp_library *lib, rp_diags *diags) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t count = 0;
  struct dirent *e;
  char **names = NULL;
  size_t n = 0;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || len <= 9 || strcmp(e->d_name + len - 9, ".mustache") != 0) continue;
    names = rp_xrealloc(names, (n + 1) * sizeof *names);
    names[n++] = rp_xstrndup(e->d_name, len);
  }
  closedir(d);
  for (size_t i = 0; i < n; i++) {
    rp_buf path = RP_BUF_INIT;
    rp_buf_printf(&path, "%s/%s", dir, names[i]);
    count += check_template_file(path.data, lib, diags);
    rp_buf_free(&path);
    free(names[i]);
  }
  free(names);
  return count;
}

static bool has_ext(const char *path, const char *ext) {
  size_t a = strlen(path), b = strlen(ext);
  return a > b && strcasecmp(path + a - b, ext) == 0;
}

static bool is_session_file(const char *path) {
  return has_ext(path, ".yaml") || has_ext(path, ".yml") || has_ext(path, ".json");
}

// Checks one session file as rendering would (its note type's fields and
// rules, its checklists' answers, its measures), without writing a note.
static bool check_session(rp_plugins *p, const char *path, rp_diags *diags) {
  rp_doc *doc = rp_doc_new();
  rp_value note;
  char *layout = NULL;
  bool ok = rp_note_build(p, path, doc, &note, &layout, diags) == RP_OK;
  free(layout);
  rp_doc_free(doc);
  return ok;
}

// --- layouts against their note types -----------------------------------------------

typedef struct xcheck {
  const rp_schema *schema;
  rp_diags *diags;
} xcheck;

static const rp_field *find_field(const rp_field *fields, size_t n, const char *id, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(fields[i].id) == len && strncmp(fields[i].id, id, len) == 0) return &fields[i];
  return NULL;
}

// A name the layout looks up in the note's root must be one the note has:
// a field of the note type (down its groups), a checklist's or the
// measures' data, or what the plugins compute (checklists, scores,
// note_type). Names inside sections are looked up in list items and groups
// first, so only root names are checked.
static void check_layout_name(void *ud, const char *path, const char *name, int line, int col,
                              int depth) {
  xcheck *x = ud;
  if (depth > 0 || strcmp(name, ".") == 0) return;
  static const char *const computed[] = {"checklists", "scores", "note_type", "type"};
  const char *dot = strchr(name, '.');
  size_t len = dot ? (size_t)(dot - name) : strlen(name);
  for (size_t i = 0; i < sizeof computed / sizeof *computed; i++)
    if (strlen(computed[i]) == len && strncmp(computed[i], name, len) == 0) return;
  for (size_t i = 0; i < x->schema->npassthrough; i++)
    if (strlen(x->schema->passthrough[i]) == len &&
        strncmp(x->schema->passthrough[i], name, len) == 0)
      return;
  const rp_field *f = find_field(x->schema->fields, x->schema->nfields, name, len);
  const char *rest = dot ? dot + 1 : NULL;
  while (f && rest && f->type == RP_FIELD_OBJECT) {
    const char *d2 = strchr(rest, '.');
    size_t l2 = d2 ? (size_t)(d2 - rest) : strlen(rest);
    f = find_field(f->fields, f->nfields, rest, l2);
    rest = d2 ? d2 + 1 : NULL;
  }
  if (!f)
    rp_diags_add(x->diags, RP_SEV_WARNING, path, line, col,
                 "the layout uses '%s', which note type '%s' does not have", name, x->schema->id);
}

static void check_layouts(const rp_cli *cli, rp_plugins *p, const rp_filters *filters,
                          rp_diags *diags) {
  const char **handle;
  rp_library *lib = rp_cli_layouts(cli, filters, false, &handle);
  rp_item_info it;
  for (size_t i = 0; rp_plugins_item(p, RP_ITEM_NOTE_TYPE, i, &it); i++) {
    rp_schema *s = rp_plugins_schema(p, it.id);
    if (!s) continue;
    char *layout = rp_plugins_layout(p, it.id);
    rp_buf name = RP_BUF_INIT;
    rp_buf_printf(&name, "%s.md", layout ? layout : it.id);
    // A note type whose layout is not written yet is rapport render's to
    // report, with the session it could not render.
    rp_template *t = rp_library_get(lib, name.data, name.len, diags);
    if (t) {
      xcheck x = {s, diags};
      rp_template_walk_names(t, check_layout_name, &x, diags);
    }
    rp_buf_free(&name);
    free(layout);
    rp_schema_free(s);
  }
  rp_cli_layouts_free(lib, handle);
}

static void collect_sessions(const char *dir, const char ***list, size_t *n, int depth) {
  DIR *d = opendir(dir);
  if (!d || depth > 8) {
    if (d) closedir(d);
    return;
  }
  char **names = NULL;
  size_t count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    names = rp_xrealloc(names, (count + 1) * sizeof *names);
    names[count++] = rp_xstrndup(e->d_name, strlen(e->d_name));
  }
  closedir(d);
  if (count) qsort(names, count, sizeof *names, cmp_name);
  for (size_t i = 0; i < count; i++) {
    rp_buf path = RP_BUF_INIT;
    rp_buf_printf(&path, "%s/%s", dir, names[i]);
    if (is_dir(path.data)) {
      collect_sessions(path.data, list, n, depth + 1);
      rp_buf_free(&path);
    } else if (is_session_file(path.data)) {
      *list = rp_xrealloc(*list, (*n + 1) * sizeof **list);
      (*list)[(*n)++] = rp_buf_detach(&path);
    } else {
      rp_buf_free(&path);
    }
    free(names[i]);
  }
  free(names);
}

int rp_cmd_check(rp_cli *cli, int argc, char **argv) {
  const char **templates = rp_xcalloc((size_t)argc, sizeof *templates);
  size_t ntemplates = 0;
  const char **sessions = NULL;
  size_t nsessions = 0;
  bool any_path = false;
  int status = RP_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("check");
      goto done;
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("check", "unknown option '%s'", a);
      goto done;
    }
    any_path = true;
    if (has_ext(a, ".mustache")) {
      templates[ntemplates++] = a;
    } else if (is_dir(a)) {
      collect_sessions(a, &sessions, &nsessions, 0);
    } else if (is_session_file(a)) {
      sessions = rp_xrealloc(sessions, (nsessions + 1) * sizeof *sessions);
      sessions[nsessions++] = rp_xstrndup(a, strlen(a));
    } else {
      status = rp_cli_usage_error(
          "check",
          "cannot check '%s': give session files (.yaml, .json), folders of them, or "
          "templates (.mustache)",
          a);
      goto done;
    }
  }
  // Without paths: the workspace's sessions/.
  if (!any_path && is_dir("sessions")) collect_sessions("sessions", &sessions, &nsessions, 0);
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_cli_load_plugins(cli, NULL, 0, &diags);
  size_t nplugins = rp_plugins_count(p);
  // Templates: every .mustache file on the template search path, compiled
  // with every filter the plugins define.
  rp_filters *filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  rp_plugins_add_filters(p, filters);
  rp_library_opts lo = {NULL, NULL, filters, false, 0};
  rp_library *lib = rp_library_new(&lo);
  size_t ntpl = 0;
  for (size_t i = 0; i < rp_builtin_nfiles; i++) {
    const rp_builtin_file *f = &rp_builtin_files[i];
    if (!has_ext(f->path, ".mustache")) continue;
    rp_template_free(rp_template_compile(lib, f->path, (const char *)f->data, f->len, &diags));
    ntpl++;
  }
  const char **tdirs;
  size_t ntdirs;
  rp_cli_search_path(cli, "templates", &tdirs, &ntdirs);
  for (size_t i = 0; i < ntdirs; i++)
    ntpl += check_template_dir(tdirs[i], lib, &diags);
  free(tdirs);
  for (size_t i = 0; i < ntemplates; i++)
    ntpl += check_template_file(templates[i], lib, &diags);
  check_layouts(cli, p, filters, &diags);
  size_t valid = 0;
  for (size_t i = 0; i < nsessions; i++) {
    // As render does: nothing of one session carries over to the next.
    if (rp_plugins_session_begin(p, sessions[i], &diags) != RP_OK) continue;
    bool ok = check_session(p, sessions[i], &diags);
    rp_plugins_session_end(p, !ok);
    valid += ok;
  }
  rp_diags_print(&diags, stderr);
  if (!cli->quiet || diags.errors)
    fprintf(stderr,
            "rapport: checked %zu plugin%s, %zu template%s and %zu session%s: %zu problem%s\n",
            nplugins, nplugins == 1 ? "" : "s", ntpl, ntpl == 1 ? "" : "s", nsessions,
            nsessions == 1 ? "" : "s", diags.errors, diags.errors == 1 ? "" : "s");
  (void)valid;
  status = diags.errors ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_library_free(lib);
  rp_filters_free(filters);
  rp_plugins_free(p);
  rp_diags_free(&diags);
done:
  for (size_t i = 0; i < nsessions; i++)
    free((char *)sessions[i]);
  free(sessions);
  free(templates);
  return status;
}

// --- test ---------------------------------------------------------------------------

int rp_cmd_test(rp_cli *cli, int argc, char **argv) {
  const char **extra = rp_xcalloc((size_t)argc, sizeof *extra);
  size_t nextra = 0;
  const char *match = NULL;
  bool builtin = false;
  int status = RP_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("test");
      goto done;
    } else if (strcmp(a, "--builtin") == 0) {
      builtin = true;
    } else if (strcmp(a, "--match") == 0 || strncmp(a, "--match=", 8) == 0) {
      match = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
      if (!match) {
        status = rp_cli_usage_error("test", "option '--match' needs some text");
        goto done;
      }
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("test", "unknown option '%s'", a);
      goto done;
    } else if (is_dir(a)) {
      extra[nextra++] = a;
    } else {
      status = rp_cli_usage_error("test", "'%s' is not a plugin folder", a);
      goto done;
    }
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_cli_load_plugins(cli, extra, nextra, &diags);
  size_t load_errors = diags.errors;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  rp_test_result r = {0, 0};
  rp_plugins_run_tests(p, match, builtin, &r, &diags);
  rp_diags_print(&diags, stderr);
  printf("%zu passed, %zu failed\n", r.passed, r.failed);
  if (load_errors)
    fprintf(stderr, "rapport: %zu plugin problem%s (see above): their tests did not run\n",
            load_errors, load_errors == 1 ? "" : "s");
  status = (r.failed || load_errors) ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_diags_free(&diags);
  rp_plugins_free(p);
done:
  free(extra);
  return status;
}
