// `rapport mustache`: plain Mustache rendering of data files.
//
// The template compiles once; each DATA file (or each line of a .jsonl file)
// is parsed into a reusable data tree, rendered, and written out. Output goes
// through one buffer flushed in large writes, so a batch of thousands of
// contexts costs a few system calls, and the tree of a .jsonl line is reset,
// not freed, so memory stays flat however long the file is.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/batch.h"
#include "cli/cli.h"
#include "data/data.h"
#include "template/template.h"
#include "util/file.h"

enum { FLUSH_AT = 256 * 1024, TEMPLATE_MAX = 64 << 20 };

typedef struct partial_dirs {
  const char **dirs;
  size_t n;
} partial_dirs;

// Partial names are looked up as files, so they may not climb out of the
// folders they are searched in.
static bool safe_partial_name(const char *name, size_t len) {
  if (len == 0 || name[0] == '/' || memchr(name, '\0', len)) return false;
  const char *p = name, *end = name + len;
  while (p < end) {
    const char *slash = memchr(p, '/', (size_t)(end - p));
    size_t seg = slash ? (size_t)(slash - p) : (size_t)(end - p);
    if (seg == 0 || (seg == 2 && p[0] == '.' && p[1] == '.')) return false;
    p += seg + 1;
  }
  return true;
}

static int read_file(const char *path, char **out, size_t *outlen, size_t max, rp_diags *diags) {
  rp_buf b = RP_BUF_INIT;
  int rc = rp_read_file(path, max, &b, diags);
  *outlen = b.len;
  *out = rp_buf_detach(&b);
  return rc;
}

