// `rapport render`: session files into finished notes.
//
//   rapport render FILE... [-o OUT] [--out-dir DIR] [--format md|html|txt|json] [--strict]
//
// Each session is validated against its note type, computed by the plugins
// (rules, checklist summaries, measure scores) and rendered through the note
// type's Markdown layout, with every value escaped so that what a therapist
// typed never turns into markup. The Markdown then becomes HTML or plain text
// with cmark-gfm, or the note is written as JSON data. A session with problems
// produces no note; the others of the run still render. Outputs are written
// atomically with mode 0600, never over an input file.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/batch.h"
#include "cli/cli.h"
#include "data/data.h"
#include "lua/plugins.h"
#include "notes/output.h"
#include "schema/schema.h"
#include "template/template.h"
#include "util/atomic.h"
#include "util/builtin.h"
#include "util/file.h"

const char *const rp_format_ext[] = {".md", ".html", ".txt", ".json"};

bool rp_format_parse(const char *v, rp_format *fmt) {
  static const char *const names[] = {"md", "html", "txt", "json"};
  for (int i = 0; i < 4; i++) {
    if (strcmp(v, names[i]) == 0) {
      *fmt = (rp_format)i;
      return true;
    }
  }
  return false;
}

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

// Layouts and their partials: NAME is NAME.mustache in the --templates
// folders (the last given first), then the workspace's templates/, then the
// built-in templates/.
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

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// "sessions/jd-07.yaml" -> "DIR/jd-07.html"
static char *output_name(const char *dir, const char *input, rp_format fmt) {
  const char *base = strrchr(input, '/');
  base = base ? base + 1 : input;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s/%.*s%s", dir, (int)len, base, rp_format_ext[fmt]);
  return rp_buf_detach(&b);
}

rp_renderer *rp_renderer_new(const rp_cli *cli, bool strict, rp_plugins *plugins, rp_diags *diags) {
  rp_renderer *w = rp_xcalloc(1, sizeof *w);
  w->p = plugins ? plugins : rp_cli_load_plugins(cli, NULL, 0, diags);
  w->filters = rp_filters_new();
  rp_filters_add_builtins(w->filters);
  rp_plugins_add_filters(w->p, w->filters);
  w->lib = rp_cli_layouts(cli, w->filters, strict, &w->layouts);
  w->in = rp_doc_new();
  return w;
}

void rp_renderer_free(rp_renderer *w) {
  if (!w) return;
  rp_doc_free(w->in);
  rp_cli_layouts_free(w->lib, w->layouts);
  rp_filters_free(w->filters);
  rp_plugins_free(w->p);
  free(w);
}

// Renders the session `root` of w->in (named `path` in messages) into `out`
// in the format asked for. `one_line` writes JSON as one JSON Lines record.
int rp_render_note(rp_renderer *w, const char *path, rp_value root, rp_format fmt, bool one_line,
                   rp_buf *out, const rp_template **layout_out, rp_diags *diags) {
  if (layout_out) *layout_out = NULL;
  if (rp_plugins_session_begin(w->p, path, diags) != RP_OK) return RP_EDATA;
  rp_doc *doc = rp_doc_new();
  rp_value note;
  char *layout = NULL;
  int rc = rp_note_build_doc(w->p, path, w->in, root, doc, &note, &layout, diags);
  rp_plugins_session_end(w->p, rc != RP_OK);
  if (rc == RP_OK && fmt == RP_FMT_JSON) {
    if (one_line) {
      rp_doc_write_json_line(doc, note, out);
    } else {
      rp_doc_write_json(doc, note, out);
      if (out->len && out->data[out->len - 1] != '\n') rp_buf_addc(out, '\n');
    }
  } else if (rc == RP_OK) {
    rp_buf name = RP_BUF_INIT;
    rp_buf_printf(&name, "%s.md", layout);
    rp_template *t = rp_library_get(w->lib, name.data, name.len, diags);
    if (layout_out) *layout_out = t;
    if (!t) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                   "no layout '%s' for this note type (looked for %s.mustache)", name.data,
                   name.data);
      rc = RP_ENOTFOUND;
    } else {
      rp_buf md = RP_BUF_INIT;
      rp_ctx ctx = rp_doc_ctx(doc, note);
      rp_render_opts ro = {
          .escape = RP_ESCAPE_HTML, .escape_fn = rp_output_escape_markdown, .user = w->p};
      rc = rp_template_render(t, &ctx, &ro, &md, diags);
      if (rc == RP_OK) {
        if (fmt == RP_FMT_MD) {
          rp_buf_add(out, md.data, md.len);
        } else if (fmt == RP_FMT_HTML) {
          rp_value title;
          const char *tt = NULL;
          size_t tlen = 0;
          if (rp_doc_ops.get(doc, note, "note_type", 9, &title) &&
              rp_doc_ops.get(doc, title, "title", 5, &title))
            tt = rp_doc_ops.str(doc, title, &tlen);
          char *ts = tt ? rp_xstrndup(tt, tlen) : NULL;
          rc = rp_output_html(md.data ? md.data : "", md.len, ts, out, diags);
          free(ts);
        } else {
          rc = rp_output_text(md.data ? md.data : "", md.len, out, diags);
        }
      }
      rp_buf_free(&md);
    }
    rp_buf_free(&name);
  }
  free(layout);
  rp_doc_free(doc);
  return rc;
}

