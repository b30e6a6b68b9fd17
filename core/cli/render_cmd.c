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

#include "cli/cli.h"
#include "data/data.h"
#include "lua/plugins.h"
#include "notes/output.h"
#include "template/template.h"
#include "util/atomic.h"
#include "util/builtin.h"
#include "util/file.h"

typedef enum format { FMT_MD, FMT_HTML, FMT_TXT, FMT_JSON } format;
static const char *const format_ext[] = {".md", ".html", ".txt", ".json"};

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
static char *output_name(const char *dir, const char *input, format fmt) {
  const char *base = strrchr(input, '/');
  base = base ? base + 1 : input;
  const char *dot = strrchr(base, '.');
  size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s/%.*s%s", dir, (int)len, base, format_ext[fmt]);
  return rp_buf_detach(&b);
}

// Renders one session into `out` in the format asked for.
static int render_session(rp_plugins *p, rp_library *lib, const char *path, format fmt, rp_buf *out,
                          rp_diags *diags) {
  rp_doc *doc = rp_doc_new();
  rp_value note;
  char *layout = NULL;
  int rc = rp_note_build(p, path, doc, &note, &layout, diags);
  if (rc == RP_OK && fmt == FMT_JSON) {
    rp_doc_write_json(doc, note, out);
    if (out->len && out->data[out->len - 1] != '\n') rp_buf_addc(out, '\n');
  } else if (rc == RP_OK) {
    rp_buf name = RP_BUF_INIT;
    rp_buf_printf(&name, "%s.md", layout);
    rp_template *t = rp_library_get(lib, name.data, name.len, diags);
    if (!t) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                   "no layout '%s' for this note type (looked for %s.mustache)", name.data,
                   name.data);
      rc = RP_ENOTFOUND;
    } else {
      rp_buf md = RP_BUF_INIT;
      rp_ctx ctx = rp_doc_ctx(doc, note);
      rp_render_opts ro = {
          .escape = RP_ESCAPE_HTML, .escape_fn = rp_output_escape_markdown, .user = p};
      rc = rp_template_render(t, &ctx, &ro, &md, diags);
      if (rc == RP_OK) {
        if (fmt == FMT_MD) {
          rp_buf_add(out, md.data, md.len);
        } else if (fmt == FMT_HTML) {
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
  format fmt = FMT_MD;
  bool strict = false;
  const char **files = rp_xcalloc((size_t)argc, sizeof *files);
  size_t nfiles = 0;
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
      else if (strcmp(v, "md") == 0)
        fmt = FMT_MD;
      else if (strcmp(v, "html") == 0)
        fmt = FMT_HTML;
      else if (strcmp(v, "txt") == 0)
        fmt = FMT_TXT;
      else if (strcmp(v, "json") == 0)
        fmt = FMT_JSON;
      else {
        status = rp_cli_usage_error("render", "--format takes md, html, txt or json, not '%s'", v);
        goto done;
      }
    } else if (strcmp(a, "--strict") == 0) {
      strict = true;
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("render", "unknown option '%s'", a);
      goto done;
    } else if (strcmp(a, "-") == 0) {
      status = rp_cli_usage_error("render",
                                  "reading a session from standard input is planned; "
                                  "give a file");
      goto done;
    } else {
      files[nfiles++] = a;
    }
  }
  if (out_path && (nfiles != 1 || out_dir)) {
    status = rp_cli_usage_error("render", "-o takes one session file and no --out-dir");
    goto done;
  }
  if (nfiles == 0) {
    status = rp_cli_usage_error("render", "give session files to render");
    goto done;
  }
  if (nfiles > 1 && !out_path && !out_dir) out_dir = "out";
  for (size_t i = 0; i < nfiles; i++) {
    size_t len = strlen(files[i]);
    if (len > 6 && strcasecmp(files[i] + len - 6, ".jsonl") == 0) {
      status = rp_cli_usage_error("render", "rendering JSONL batches of sessions is planned");
      goto done;
    }
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_plugins *p = rp_cli_load_plugins(cli, NULL, 0, &diags);
  bool problems = diags.errors > 0;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  rp_filters *filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  rp_plugins_add_filters(p, filters);
  const char **layouts;
  rp_library *lib = rp_cli_layouts(cli, filters, strict, &layouts);
  if (out_dir && !is_dir(out_dir) && mkdir(out_dir, 0700) != 0) {
    fprintf(stderr, "%s: error: cannot create the output folder: %s\n", out_dir, strerror(errno));
    problems = true;
  } else {
    bool progress = nfiles > 1 && isatty(STDERR_FILENO) && !cli->quiet;
    size_t rendered = 0;
    for (size_t i = 0; i < nfiles; i++) {
      // Every session starts from freshly run plugins.
      if (i > 0) rp_plugins_reset(p, &diags);
      rp_buf out = RP_BUF_INIT;
      int rc = render_session(p, lib, files[i], fmt, &out, &diags);
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
      rp_diags_print(&diags, stderr);
      rp_diags_clear(&diags);
      if (progress) fprintf(stderr, "\r%zu/%zu sessions", i + 1, nfiles);
    }
    if (progress) fputc('\n', stderr);
    if (out_dir && !cli->quiet)
      fprintf(stderr, "rapport: rendered %zu of %zu session%s into %s\n", rendered, nfiles,
              nfiles == 1 ? "" : "s", out_dir);
  }
  if (fflush(stdout) != 0) problems = true;
  status = problems ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  rp_cli_layouts_free(lib, layouts);
  rp_filters_free(filters);
  rp_plugins_free(p);
  rp_diags_free(&diags);
done:
  free(files);
  return status;
}