static int load_partial(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                        char **path, rp_diags *diags) {
  partial_dirs *pd = ud;
  if (!safe_partial_name(name, namelen)) return 0;
  for (size_t i = 0; i < pd->n; i++) {
    rp_buf p = RP_BUF_INIT;
    rp_buf_printf(&p, "%s/%.*s.mustache", pd->dirs[i], (int)namelen, name);
    struct stat st;
    if (stat(p.data, &st) == 0 && S_ISREG(st.st_mode)) {
      int rc = read_file(p.data, src, srclen, TEMPLATE_MAX, diags);
      if (rc != RP_OK) {
        rp_buf_free(&p);
        return rc;
      }
      *path = rp_buf_detach(&p);
      return 1;
    }
    rp_buf_free(&p);
  }
  return 0;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef struct run {
  rp_template *t;
  const rp_cli *cli;
  bool plugins;  // --plugins given: plugin filters and lambdas are available
  rp_buf out;
  rp_diags diags;
  bool problems;
} run;

static void flush(run *r, bool force) {
  if (r->out.len && (force || r->out.len >= FLUSH_AT)) {
    fwrite(r->out.data, 1, r->out.len, stdout);
    rp_buf_clear(&r->out);
  }
}

// What one thread renders with: its data tree and, with --plugins, its own
// plugin set (Lua states are not shared between threads).
typedef struct renderer {
  const run *r;
  const char *path;  // the JSONL file being read, for messages
  rp_doc *doc;
  rp_plugins *plugins;
  struct lambda_slot *slots;
  size_t nslots;
} renderer;

typedef struct lambda_slot {
  renderer *w;
  size_t index;
} lambda_slot;

static int call_lambda(void *fn_ud, const char *text, size_t len, rp_buf *out, char **errmsg) {
  lambda_slot *s = fn_ud;
  return rp_plugins_call_lambda(s->w->plugins, s->index, text, len, out, errmsg);
}

static renderer *renderer_new(const run *r, rp_plugins *plugins) {
  renderer *w = rp_xcalloc(1, sizeof *w);
  w->r = r;
  w->doc = rp_doc_new();
  w->plugins = plugins;
  if (plugins) {
    w->nslots = rp_plugins_item_count(plugins, RP_ITEM_LAMBDA);
    w->slots = rp_xcalloc(w->nslots ? w->nslots : 1, sizeof *w->slots);
    for (size_t i = 0; i < w->nslots; i++)
      w->slots[i] = (lambda_slot){w, i};
  }
  return w;
}

static void renderer_free(renderer *w, bool owns_plugins) {
  if (owns_plugins) rp_plugins_free(w->plugins);
  rp_doc_free(w->doc);
  free(w->slots);
  free(w);
}

// Renders `root` (a value of doc) and appends the result to out; a failed
// render appends nothing: half a document is worse than none.
static int render_doc(renderer *w, rp_doc *doc, rp_value root, rp_buf *out, rp_diags *diags) {
  rp_render_opts ro = {.escape = RP_ESCAPE_HTML};
  if (w->plugins) {
    // Each render is a session: nothing a plugin kept while rendering one
    // context reaches the next.
    if (rp_plugins_session_begin(w->plugins, "-", diags) != RP_OK) return RP_ELAMBDA;
    ro.user = w->plugins;
    if (w->nslots) {
      // The plugins' lambdas are names below the data: data of the same
      // name wins.
      ro.has_globals = true;
      ro.globals = rp_doc_map(doc);
      rp_item_info it;
      for (size_t i = 0; i < w->nslots && rp_plugins_item(w->plugins, RP_ITEM_LAMBDA, i, &it); i++)
        rp_doc_map_set(doc, ro.globals, it.id, strlen(it.id),
                       rp_doc_lambda(doc, call_lambda, &w->slots[i]));
    }
  }
  size_t mark = out->len;
  rp_ctx ctx = rp_doc_ctx(doc, root);
  int rc = rp_template_render(w->r->t, &ctx, &ro, out, diags);
  if (w->plugins) rp_plugins_session_end(w->plugins, rc != RP_OK);
  if (rc != RP_OK) {
    out->len = mark;
    if (out->data) out->data[mark] = '\0';
  }
  return rc;
}

static void render_one(run *r, renderer *w, rp_doc *doc, rp_value root) {
  if (render_doc(w, doc, root, &r->out, &r->diags) != RP_OK) r->problems = true;
  rp_diags_print(&r->diags, stderr);
  rp_diags_clear(&r->diags);
  flush(r, false);
}

// JSON Lines go through a batch: every core parses and renders lines, and
// the results come out in input order, as one thread would print them.
typedef struct jsonl_job {
  run *r;
  const char *path;
} jsonl_job;

static void *jsonl_worker_new(void *ud) {
  jsonl_job *job = ud;
  rp_plugins *plugins = NULL;
  if (job->r->plugins) {
    // Problems were reported when the main thread loaded the same plugins.
    rp_diags quiet = RP_DIAGS_INIT;
    plugins = rp_workspace_load_plugins(&job->r->cli->ws, NULL, 0, false, &quiet);
    rp_diags_free(&quiet);
    // Prints from several threads would come out of order: drop them here.
    rp_plugins_set_print(plugins, NULL, NULL);
  }
  renderer *w = renderer_new(job->r, plugins);
  w->path = job->path;
  return w;
}

static void jsonl_worker_free(void *worker) {
  renderer_free(worker, true);
}

static int jsonl_line(void *worker, const char *line, size_t len, long lineno, rp_buf *out,
                      rp_diags *diags) {
  renderer *w = worker;
  rp_doc_reset(w->doc);
  rp_value root;
  int rc = rp_json_parse_line(w->doc, w->path, line, len, lineno, diags, &root);
  if (rc != RP_OK) return rc;
  return render_doc(w, w->doc, root, out, diags);
}

static void jsonl_emit(void *ud, const rp_buf *out, const rp_diags *diags) {
  jsonl_job *job = ud;
  rp_diags_print(diags, stderr);
  if (!out->len) return;
  if (job->r->out.len == 0 && out->len >= FLUSH_AT) {
    // A whole chunk is already a large block: write it as it is rather
    // than copy it into the run's buffer first.
    fwrite(out->data, 1, out->len, stdout);
    return;
  }
  rp_buf_add(&job->r->out, out->data, out->len);
  flush(job->r, false);
}

static void render_jsonl(run *r, const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
    r->problems = true;
    return;
  }
  jsonl_job job = {r, path};
  rp_batch_opts bo = {0};
  bo.worker_new = jsonl_worker_new;
  bo.worker_free = jsonl_worker_free;
  bo.line = jsonl_line;
  bo.emit = jsonl_emit;
  bo.ud = &job;
  const char *w = getenv("RAPPORT_JOBS");
  if (w) bo.workers = atoi(w);
  rp_diags diags = RP_DIAGS_INIT;
  if (rp_batch_run(f, path, &bo, NULL, &diags) != RP_OK) r->problems = true;
  rp_diags_print(&diags, stderr);
  rp_diags_free(&diags);
  if (f != stdin) fclose(f);
}

