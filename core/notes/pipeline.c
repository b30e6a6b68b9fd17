// The note pipeline (notes.h): reading a session, validating it against its
// note type, the plugins' work, and rendering the note in each format.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notes/notes.h"
#include "notes/output.h"
#include "util/file.h"

const char *const rp_format_ext[RP_FORMATS] = {".md", ".html", ".txt", ".json"};

bool rp_format_parse(const char *v, rp_format *fmt) {
  static const char *const names[RP_FORMATS] = {"md", "html", "txt", "json"};
  for (int i = 0; i < RP_FORMATS; i++) {
    if (strcmp(v, names[i]) == 0) {
      *fmt = (rp_format)i;
      return true;
    }
  }
  return false;
}

struct rp_notes {
  const rp_workspace *ws;
  bool strict;
  rp_plugins *p;
  rp_filters *filters;
  rp_library *lib;
  rp_doc *in;  // the session being read
};

rp_notes *rp_notes_new(const rp_workspace *ws, const rp_notes_opts *opts, rp_diags *diags) {
  rp_notes_opts o = opts ? *opts : (rp_notes_opts){0};
  rp_notes *n = rp_xcalloc(1, sizeof *n);
  n->ws = ws;
  n->strict = o.strict;
  n->p = o.plugins ? o.plugins : rp_workspace_load_plugins(ws, NULL, 0, o.one_session, diags);
  if (o.quiet_plugins) rp_plugins_set_print(n->p, NULL, NULL);
  n->filters = rp_filters_new();
  rp_filters_add_builtins(n->filters);
  rp_plugins_add_filters(n->p, n->filters);
  n->lib = rp_workspace_layouts(ws, n->filters, n->strict);
  n->in = rp_doc_new();
  return n;
}

void rp_notes_free(rp_notes *n) {
  if (!n) return;
  rp_doc_free(n->in);
  rp_workspace_layouts_free(n->lib);
  rp_filters_free(n->filters);
  rp_plugins_free(n->p);
  free(n);
}

rp_plugins *rp_notes_plugins(rp_notes *n) {
  return n->p;
}

void rp_notes_reload_layouts(rp_notes *n) {
  rp_workspace_layouts_free(n->lib);
  n->lib = rp_workspace_layouts(n->ws, n->filters, n->strict);
}

void rp_note_clear(rp_note *note) {
  rp_doc_free(note->doc);
  free(note->layout);
  free(note->path);
  rp_buf_free(&note->md);
  free(note->signature_md);
  memset(note, 0, sizeof *note);
}

// --- reading ---------------------------------------------------------------------------------

// Standard input, whole, within the size a session may have.
static int read_stdin(rp_doc *doc, rp_value *root, rp_diags *diags) {
  const char *path = "<stdin>";
  rp_buf b = RP_BUF_INIT;
  char chunk[65536];
  size_t n;
  int rc;
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
    // YAML or JSON: a JSON session is YAML too, and its text is typed by
    // the schema.
    rc = rp_yaml_parse_text(doc, path, b.data ? b.data : "", b.len, diags, root);
  }
  rp_buf_free(&b);
  return rc;
}

int rp_session_load(rp_doc *doc, const char *path, rp_value *root, rp_diags *diags) {
  if (strcmp(path, "-") == 0) return read_stdin(doc, root, diags);
  if (rp_workspace_is_json(path)) return rp_data_load_file(doc, path, diags, root);
  rp_buf b = RP_BUF_INIT;
  int rc = rp_read_file(path, RP_DATA_MAX_FILE, &b, diags);
  if (rc == RP_OK) rc = rp_yaml_parse_text(doc, path, b.data ? b.data : "", b.len, diags, root);
  rp_buf_free(&b);
  return rc;
}

// --- building --------------------------------------------------------------------------------

int rp_notes_build(rp_notes *n, const rp_session_src *src, rp_note *note, rp_diags *diags) {
  rp_note_clear(note);
  const char *path = src->text || strcmp(src->path, "-") != 0 ? src->path : "<stdin>";
  note->path = rp_xstrndup(path, strlen(path));
  size_t first = diags->n;
  rp_doc_reset(n->in);
  rp_value root;
  int rc;
  if (!src->text)
    rc = rp_session_load(n->in, src->path, &root, diags);
  else if (src->line > 0)
    rc = rp_json_parse_line(n->in, path, src->text, src->len, src->line, diags, &root);
  else if (rp_workspace_is_json(path))
    rc = rp_json_parse(n->in, path, src->text, src->len, diags, &root);
  else
    rc = rp_yaml_parse_text(n->in, path, src->text, src->len, diags, &root);
  if (rc != RP_OK) {
    rp_diags_sort(diags, first);
    return RP_EDATA;
  }
  if (rp_plugins_session_begin(n->p, path, diags) != RP_OK) return RP_EDATA;
  note->doc = rp_doc_new();
  rc = rp_plugins_build_note(n->p, path, n->in, root, note->doc, &note->data, &note->layout, diags);
  rp_plugins_session_end(n->p, rc != RP_OK);
  // The session's problems from top to bottom, whichever step found them.
  rp_diags_sort(diags, first);
  if (rc != RP_OK) {
    char *keep = note->path;
    note->path = NULL;
    rp_note_clear(note);
    note->path = keep;
    return RP_EDATA;
  }
  return RP_OK;
}