// Reads the session file `path` ("-": standard input, named <stdin>) into
// w->in and renders it.
int rp_render_file(rp_renderer *w, const char *path, rp_format fmt, rp_buf *out,
                   const rp_template **layout, rp_diags *diags) {
  if (layout) *layout = NULL;
  rp_doc_reset(w->in);
  rp_value root;
  size_t first = diags->n;
  int rc;
  if (strcmp(path, "-") == 0) {
    path = "<stdin>";
    rp_buf b = RP_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0 && b.len <= RP_DATA_MAX_FILE)
      rp_buf_add(&b, chunk, n);
    if (ferror(stdin)) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
      rc = RP_EIO;
    } else if (b.len > RP_DATA_MAX_FILE) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "too large: a session is at most %u MiB",
                   RP_DATA_MAX_FILE >> 20);
      rc = RP_ELIMIT;
    } else {
      // YAML or JSON: a JSON session is YAML too, and text typed by the schema.
      rc = rp_yaml_parse_text(w->in, path, b.data ? b.data : "", b.len, diags, &root);
    }
    rp_buf_free(&b);
  } else {
    rc = rp_session_load(w->in, path, &root, diags);
  }
  if (rc != RP_OK) {
    rp_diags_sort(diags, first);
    return RP_EDATA;
  }
  return rp_render_note(w, path, root, fmt, false, out, layout, diags);
}

// --- JSONL batches -------------------------------------------------------------------------

// A JSONL file of sessions, one per line, rendered on every core (see
// batch/batch.h): to standard output or one file in input order, or to one
// file per session in an output folder.
typedef struct batch_job {
  const rp_cli *cli;
  bool strict;
  rp_format fmt;
  const char *path;
  const char *out_dir;  // one note per line: DIR/NAME-LINE.EXT
  rp_atomic *sink;      // -o FILE: every note, in order
  long written;         // notes written so far (sink or stdout)
  _Atomic long done;    // lines done, for progress
  size_t main_errors;   // problems the main thread met loading the plugins
  bool progress;
  bool problems;
} batch_job;

typedef struct batch_worker {
  rp_renderer *r;
  batch_job *job;
  char *load_error;  // the first problem loading this worker's plugins
} batch_worker;

