// `rapport list`, `rapport check` and `rapport test`: the commands about
// plugins and templates on the search path.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "notes/notes.h"
#include "schema/schema.h"
#include "util/dir.h"
#include "util/file.h"

// --- list -------------------------------------------------------------------------

static const char *const builtin_filters[] = {"upper", "lower", "default", "join",
                                              "date",  "count", NULL};

// What a plugin named or titled, on one line: control characters escaped
// as every printed problem has them (a title cannot fake a line of the list).
static const char *one_line(rp_buf *b, const char *s) {
  rp_buf_clear(b);
  rp_diag_escape(b, s, strlen(s));
  return b->data ? b->data : "";
}

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
  rp_buf a = RP_BUF_INIT, b = RP_BUF_INIT;
  for (size_t i = 0; rp_plugins_item(p, kind, i, &it); i++) {
    printf("  %-18s %s:%d", one_line(&a, it.id), one_line(&b, it.path), it.line);
    if (it.title) printf("  %s", one_line(&a, it.title));
    if (it.overrides_path)
      printf("  (overrides %s:%d)", one_line(&a, it.overrides_path), it.overrides_line);
    if (filters) {
      for (const char *const *f = builtin_filters; *f; f++)
        if (strcmp(it.id, *f) == 0) printf("  (overrides the built-in filter)");
    }
    printf("\n");
  }
  rp_buf_free(&a);
  rp_buf_free(&b);
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
  rp_plugins *p = rp_workspace_load_plugins(&cli->ws, NULL, 0, true, &diags);  // no session runs
  list_kind(p, RP_ITEM_NOTE_TYPE, "Note types");
  list_kind(p, RP_ITEM_CHECKLIST, "Checklists");
  list_kind(p, RP_ITEM_MEASURE, "Measures");
  list_kind(p, RP_ITEM_FILTER, "Filters");
  list_kind(p, RP_ITEM_LAMBDA, "Lambdas");
  list_kind(p, RP_ITEM_HOOK, "Event handlers");
  printf("Plugins\n");
  rp_buf a = RP_BUF_INIT, b = RP_BUF_INIT;
  for (size_t i = 0; i < rp_plugins_count(p); i++) {
    rp_plugin_info pi;
    rp_plugins_plugin(p, i, &pi);
    printf("  %-18s %s", one_line(&a, pi.name), one_line(&b, pi.path));
    if (pi.builtin) printf(" (built in)");
    if (pi.failed) printf(" (failed to load: disabled)");
    if (pi.replaces_path) printf(" (replaces %s)", one_line(&a, pi.replaces_path));
    printf("\n");
  }
  rp_buf_free(&a);
  rp_buf_free(&b);
  rp_diags_print(&diags, stderr);
  int status = diags.errors ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_diags_free(&diags);
  rp_plugins_free(p);
  return status;
}

// --- check ------------------------------------------------------------------------

typedef struct tpl_check {
  rp_library *lib;
  rp_diags *diags;
  size_t count;
} tpl_check;

// Compiles one template (src NULL: read the file) for its problems.
static void check_template(void *ud, const char *path, const char *src, size_t len) {
  tpl_check *tc = ud;
  rp_buf b = RP_BUF_INIT;
  if (!src && rp_read_file(path, (size_t)64 << 20, &b, tc->diags) == RP_OK) {
    src = b.data ? b.data : "";
    len = b.len;
  }
  if (src) rp_template_free(rp_template_compile(tc->lib, path, src, len, tc->diags));
  rp_buf_free(&b);
  tc->count++;
}

