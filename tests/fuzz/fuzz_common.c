// Helpers the fuzz targets share (see fuzz_common.h).
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/plugins.h"
#include "notes/notes.h"
#include "schema/schema.h"

static bool spend(fuzz_budget *b) {
  if (b->left <= 0) return false;
  b->left--;
  return true;
}

static rp_kind budget_kind(void *ud, rp_value v) {
  fuzz_budget *b = ud;
  return spend(b) ? rp_doc_ops.kind(b->doc, v) : RP_KIND_NULL;
}

static bool budget_get(void *ud, rp_value map, const char *key, size_t keylen, rp_value *out) {
  return rp_doc_ops.get(((fuzz_budget *)ud)->doc, map, key, keylen, out);
}

static size_t budget_len(void *ud, rp_value v) {
  fuzz_budget *b = ud;
  return spend(b) ? rp_doc_ops.len(b->doc, v) : 0;
}

static rp_value budget_at(void *ud, rp_value list, size_t i) {
  return rp_doc_ops.at(((fuzz_budget *)ud)->doc, list, i);
}

static const char *budget_str(void *ud, rp_value v, size_t *len) {
  return rp_doc_ops.str(((fuzz_budget *)ud)->doc, v, len);
}

static double budget_number(void *ud, rp_value v) {
  return rp_doc_ops.number(((fuzz_budget *)ud)->doc, v);
}

static bool budget_boolean(void *ud, rp_value v) {
  return rp_doc_ops.boolean(((fuzz_budget *)ud)->doc, v);
}

static int budget_call(void *ud, rp_value fn, const char *text, size_t textlen, rp_buf *out,
                       char **errmsg) {
  fuzz_budget *b = ud;
  if (!spend(b)) return RP_OK;  // prints nothing
  return rp_doc_ops.call(b->doc, fn, text, textlen, out, errmsg);
}

const rp_ctx_ops fuzz_budget_ops = {
    .kind = budget_kind,
    .get = budget_get,
    .len = budget_len,
    .at = budget_at,
    .str = budget_str,
    .number = budget_number,
    .boolean = budget_boolean,
    .call = budget_call,
};

rp_ctx fuzz_budget_ctx(fuzz_budget *b, rp_doc *doc, rp_value root, long budget) {
  b->doc = doc;
  b->left = budget;
  return (rp_ctx){.ops = &fuzz_budget_ops, .ud = b, .root = root};
}

// The fixed data: names the seeds and dictionaries use (x, name, list, ...).
static const char tree_json[] =
    "{\"x\": \"<b>&\\\"'</b>\", \"name\": \"Zo\\u00eb \\u00d1\\u00fa\\u00f1ez\", \"a\": 1,"
    " \"b\": \"*em* _u_ `code` [l](u) # h\\n- item\\n\", \"e\": \"\", \"t\": true, \"f\": false,"
    " \"z\": null, \"zero\": 0, \"mz\": -0.0, \"n\": 1.5, \"big\": 1e21, \"neg\": -12,"
    " \"huge\": 1.7976931348623157e308, \"tiny\": 5e-324, \"int\": 9007199254740993,"
    " \"d\": \"2026-11-24\", \"dt\": \"2026-11-24T09:30\", \"dts\": \"2026-02-28T23:59:59\","
    " \"bad\": \"2026-02-30\", \"leap\": \"2024-02-29\", \"ws\": \"  padded \\t\","
    " \"nl\": \"line one\\nline two\\r\\nthree\", \"utf\": \"\\u0130\\u00df\\u03a3\\ud83d\\ude00\","
    " \"list\": [\"one\", 2, true, null, [3], {\"k\": \"v\"}], \"l\": [1, 2],"
    " \"empty\": [], \"obj\": {}, \"strs\": [\"a\", \"b\", \"c\"],"
    " \"text\": \"<tag>\", \"content\": \"X\", \"nodes\": [{\"content\": \"Y\", \"nodes\": []}],"
    " \"m\": {\"x\": \"inner\", \"a\": {\"b\": {\"c\": \"deep\"}}, \"list\": [{\"x\": 1}, {\"x\": "
    "2}]},"
    " \"session\": {\"date\": \"2026-11-24\", \"number\": 7, \"modality\": null},"
    " \"client\": {\"name\": \"J.D.\", \"initials\": \"J.D.\"},"
    " \"diagnoses\": [\"F41.1\", \"Z63.0\"], \"dyn\": \"p\", \"dyn2\": \"parent\"}";

// The lambdas: an interpolation returns a template, a section wraps its
// text, and "boom" fails.
static int lambda_template(void *ud, const char *text, size_t len, rp_buf *out, char **errmsg) {
  if (text)
    rp_buf_add(out, text, len);
  else
    rp_buf_adds(out, "{{x}}|{{{x}}}");
  return RP_OK;
}

