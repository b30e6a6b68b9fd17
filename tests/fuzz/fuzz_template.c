// Fuzzes the Mustache engine: compiling and rendering.
//
// Input: a template, optionally followed by a NUL and JSON data. The data,
// when it parses, is the root of the context, with the fixed tree of
// fuzz_common.c (lambdas included) below it as globals; otherwise the fixed
// tree is the root. Partials come from a fixed set (see `partials`), which a
// template reaches by name, dynamic name or as a parent. Each input is
// compiled and rendered twice: leniently with HTML escaping, and in strict
// mode with the built-in filters and Markdown escaping; then its partials
// and names are walked.
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "fuzz_common.h"
#include "notes/output.h"
#include "template/template.h"

enum {
  INPUT_CAP = 16 * 1024,
  // Lookups per render: enough for every seed, small enough that the
  // slowest input stays in milliseconds.
  BUDGET = 20000,
};

// Each uses a block at most once: a parent that expanded a block twice would
// let an input nest parents into exponential output without a data lookup,
// which no budget can stop.
static const struct {
  const char *name, *src;
} partials[] = {
    {"p", "<{{x}}>\n"},
    {"partial", "  {{text}}\n{{#list}}[{{.}}]{{/list}}\n"},
    {"node", "{{content}}<{{#nodes}}{{>node}}{{/nodes}}>"},
    {"parent", "head {{$a}}A{{/a}}\n  {{$b}}B{{/b}}\ntail {{<p}}{{/p}}\n"},
    {"indented", "\t|{{x}}\n  {{{x}}}\n{{! comment }}\n{{#t}}\n  t\n{{/t}}\n"},
    {"delims", "{{=<% %>=}}<% x %><%={{ }}=%>{{x}}"},
    {"filtered", "{{ name | upper }} {{ d | date \"%A %d %B %Y\" }} {{ list | count }}"},
    {"lambdas", "{{lambda}}{{#wrap}}w{{/wrap}}"},
    {"bad", "{{#unclosed}}"},
};

static int loader(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                  char **path, rp_diags *diags) {
  for (size_t i = 0; i < sizeof partials / sizeof partials[0]; i++) {
    if (strlen(partials[i].name) == namelen && memcmp(partials[i].name, name, namelen) == 0) {
      *srclen = strlen(partials[i].src);
      *src = malloc(*srclen + 1);
      memcpy(*src, partials[i].src, *srclen + 1);
      *path = strdup(partials[i].name);
      return 1;
    }
  }
  return 0;
}

static rp_filters *filters;
static rp_doc *doc;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  doc = rp_doc_new();
  return 0;
}

static void on_partial(void *ud, const char *name, size_t len) {}

static void on_name(void *ud, const char *path, const char *name, int line, int col, int depth) {}

static void run(const char *src, size_t len, bool strict, rp_value root, rp_value globals) {
  rp_library_opts lo = {.loader = loader, .strict = strict, .filters = filters};
  rp_library *lib = rp_library_new(&lo);
  rp_diags d = RP_DIAGS_INIT;
  rp_template *t = rp_template_compile(lib, "fuzz.mustache", src, len, &d);
  if (t) {
    fuzz_budget b;
    rp_ctx ctx = fuzz_budget_ctx(&b, doc, root, BUDGET);
    rp_render_opts ro = {.escape = RP_ESCAPE_HTML, .has_globals = true, .globals = globals};
    if (strict) ro.escape_fn = rp_output_escape_markdown;
    rp_buf out = RP_BUF_INIT;
    rp_template_render(t, &ctx, &ro, &out, &d);
    rp_buf_free(&out);
    rp_template_partials(t, on_partial, NULL);
    rp_template_walk_names(t, on_name, NULL, &d);
    rp_template_check_partials(t, &d);
    rp_template_free(t);
  }
  rp_diags_free(&d);
  rp_library_free(lib);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  const char *src, *json;
  size_t srclen, jsonlen;
  fuzz_split(data, size, &src, &srclen, &json, &jsonlen);

  rp_doc_reset(doc);
  rp_value globals;
  rp_value tree = fuzz_data_tree(doc, &globals);
  rp_value root = tree;
  if (json) {
    rp_diags d = RP_DIAGS_INIT;
    rp_value v;
    if (rp_json_parse(doc, "fuzz.json", json, jsonlen, &d, &v) == RP_OK) {
      root = v;
      globals = tree;
    }
    rp_diags_free(&d);
  }
  run(src, srclen, false, root, globals);
  run(src, srclen, true, root, globals);
  return 0;
}