// --- rendering -------------------------------------------------------------------------------

// Renders the note's layout into note->md, once.
static int render_layout(rp_notes *n, rp_note *note, rp_diags *diags) {
  if (note->md_done) return RP_OK;
  rp_buf name = RP_BUF_INIT;
  rp_buf_printf(&name, "%s.md", note->layout);
  rp_template *t = rp_library_get(n->lib, name.data, name.len, diags);
  note->layout_t = t;
  int rc;
  if (!t) {
    rp_diags_add(diags, RP_SEV_ERROR, note->path, 0, 0,
                 "no layout '%s' for this note type (looked for %s.mustache)", name.data,
                 name.data);
    rc = RP_ENOTFOUND;
  } else {
    rp_ctx ctx = rp_doc_ctx(note->doc, note->data);
    rp_render_opts ro = {
        .escape = RP_ESCAPE_HTML, .escape_fn = rp_output_escape_markdown, .user = n->p};
    note->md.len = 0;
    rc = rp_template_render(t, &ctx, &ro, &note->md, diags);
    if (rc == RP_OK && note->signature_md) {
      if (note->md.len && note->md.data[note->md.len - 1] != '\n') rp_buf_addc(&note->md, '\n');
      rp_buf_addc(&note->md, '\n');
      rp_buf_adds(&note->md, note->signature_md);
    }
    note->md_done = rc == RP_OK;
  }
  rp_buf_free(&name);
  return rc;
}

void rp_note_set_signature(rp_note *note, const char *md, size_t len, const char *const *fields,
                           size_t nfields) {
  if (!note->doc) return;
  free(note->signature_md);
  note->signature_md = rp_xstrndup(md, len);
  if (note->md_done) {
    // Rendered already: the block goes after what was rendered.
    rp_buf_addc(&note->md, '\n');
    rp_buf_add(&note->md, md, len);
  }
  if (rp_doc_ops.kind(note->doc, note->data) != RP_KIND_MAP) return;
  rp_value sig = rp_doc_map(note->doc);
  for (size_t i = 0; i + 1 < nfields; i += 2)
    rp_doc_map_set(note->doc, sig, fields[i], strlen(fields[i]),
                   rp_doc_string(note->doc, fields[i + 1], strlen(fields[i + 1])));
  rp_doc_map_put(note->doc, note->data, "signature", 9, sig);
}

// The note type's title, for the HTML page's title; NULL when none.
static char *note_title(const rp_note *note) {
  rp_value v;
  const char *tt = NULL;
  size_t tlen = 0;
  if (rp_doc_ops.get(note->doc, note->data, "note_type", 9, &v) &&
      rp_doc_ops.get(note->doc, v, "title", 5, &v))
    tt = rp_doc_ops.str(note->doc, v, &tlen);
  return tt ? rp_xstrndup(tt, tlen) : NULL;
}

int rp_notes_render(rp_notes *n, rp_note *note, rp_format fmt, bool one_line, rp_buf *out,
                    rp_diags *diags) {
  if (!note->doc) return RP_EDATA;
  if (fmt == RP_FMT_JSON) {
    if (one_line) {
      rp_doc_write_json_line(note->doc, note->data, out);
    } else {
      rp_doc_write_json(note->doc, note->data, out);
      if (out->len && out->data[out->len - 1] != '\n') rp_buf_addc(out, '\n');
    }
    return RP_OK;
  }
  int rc = render_layout(n, note, diags);
  if (rc != RP_OK) return rc;
  const char *md = note->md.data ? note->md.data : "";
  if (fmt == RP_FMT_MD) {
    rp_buf_add(out, md, note->md.len);
    return RP_OK;
  }
  if (fmt == RP_FMT_TXT) return rp_output_text(md, note->md.len, out, diags);
  char *title = note_title(note);
  rc = rp_output_html(md, note->md.len, title, out, diags);
  free(title);
  return rc;
}

bool rp_notes_layout_deps(const rp_note *note, void (*fn)(void *ud, const char *name, size_t len),
                          void *ud) {
  if (!note->layout_t) return false;
  const char *p = rp_template_path(note->layout_t);
  const char *base = strrchr(p, '/');
  base = base ? base + 1 : p;
  size_t blen = strlen(base);
  if (blen > 9) fn(ud, base, blen - 9);
  return rp_template_partials(note->layout_t, fn, ud);
}