static int lambda_wrap(void *ud, const char *text, size_t len, rp_buf *out, char **errmsg) {
  rp_buf_adds(out, "<");
  if (text) rp_buf_add(out, text, len);
  rp_buf_adds(out, ">{{n}}");
  return RP_OK;
}

static int lambda_boom(void *ud, const char *text, size_t len, rp_buf *out, char **errmsg) {
  *errmsg = strdup("boom");
  return RP_ELAMBDA;
}

rp_value fuzz_data_tree(rp_doc *doc, rp_value *globals) {
  rp_diags d = RP_DIAGS_INIT;
  rp_value root;
  if (rp_json_parse(doc, "tree.json", tree_json, sizeof tree_json - 1, &d, &root) != RP_OK) {
    rp_diags_print(&d, stderr);
    abort();  // the harness is broken, not the engine
  }
  rp_diags_free(&d);
  rp_doc_map_set(doc, root, "lambda", 6, rp_doc_lambda(doc, lambda_template, NULL));
  rp_doc_map_set(doc, root, "wrap", 4, rp_doc_lambda(doc, lambda_wrap, NULL));
  rp_doc_map_set(doc, root, "boom", 4, rp_doc_lambda(doc, lambda_boom, NULL));
  rp_value g = rp_doc_map(doc);
  rp_doc_map_set(doc, g, "glambda", 7, rp_doc_lambda(doc, lambda_template, NULL));
  rp_doc_map_set(doc, g, "gwrap", 5, rp_doc_lambda(doc, lambda_wrap, NULL));
  rp_doc_map_set(doc, g, "gx", 2, rp_doc_string(doc, "global", 6));
  *globals = g;
  return root;
}

void fuzz_split(const uint8_t *data, size_t size, const char **a, size_t *alen, const char **b,
                size_t *blen) {
  const uint8_t *nul = memchr(data, 0, size);
  *a = (const char *)data;
  *alen = nul ? (size_t)(nul - data) : size;
  *b = nul ? (const char *)nul + 1 : NULL;
  *blen = nul ? size - *alen - 1 : 0;
}

static rp_plugins *session_plugins;  // owned by session_notes
static rp_notes *session_notes;
static rp_workspace no_folders;  // the built-in layouts (and ./templates, if any)
static rp_schema *soap;

void fuzz_session_init(void) {
  rp_diags d = RP_DIAGS_INIT;
  rp_plugins_opts po = {.builtins = true};
  session_plugins = rp_plugins_load(&po, &d);
  if (d.errors) {
    rp_diags_print(&d, stderr);
    abort();
  }
  rp_diags_free(&d);
  rp_plugins_set_print(session_plugins, NULL, NULL);
  rp_notes_opts no = {.plugins = session_plugins};
  session_notes = rp_notes_new(&no_folders, &no, &d);
  soap = rp_plugins_schema(session_plugins, "soap");
  if (!soap) {
    fprintf(stderr, "fuzz: the built-in plugins have no 'soap' note type\n");
    abort();
  }
}

void fuzz_session_run(fuzz_parse_fn parse, const char *path, const char *src, size_t len) {
  rp_doc *in = rp_doc_new(), *out = rp_doc_new();
  rp_diags d = RP_DIAGS_INIT;
  rp_value root;
  if (parse(in, path, src, len, &d, &root) == RP_OK) {
    rp_value typed;
    if (rp_schema_validate(soap, in, root, path, out, &typed, &d) == RP_OK) {
      rp_buf json = RP_BUF_INIT;
      rp_doc_write_json(out, typed, &json);
      rp_buf_free(&json);
    }
    // The whole pipeline, as render runs it: build, then every format.
    rp_note note = RP_NOTE_INIT;
    rp_session_src s = {.path = path, .text = src, .len = len};
    if (rp_notes_build(session_notes, &s, &note, &d) == RP_OK) {
      for (int f = 0; f < RP_FORMATS; f++) {
        rp_buf b = RP_BUF_INIT;
        rp_notes_render(session_notes, &note, (rp_format)f, false, &b, &d);
        rp_buf_free(&b);
      }
    }
    rp_note_clear(&note);
  }
  rp_diags_free(&d);
  rp_doc_free(in);
  rp_doc_free(out);
}

// UBSan's defaults for every target: each finding is fatal (the checks are
// built recoverable, see CMakeLists.txt) and comes with its stack. The
// UBSAN_OPTIONS that tests/fuzz/run.sh sets add the suppressions file.
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "halt_on_error=1:print_stacktrace=1";
}