static void *batch_worker_new(void *ud) {
  batch_job *job = ud;
  batch_worker *bw = rp_xcalloc(1, sizeof *bw);
  bw->job = job;
  // Problems were reported when the main thread loaded the same plugins.
  rp_diags quiet = RP_DIAGS_INIT;
  bw->r = rp_renderer_new(job->cli, job->strict, NULL, &quiet);
  // The main thread loaded the same plugins and reported their problems; a
  // worker that meets one the main thread did not (out of memory) renders
  // nothing rather than notes without a plugin.
  if (quiet.errors > job->main_errors) {
    for (size_t i = 0; i < quiet.n && !bw->load_error; i++)
      if (quiet.items[i].sev == RP_SEV_ERROR)
        bw->load_error = rp_xstrndup(quiet.items[i].msg, strlen(quiet.items[i].msg));
  }
  rp_diags_free(&quiet);
  // Prints from several threads would come out of order: drop them here.
  rp_plugins_set_print(bw->r->p, NULL, NULL);
  return bw;
}

static void batch_worker_free(void *worker) {
  batch_worker *bw = worker;
  rp_renderer_free(bw->r);
  free(bw->load_error);
  free(bw);
}

// "x/sessions.jsonl", line 12 -> "DIR/sessions-12.md"
static char *line_output_name(const char *dir, const char *input, long lineno, rp_format fmt) {
  const char *base = strrchr(input, '/');
  base = base ? base + 1 : input;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s/%.*s-%ld%s", dir, (int)len, base, lineno, rp_format_ext[fmt]);
  return rp_buf_detach(&b);
}

static int batch_session(batch_worker *bw, const char *line, size_t len, long lineno, rp_buf *out,
                         rp_diags *diags);

static int batch_line(void *worker, const char *line, size_t len, long lineno, rp_buf *out,
                      rp_diags *diags) {
  batch_worker *bw = worker;
  batch_job *job = bw->job;
  job->done++;
  if (bw->load_error) {
    rp_diags_add(diags, RP_SEV_ERROR, job->path, (int)lineno, 1,
                 "no note: the plugins did not load for this session (%s)", bw->load_error);
    return RP_EDATA;
  }
  size_t first = diags->n;
  int rc = batch_session(bw, line, len, lineno, out, diags);
  if (rc != RP_OK) {
    // Every failed session is named by its line, even when its problems
    // are elsewhere (a plugin's file, a template).
    bool named = false;
    for (size_t i = first; i < diags->n && !named; i++)
      named = diags->items[i].sev == RP_SEV_ERROR && diags->items[i].line == (int)lineno &&
              strcmp(diags->items[i].path, job->path) == 0;
    if (!named)
      rp_diags_add(diags, RP_SEV_ERROR, job->path, (int)lineno, 1,
                   "no note for this session (the problems are above)");
  }
  return rc;
}

static int batch_session(batch_worker *bw, const char *line, size_t len, long lineno, rp_buf *out,
                         rp_diags *diags) {
  batch_job *job = bw->job;
  rp_renderer *w = bw->r;
  rp_doc_reset(w->in);
  rp_value root;
  size_t first = diags->n;
  if (rp_json_parse_line(w->in, job->path, line, len, lineno, diags, &root) != RP_OK) {
    rp_diags_sort(diags, first);
    return RP_EDATA;
  }
  if (!job->out_dir) {
    size_t mark = out->len;
    int rc = rp_render_note(w, job->path, root, job->fmt, true, out, NULL, diags);
    if (rc != RP_OK) {
      // Nothing of a session with problems reaches the output.
      out->len = mark;
      if (out->data) out->data[mark] = '\0';
    } else if (job->fmt != RP_FMT_JSON) {
      // Notes one after another read as separate notes: an empty line
      // after each (JSON Lines stay one record per line).
      rp_buf_addc(out, '\n');
    }
    return rc;
  }
  rp_buf note = RP_BUF_INIT;
  int rc = rp_render_note(w, job->path, root, job->fmt, false, &note, NULL, diags);
  if (rc == RP_OK) {
    char *target = line_output_name(job->out_dir, job->path, lineno, job->fmt);
    rc = rp_write_atomic(target, note.data ? note.data : "", note.len, diags);
    free(target);
  }
  rp_buf_free(&note);
  return rc;
}

