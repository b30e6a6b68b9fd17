// What the fuzz targets share: libFuzzer's entry points, a data tree with a
// value of every kind, and a context that stops handing out data after a
// budget of lookups.
//
// Mustache output can grow exponentially with the input (sections over lists
// nested in each other: {{#l}}{{#l}}{{#l}}...), and the engine has no limit
// on total work, by design: a render does what its template says. A fuzz
// target must still return quickly, so the template targets read their data
// through fuzz_budget_ops: once the budget is spent, every value reads as
// null and every list as empty, sections end, and the render finishes in
// time linear in what it has already done.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"
#include "template/template.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_budget {
  rp_doc *doc;
  long left;  // lookups left: kind, len and call each take one
} fuzz_budget;

extern const rp_ctx_ops fuzz_budget_ops;

// A context over `doc` whose lookups stop after `budget` of them.
rp_ctx fuzz_budget_ctx(fuzz_budget *b, rp_doc *doc, rp_value root, long budget);

// Builds, in doc, a map with a value of every kind: strings (ASCII, UTF-8,
// dates, Markdown and HTML specials), numbers (0, -0, 1.5, 1e21, ...),
// booleans, null, lists, nested maps and lambdas (see fuzz_common.c). Sets
// *globals to a map of lambdas for rp_render_opts.globals.
rp_value fuzz_data_tree(rp_doc *doc, rp_value *globals);

// Splits [data, data + size) at the first NUL: the part before it in *a, the
// part after it (NULL and 0 when there is no NUL) in *b.
void fuzz_split(const uint8_t *data, size_t size, const char **a, size_t *alen, const char **b,
                size_t *blen);

// The session targets: the built-in plugins, loaded once, and the SOAP note
// type's schema from them.
void fuzz_session_init(void);

// Parses one session with `parse` (rp_yaml_parse_text or rp_json_parse),
// validates it against the SOAP schema and writes the typed session as JSON,
// then builds its note through the plugins as `rapport render` does.
typedef int (*fuzz_parse_fn)(rp_doc *doc, const char *path, const char *src, size_t len,
                             rp_diags *diags, rp_value *root);
void fuzz_session_run(fuzz_parse_fn parse, const char *path, const char *src, size_t len);