static void render_file(run *r, renderer *w, const char *path) {
  rp_doc *doc = rp_doc_new();
  rp_value root;
  int rc;
  if (strcmp(path, "-") == 0) {
    rp_buf b = RP_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
      rp_buf_add(&b, chunk, n);
    rc = rp_json_parse(doc, "-", b.data ? b.data : "", b.len, &r->diags, &root);
    rp_buf_free(&b);
  } else {
    rc = rp_data_load_file(doc, path, &r->diags, &root);
  }
  if (rc == RP_OK) {
    render_one(r, w, doc, root);
  } else {
    r->problems = true;
    rp_diags_print(&r->diags, stderr);
    rp_diags_clear(&r->diags);
  }
  rp_doc_free(doc);
}

int rp_cmd_mustache(rp_cli *cli, int argc, char **argv) {
  partial_dirs pd = {0};
  bool strict = false;
  const char *template_path = NULL;
  const char **data = calloc((size_t)argc, sizeof *data);
  size_t ndata = 0;
  int status = RP_EXIT_OK;
  bool options_done = false;
  pd.dirs = calloc((size_t)argc + 1, sizeof *pd.dirs);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options_done && a[0] == '-' && a[1] != '\0') {
      if (strcmp(a, "--") == 0) {
        options_done = true;
      } else if (strcmp(a, "--strict") == 0) {
        strict = true;
      } else if (strcmp(a, "--partials") == 0 || strncmp(a, "--partials=", 11) == 0) {
        const char *dir = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);
        if (!dir) {
          status = rp_cli_usage_error("mustache", "option '--partials' needs a folder");
          goto done;
        }
        pd.dirs[pd.n++] = dir;
      } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        rp_cli_help("mustache");
        goto done;
      } else {
        status = rp_cli_usage_error("mustache", "unknown option '%s'", a);
        goto done;
      }
    } else if (!template_path) {
      template_path = a;
    } else {
      data[ndata++] = a;
    }
  }
  if (!template_path) {
    status = rp_cli_usage_error("mustache", "a TEMPLATE file is needed");
    goto done;
  }
  // Partials are searched in the --partials folders, then beside the template.
  char *tdir = strdup(template_path);
  char *slash = strrchr(tdir, '/');
  if (slash)
    *slash = '\0';
  else
    strcpy(tdir, ".");
  pd.dirs[pd.n++] = tdir;

  rp_filters *filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  run r = {0};
  r.cli = cli;
  r.plugins = cli->ws.nplugin_dirs > 0;
  rp_plugins *plugins = NULL;
  if (r.plugins) {
    // Plain Mustache plus the filters and lambdas of the plugins named with
    // --plugins (and the built-in ones). A plugin that fails is reported;
    // the others still serve.
    plugins = rp_workspace_load_plugins(&cli->ws, NULL, 0, false, &r.diags);
    rp_plugins_add_filters(plugins, filters);
    if (r.diags.errors) r.problems = true;
    rp_diags_print(&r.diags, stderr);
    rp_diags_clear(&r.diags);
  }
  rp_library_opts lo = {
      .loader = load_partial, .loader_ud = &pd, .filters = filters, .strict = strict};
  rp_library *lib = rp_library_new(&lo);
  char *src = NULL;
  size_t srclen = 0;
  if (read_file(template_path, &src, &srclen, TEMPLATE_MAX, &r.diags) == RP_OK) {
    r.t = rp_template_compile(lib, template_path, src, srclen, &r.diags);
    if (r.t && strict) rp_template_check_partials(r.t, &r.diags);
  }
  free(src);
  if (!r.t || r.diags.errors) {
    rp_diags_print(&r.diags, stderr);
    status = RP_EXIT_PROBLEM;
  } else {
    renderer *w = renderer_new(&r, plugins);
    if (ndata == 0) render_one(&r, w, w->doc, rp_doc_map(w->doc));
    for (size_t i = 0; i < ndata; i++) {
      if (has_suffix(data[i], ".jsonl"))
        render_jsonl(&r, data[i]);
      else
        render_file(&r, w, data[i]);
    }
    renderer_free(w, false);
    flush(&r, true);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      fprintf(stderr, "rapport: cannot write the output: %s\n", strerror(errno));
      status = RP_EXIT_PROBLEM;
    }
    if (r.problems) status = RP_EXIT_PROBLEM;
  }
  rp_buf_free(&r.out);
  rp_diags_free(&r.diags);
  rp_template_free(r.t);
  rp_library_free(lib);
  rp_filters_free(filters);
  rp_plugins_free(plugins);
  free(tdir);
done:
  free(data);
  free(pd.dirs);
  return status;
}
