// Fuzzes filters: their syntax (`{{ x | f "a" 1 | g }}`) and the built-in
// filters (upper, lower, default, join, date, count) on values of every
// kind.
//
// Input: lines of filter expressions. Each line becomes one tag, `{{ LINE }}`
// (a line starting with '&' becomes `{{& REST }}`), so that most of what the
// fuzzer writes is a filter chain rather than template text; the tags are
// compiled as one template and rendered against the fixed tree of
// fuzz_common.c.
#include <string.h>

#include "data/data.h"
#include "fuzz_common.h"
#include "template/template.h"
#include "util/buf.h"

enum {
  INPUT_CAP = 8 * 1024,
  BUDGET = 20000,
};

static rp_filters *filters;
static rp_library *lib;
static rp_doc *doc;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  rp_library_opts lo = {.filters = filters};
  lib = rp_library_new(&lo);
  doc = rp_doc_new();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  rp_buf src = RP_BUF_INIT;
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    if (p < stop && *p == '&') {
      rp_buf_adds(&src, "{{& ");
      p++;
    } else {
      rp_buf_adds(&src, "{{ ");
    }
    rp_buf_add(&src, p, (size_t)(stop - p));
    rp_buf_adds(&src, " }}\n");
    p = nl ? nl + 1 : end;
  }

  rp_diags d = RP_DIAGS_INIT;
  rp_template *t =
      rp_template_compile(lib, "filters.mustache", src.data ? src.data : "", src.len, &d);
  if (t) {
    rp_doc_reset(doc);
    rp_value globals;
    rp_value root = fuzz_data_tree(doc, &globals);
    fuzz_budget b;
    rp_ctx ctx = fuzz_budget_ctx(&b, doc, root, BUDGET);
    rp_render_opts ro = {.escape = RP_ESCAPE_HTML, .has_globals = true, .globals = globals};
    rp_buf out = RP_BUF_INIT;
    rp_template_render(t, &ctx, &ro, &out, &d);
    rp_buf_free(&out);
    rp_template_free(t);
  }
  rp_diags_free(&d);
  rp_buf_free(&src);
  return 0;
}
