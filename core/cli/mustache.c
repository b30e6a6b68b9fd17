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
  FILE *f = fopen(path, "rb");
  if (!f) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot open: %s", strerror(errno));
    return RP_EIO;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "is a folder, not a file");
    return RP_EIO;
  }
  rp_buf b = RP_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > max) {
      fclose(f);
      rp_buf_free(&b);
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "larger than the limit of %zu MiB", max >> 20);
      return RP_ELIMIT;
    }
    rp_buf_add(&b, chunk, n);
  }
  bool bad = ferror(f);
  fclose(f);
  if (bad) {
    rp_buf_free(&b);
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
    return RP_EIO;
  }
  *outlen = b.len;
  *out = rp_buf_detach(&b);
  return RP_OK;
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

static void render_one(run *r, rp_doc *doc, rp_value root) {
  size_t mark = r->out.len;
  rp_ctx ctx = rp_doc_ctx(doc, root);
  if (rp_template_render(r->t, &ctx, NULL, &r->out, &r->diags) != RP_OK) {
    // A failed render prints nothing of itself: half a document is worse
    // than none.
    r->out.len = mark;
    if (r->out.data) r->out.data[mark] = '\0';
    r->problems = true;
  }
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

typedef struct jsonl_worker {
  const jsonl_job *job;
  rp_doc *doc;
} jsonl_worker;

static void *jsonl_worker_new(void *ud) {
  jsonl_worker *w = rp_xcalloc(1, sizeof *w);
  w->job = ud;
  w->doc = rp_doc_new();
  return w;
}

static void jsonl_worker_free(void *worker) {
  jsonl_worker *w = worker;
  rp_doc_free(w->doc);
  free(w);
}

static int jsonl_line(void *worker, const char *line, size_t len, long lineno, rp_buf *out,
                      rp_diags *diags) {
  jsonl_worker *w = worker;
  rp_doc_reset(w->doc);
  rp_value root;
  int rc = rp_json_parse_line(w->doc, w->job->path, line, len, lineno, diags, &root);
  if (rc != RP_OK) return rc;
  size_t mark = out->len;
  rp_ctx ctx = rp_doc_ctx(w->doc, root);
  rc = rp_template_render(w->job->r->t, &ctx, NULL, out, diags);
  if (rc != RP_OK) {
    out->len = mark;  // no half documents
    if (out->data) out->data[mark] = '\0';
  }
  return rc;
}

static void jsonl_emit(void *ud, const rp_buf *out, const rp_diags *diags) {
  jsonl_job *job = ud;
  rp_diags_print(diags, stderr);
  if (out->len) {
    rp_buf_add(&job->r->out, out->data, out->len);
    flush(job->r, false);
  }
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

static void render_file(run *r, const char *path) {
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
    render_one(r, doc, root);
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
  rp_library_opts lo = {load_partial, &pd, filters, strict, 0};
  rp_library *lib = rp_library_new(&lo);
  run r = {0};
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
    if (ndata == 0) {
      rp_doc *doc = rp_doc_new();
      render_one(&r, doc, rp_doc_map(doc));
      rp_doc_free(doc);
    }
    for (size_t i = 0; i < ndata; i++) {
      if (has_suffix(data[i], ".jsonl"))
        render_jsonl(&r, data[i]);
      else
        render_file(&r, data[i]);
    }
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
  free(tdir);
done:
  free(data);
  free(pd.dirs);
  (void)cli;
  return status;
}