static void batch_emit(void *ud, const rp_buf *out, const rp_diags *diags) {
  batch_job *job = ud;
  if (diags->errors) job->problems = true;
  if (job->progress) fputs("\r\033[K", stderr);
  rp_diags_print(diags, stderr);
  if (out->len) {
    if (job->sink)
      rp_atomic_write(job->sink, out->data, out->len);
    else
      fwrite(out->data, 1, out->len, stdout);
  }
  if (job->progress) fprintf(stderr, "%ld sessions", (long)job->done);
}

// Renders the JSONL file `path`; returns the number of sessions rendered and
// adds the number of lines to *total.
static long render_batch(batch_job *job, long *total) {
  rp_diags od = RP_DIAGS_INIT;
  int open_status;
  FILE *f = rp_open_input(job->path, &od, &open_status);
  rp_diags_print(&od, stderr);
  rp_diags_free(&od);
  if (!f) {
    job->problems = true;
    return 0;
  }
  rp_batch_opts bo = {0};
  bo.worker_new = batch_worker_new;
  bo.worker_free = batch_worker_free;
  bo.line = batch_line;
  bo.emit = batch_emit;
  bo.ud = job;
  const char *jobs = getenv("RAPPORT_JOBS");
  if (jobs) bo.workers = atoi(jobs);
  rp_diags diags = RP_DIAGS_INIT;
  rp_batch_stats stats = {0};
  if (rp_batch_run(f, job->path, &bo, &stats, &diags) != RP_OK) job->problems = true;
  if (diags.errors) job->problems = true;
  rp_diags_print(&diags, stderr);
  rp_diags_free(&diags);
  fclose(f);
  *total += stats.lines;
  return stats.lines - stats.failed;
}

static bool is_jsonl(const char *path) {
  size_t len = strlen(path);
  return len > 6 && strcasecmp(path + len - 6, ".jsonl") == 0;
}

rp_library *rp_cli_layouts(const rp_cli *cli, const rp_filters *filters, bool strict,
                           const char ***dirs_out) {
  layout_dirs *ld = rp_xcalloc(1, sizeof *ld);
  rp_cli_search_path(cli, "templates", &ld->dirs, &ld->n);
  *dirs_out = (const char **)ld;  // freed by rp_cli_layouts_free
  rp_library_opts lo = {load_layout, ld, filters, strict, 0};
  return rp_library_new(&lo);
}

void rp_cli_layouts_free(rp_library *lib, const char **handle) {
  layout_dirs *ld = (layout_dirs *)handle;
  rp_library_free(lib);
  if (ld) free(ld->dirs);
  free(ld);
}