// Checks one session file as rendering would (its note type's fields and
// rules, its checklists' answers, its measures), without writing a note.
static bool check_session(rp_notes *n, const char *path, rp_diags *diags) {
  rp_note note = RP_NOTE_INIT;
  rp_session_src src = {.path = path};
  bool ok = rp_notes_build(n, &src, &note, diags) == RP_OK;
  rp_note_clear(&note);
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
// measures' data, what the plugins compute (checklists, scores,
// note_type), or what the signed record adds (signature). Names inside sections are looked up in
// list items and groups first, so only root names are checked.
static void check_layout_name(void *ud, const char *path, const char *name, int line, int col,
                              int depth) {
  xcheck *x = ud;
  if (depth > 0 || strcmp(name, ".") == 0) return;
  static const char *const computed[] = {"checklists", "scores", "note_type", "type", "signature"};
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
  rp_library *lib = rp_workspace_layouts(&cli->ws, filters, false);
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
  rp_workspace_layouts_free(lib);
}

typedef struct session_list {
  const char **paths;
  size_t n;
} session_list;

static void add_session(void *ud, const char *path) {
  session_list *l = ud;
  l->paths = rp_xrealloc(l->paths, (l->n + 1) * sizeof *l->paths);
  l->paths[l->n++] = rp_xstrndup(path, strlen(path));
}

int rp_cmd_check(rp_cli *cli, int argc, char **argv) {
  const char **templates = rp_xcalloc((size_t)argc, sizeof *templates);
  size_t ntemplates = 0;
  session_list sl = {0};
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
    if (rp_workspace_is_template(a)) {
      templates[ntemplates++] = a;
    } else if (rp_is_dir(a)) {
      rp_workspace_each_session(a, NULL, add_session, &sl);
    } else if (rp_workspace_is_session(a)) {
      add_session(&sl, a);
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
  if (!any_path) rp_workspace_each_session("sessions", NULL, add_session, &sl);
  rp_diags diags = RP_DIAGS_INIT;
  rp_notes *n = rp_notes_new(&cli->ws, NULL, &diags);
  rp_plugins *p = rp_notes_plugins(n);
  size_t nplugins = rp_plugins_count(p);
  // Templates: every .mustache file on the template search path, compiled
  // with every filter the plugins define.
  rp_filters *filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  rp_plugins_add_filters(p, filters);
  rp_library_opts lo = {.filters = filters};
  rp_library *lib = rp_library_new(&lo);
  tpl_check tc = {lib, &diags, 0};
  rp_workspace_each_template(&cli->ws, check_template, &tc);
  for (size_t i = 0; i < ntemplates; i++)
    check_template(&tc, templates[i], NULL, 0);
  size_t ntpl = tc.count;
  check_layouts(cli, p, filters, &diags);
  for (size_t i = 0; i < sl.n; i++)
    check_session(n, sl.paths[i], &diags);
  rp_diags_print(&diags, stderr);
  if (!cli->quiet || diags.errors)
    fprintf(stderr,
            "rapport: checked %zu plugin%s, %zu template%s and %zu session%s: %zu problem%s\n",
            nplugins, nplugins == 1 ? "" : "s", ntpl, ntpl == 1 ? "" : "s", sl.n,
            sl.n == 1 ? "" : "s", diags.errors, diags.errors == 1 ? "" : "s");
  status = diags.errors ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_library_free(lib);
  rp_filters_free(filters);
  rp_notes_free(n);
  rp_diags_free(&diags);
done:
  for (size_t i = 0; i < sl.n; i++)
    free((char *)sl.paths[i]);
  free(sl.paths);
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
    } else if (rp_is_dir(a)) {
      extra[nextra++] = a;
    } else {
      status = rp_cli_usage_error("test", "'%s' is not a plugin folder", a);
      goto done;
    }
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_workspace_load_plugins(&cli->ws, extra, nextra, false, &diags);
  size_t load_errors = diags.errors;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  rp_test_result r = {0, 0};
  rp_plugins_run_tests(p, match, builtin, &r, &diags);
  rp_diags_print(&diags, stderr);
  printf("%zu passed, %zu failed\n", r.passed, r.failed);
  // A --match that selects nothing is a mistake (a typo in the name), not
  // a pass.
  bool none = match && r.passed + r.failed == 0;
  if (none) fprintf(stderr, "rapport: error: no test name contains '%s'\n", match);
  if (load_errors)
    fprintf(stderr, "rapport: %zu plugin problem%s (see above): their tests did not run\n",
            load_errors, load_errors == 1 ? "" : "s");
  status = (r.failed || load_errors || none) ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_diags_free(&diags);
  rp_plugins_free(p);
done:
  free(extra);
  return status;
}