int rp_cmd_render(rp_cli *cli, int argc, char **argv) {
  const char *out_path = NULL, *out_dir = NULL;
  rp_format fmt = RP_FMT_MD;
  bool strict = false;
  const char **files = rp_xcalloc((size_t)argc, sizeof *files);
  size_t nfiles = 0, nstdin = 0, njsonl = 0;
  int status = RP_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("render");
      goto done;
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out-dir") == 0 || strcmp(a, "--format") == 0) {
      if (i + 1 >= argc) {
        status = rp_cli_usage_error("render", "option '%s' needs a value", a);
        goto done;
      }
      const char *v = argv[++i];
      if (a[1] == 'o')
        out_path = v;
      else if (a[2] == 'o')
        out_dir = v;
      else if (!rp_format_parse(v, &fmt)) {
        status = rp_cli_usage_error("render", "--format takes md, html, txt or json, not '%s'", v);
        goto done;
      }
    } else if (strcmp(a, "--strict") == 0) {
      strict = true;
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("render", "unknown option '%s'", a);
      goto done;
    } else {
      if (strcmp(a, "-") == 0) nstdin++;
      if (is_jsonl(a)) njsonl++;
      files[nfiles++] = a;
    }
  }
  if (nfiles == 0) {
    status = rp_cli_usage_error("render", "give session files to render");
    goto done;
  }
  if (out_path && out_dir) {
    status = rp_cli_usage_error("render", "give -o or --out-dir, not both");
    goto done;
  }
  if (out_path && nfiles != 1) {
    status = rp_cli_usage_error("render", "-o takes one session file (or one JSONL file)");
    goto done;
  }
  if (nfiles > 1 && !out_path && !out_dir) out_dir = "out";
  if (nstdin > 1 || (nstdin && out_dir)) {
    status = rp_cli_usage_error(
        "render", "a session from standard input goes to standard output or -o, once");
    goto done;
  }
  if (njsonl && fmt == RP_FMT_HTML && !out_dir) {
    status = rp_cli_usage_error("render",
                                "HTML notes of a JSONL batch are separate pages: give --out-dir");
    goto done;
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_renderer *w = rp_renderer_new(cli, strict, NULL, &diags);
  size_t load_errors = diags.errors;
  bool problems = diags.errors > 0;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  if (out_dir && !is_dir(out_dir) && mkdir(out_dir, 0700) != 0) {
    fprintf(stderr, "%s: error: cannot create the output folder: %s\n", out_dir, strerror(errno));
    problems = true;
    goto finish;
  }
  bool progress = (nfiles > 1 || njsonl) && isatty(STDERR_FILENO) && !cli->quiet;
  long rendered = 0, total = 0;
  for (size_t i = 0; i < nfiles; i++) {
    if (is_jsonl(files[i])) {
      batch_job job = {.cli = cli,
                       .strict = strict,
                       .fmt = fmt,
                       .path = files[i],
                       .out_dir = out_dir,
                       .progress = progress,
                       .main_errors = load_errors};
      rp_atomic sink;
      if (out_path) {
        if (rp_same_file(out_path, files[i])) {
          rp_diags_add(&diags, RP_SEV_ERROR, out_path, 0, 0,
                       "not written: it is the session file itself");
          break;
        }
        if (rp_atomic_open(&sink, out_path, &diags) != RP_OK) break;
        job.sink = &sink;
      }
      rendered += render_batch(&job, &total);
      if (job.problems) problems = true;
      // A batch into one file is written whole or not at all.
      if (job.sink && problems) {
        rp_atomic_abort(&sink);
        rp_diags_add(&diags, RP_SEV_ERROR, out_path, 0, 0,
                     "not written: some sessions have problems (reported above)");
        rendered = 0;
      } else if (job.sink && rp_atomic_commit(&sink, &diags) != RP_OK) {
        rendered = 0;
      }
      continue;
    }
    total++;
    rp_buf out = RP_BUF_INIT;
    int rc = rp_render_file(w, files[i], fmt, &out, NULL, &diags);
    if (rc == RP_OK) {
      char *target = out_path ? rp_xstrndup(out_path, strlen(out_path))
                              : (out_dir ? output_name(out_dir, files[i], fmt) : NULL);
      if (!target) {
        fwrite(out.data, 1, out.len, stdout);
        rendered++;
      } else if (rp_same_file(target, files[i])) {
        rp_diags_add(&diags, RP_SEV_ERROR, target, 0, 0,
                     "not written: it is the session file itself");
      } else if (rp_write_atomic(target, out.data ? out.data : "", out.len, &diags) == RP_OK) {
        rendered++;
      }
      free(target);
    }
    rp_buf_free(&out);
    if (diags.errors) problems = true;
    if (progress) fputs("\r\033[K", stderr);
    rp_diags_print(&diags, stderr);
    rp_diags_clear(&diags);
    if (progress) fprintf(stderr, "%zu/%zu files", i + 1, nfiles);
  }
  if (diags.errors) problems = true;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  if (progress) fputs("\r\033[K", stderr);
  if ((out_dir || njsonl) && !cli->quiet) {
    const char *where = out_dir ? out_dir : out_path ? out_path : "standard output";
    fprintf(stderr, "rapport: rendered %ld of %ld session%s into %s\n", rendered, total,
            total == 1 ? "" : "s", where);
  }
finish:
  if (fflush(stdout) != 0) problems = true;
  status = problems ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_renderer_free(w);
  rp_diags_free(&diags);
done:
  free(files);
  return status;
}
