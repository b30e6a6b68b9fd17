// Rapport's Mustache engine: compile a template once, render it many times.
//
// The engine implements the whole Mustache specification (interpolation,
// sections, inverted sections, comments, partials, set delimiters, and the
// optional lambdas, inheritance and dynamic names) plus one extension,
// filters: `{{ value | filter "arg" 3 | other }}`.
//
// It knows nothing of where data comes from. It reads values through a small
// context interface (rp_ctx_ops) that a data source implements: the C data
// tree in core/data does, and so can a Lua layer or a test. Values are opaque
// handles (rp_value) that only the implementation interprets.
//
// Thread safety: a compiled rp_template is read-only after rp_template_compile
// returns, so any number of threads may render it at once, each with its own
// output buffer and context. The rp_library that owns partials is safe to use
// from several threads (partials are compiled on first use under a lock).
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

// ---------------------------------------------------------------------------
// The context interface
// ---------------------------------------------------------------------------

// An opaque handle on a value of the data source. Two words, copied freely;
// its meaning belongs to the rp_ctx_ops that produced it.
typedef struct rp_value {
  const void *p;
  uintptr_t n;
} rp_value;

typedef enum rp_kind {
  RP_KIND_NULL,
  RP_KIND_BOOL,
  RP_KIND_NUMBER,
  RP_KIND_STRING,
  RP_KIND_LIST,
  RP_KIND_MAP,
  RP_KIND_LAMBDA,
} rp_kind;

// How the engine reads data. Every function receives the `ud` of the rp_ctx.
// All members are required unless marked optional.
typedef struct rp_ctx_ops {
  rp_kind (*kind)(void *ud, rp_value v);
  // Looks up `key` (not NUL-terminated) in a MAP value. Returns true and sets
  // *out when the map has the key, even when its value is null.
  bool (*get)(void *ud, rp_value map, const char *key, size_t keylen, rp_value *out);
  // Number of elements of a LIST (and of entries of a MAP, for filters).
  size_t (*len)(void *ud, rp_value v);
  // Element i (0-based, i < len) of a LIST.
  rp_value (*at)(void *ud, rp_value list, size_t i);
  // The text of a STRING (raw bytes, unescaped) or of a NUMBER (printed as
  // JavaScript prints it: 33, 1.21, 1e+21). The bytes stay valid as long as
  // the value does. Returns NULL for other kinds.
  const char *(*str)(void *ud, rp_value v, size_t *len);
  // The value of a NUMBER.
  double (*number)(void *ud, rp_value v);
  // The value of a BOOL.
  bool (*boolean)(void *ud, rp_value v);
  // Optional. Calls a LAMBDA. `text` is the raw section text for a section
  // lambda, NULL for an interpolation. Appends the lambda's result (a
  // template that the engine then renders) to `out`. On failure returns a
  // negative rp_status and may set *errmsg to a malloc'd message that names
  // the lambda's source position (never a field value); the engine frees it.
  int (*call)(void *ud, rp_value fn, const char *text, size_t textlen, rp_buf *out, char **errmsg);
  // Optional. The engine brackets each element of a section with
  // mark()/release(mark) so that an implementation holding values on a stack
  // can drop the ones the element produced.
  size_t (*mark)(void *ud);
  void (*release)(void *ud, size_t mark);
} rp_ctx_ops;

typedef struct rp_ctx {
  const rp_ctx_ops *ops;
  void *ud;
  rp_value root;  // the bottom of the context stack
} rp_ctx;

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

// A value travelling through a filter chain: either a value of the context
// (from_ctx) or a scalar a filter made.
typedef struct rp_fval {
  bool missing;   // the name was not found (or a filter produced nothing)
  bool from_ctx;  // `v` is a context value; otherwise the scalar fields below
  rp_kind kind;   // NULL, BOOL, NUMBER or STRING for a made scalar
  rp_value v;
  const char *s;  // STRING: bytes; NUMBER: its text when known (else NULL)
  size_t len;
  double num;
  bool b;
} rp_fval;

typedef struct rp_farg {
  bool is_number;
  const char *s;  // the string argument with escapes resolved (NUL-terminated)
  size_t len;
  double num;
} rp_farg;

// What a filter sees. `scratch` is a buffer the filter may append its string
// result to (and point out->s at); it is emptied before each call and stays
// valid until the next filter in the chain has run.
typedef struct rp_filter_call {
  const rp_ctx *ctx;
  const rp_fval *in;
  const rp_farg *args;
  size_t nargs;
  rp_buf *scratch;
  rp_fval *out;
  char **errmsg;  // a filter may set a malloc'd message on failure
  void *user;     // rp_render_opts.user of the render
} rp_filter_call;

// Returns RP_OK, or a negative rp_status with *call->errmsg set.
typedef int (*rp_filter_fn)(const rp_filter_call *call, void *ud);

typedef struct rp_filters rp_filters;

// A registry of named filters. rp_filters_new returns an empty registry;
// rp_filters_add_builtins adds upper, lower, default, join, date and count
// (documented in docs/templates.md). A later add of the same name replaces
// the earlier one. The registry must outlive every template compiled with it.
rp_filters *rp_filters_new(void);
void rp_filters_free(rp_filters *f);
void rp_filters_add(rp_filters *f, const char *name, rp_filter_fn fn, void *ud);
void rp_filters_add_builtins(rp_filters *f);

// Helpers for filter implementations: the kind of an rp_fval and its text
// (strings, numbers, booleans; NULL for other kinds).
rp_kind rp_fval_kind(const rp_filter_call *call, const rp_fval *v);
const char *rp_fval_str(const rp_filter_call *call, const rp_fval *v, size_t *len);
bool rp_fval_truthy(const rp_filter_call *call, const rp_fval *v);

// ---------------------------------------------------------------------------
// Libraries of templates (partials) and compiling
// ---------------------------------------------------------------------------

// Finds the source of the partial or parent template `name`. Returns 1 and
// sets *src/*srclen (malloc'd, the library takes ownership) and *path
// (malloc'd, for messages) when found, 0 when there is no such template, or
// a negative rp_status after adding a diagnostic (e.g. a read error).
typedef int (*rp_loader_fn)(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                            char **path, rp_diags *diags);

typedef struct rp_library_opts {
  rp_loader_fn loader;  // may be NULL: only templates added with rp_library_add
  void *loader_ud;
  const rp_filters *filters;  // may be NULL: no filters known
  bool strict;                // a missing name or partial is an error
  int max_depth;              // partial/parent/lambda nesting; 0 means 200
  // Called with loader_ud when the library is freed (may be NULL), so a
  // loader's state lives exactly as long as its library.
  void (*loader_free)(void *ud);
} rp_library_opts;

typedef struct rp_library rp_library;
typedef struct rp_template rp_template;

rp_library *rp_library_new(const rp_library_opts *opts);
// Frees the library and every template it compiled or was given.
void rp_library_free(rp_library *lib);

// Compiles `src` under `name` (for partial lookup) and `path` (for
// messages) and keeps it in the library, replacing any template of that
// name. Problems go to `diags`, all of them. Returns the template (owned by
// the library), or NULL when the source has errors.
rp_template *rp_library_add(rp_library *lib, const char *name, const char *path, const char *src,
                            size_t srclen, rp_diags *diags);

// Returns the template named `name`, loading and compiling it through the
// loader on first use; NULL when there is none or it has errors (reported to
// diags). Thread-safe.
rp_template *rp_library_get(rp_library *lib, const char *name, size_t namelen, rp_diags *diags);

// Compiles a template that is not a partial (e.g. the top-level template of a
// command). The caller owns the result and frees it with rp_template_free
// before freeing the library. Returns NULL when there are errors; every error
// of the source is in `diags`.
rp_template *rp_template_compile(rp_library *lib, const char *path, const char *src, size_t srclen,
                                 rp_diags *diags);
void rp_template_free(rp_template *t);

// In strict mode, reports every statically named partial or parent that the
// template (and, transitively, its partials) uses but the library cannot find.
// Returns the number of problems added to diags.
size_t rp_template_check_partials(const rp_template *t, rp_diags *diags);

const char *rp_template_path(const rp_template *t);

// Calls fn with the name of every partial and parent the template names
// statically, and, transitively, those of the ones the library finds (a
// name it cannot find is still reported: adding that template later changes
// the output). Returns true when the output may also depend on templates
// named at render time (a dynamic name; a lambda's output is not seen
// either). For rebuilding exactly the outputs
// a changed template affects.
typedef void (*rp_partial_fn)(void *ud, const char *name, size_t len);
bool rp_template_partials(const rp_template *t, rp_partial_fn fn, void *ud);

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

typedef enum rp_escape {
  RP_ESCAPE_HTML,  // & < > " ' become entities (the default)
  RP_ESCAPE_NONE,  // interpolations are copied as they are
} rp_escape;

// Appends s, escaped for the output's language, to out: e.g. Markdown for
// note layouts (rp_output_escape_markdown in core/notes/output.h).
typedef void (*rp_escape_fn)(rp_buf *out, const char *s, size_t len);

typedef struct rp_render_opts {
  rp_escape escape;
  // When set, escapes every {{value}} instead of `escape` ({{{value}}} and
  // {{&value}} stay unescaped). Called once per value.
  rp_escape_fn escape_fn;
  // Handed to filters (rp_filter_call.user): e.g. the plugin set whose Lua
  // functions implement them, one per rendering thread.
  void *user;
  // Names looked up after the whole context stack: a value of the same
  // context (e.g. a map of lambdas) pushed below the root. Ignored when
  // has_globals is false.
  bool has_globals;
  rp_value globals;
} rp_render_opts;

// A render's bounds. Nesting alone does not bound a render: a partial
// included twice inside a section, over data 40 levels deep, expands 2^40
// times, and so does a lambda that returns two copies of itself. So every
// render also counts its work and its output, and stops with an error at the
// tag being rendered when either passes its limit. The limits are far above
// any honest note (a note of a few pages takes some thousands of steps and
// kilobytes; a list of a million items, some millions of steps):
// - RP_RENDER_MAX_WORK steps: one per tag or text rendered and per element
//   of a section, RP_RENDER_LAMBDA_COST per lambda call (a call into a
//   plugin costs a thousand tags) and RP_RENDER_FILTER_COST per filter call;
// - RP_RENDER_MAX_OUTPUT bytes written by one render (counted in each buffer
//   it writes: the output, and a lambda's expansion before it is printed).
#define RP_RENDER_MAX_WORK 50000000ULL
#define RP_RENDER_LAMBDA_COST 1000
#define RP_RENDER_FILTER_COST 100
#define RP_RENDER_MAX_OUTPUT ((size_t)256 << 20)

// Renders `t` against `ctx`, appending to `out`. opts may be NULL. Returns
// RP_OK; or a negative status after adding diagnostics (a missing name in
// strict mode, a lambda or filter failure, nesting too deep, the render's
// work or output past its bound: RP_ELIMIT). On failure `out` holds a
// partial result that the caller must not use as a note.
int rp_template_render(const rp_template *t, const rp_ctx *ctx, const rp_render_opts *opts,
                       rp_buf *out, rp_diags *diags);

// Calls fn for every name the template (and, once each, the partials and
// parents it names statically) looks up: variables, sections, inverted
// sections. `depth` is the number of sections around the tag (0: the name is
// looked up in the data's root); `path` is the template the tag is in.
// Dynamic names and lambdas' output are not visited. For cross-checks such as
// "the layout uses a field the note type does not have".
typedef void (*rp_name_fn)(void *ud, const char *path, const char *name, int line, int col,
                           int depth);
void rp_template_walk_names(const rp_template *t, rp_name_fn fn, void *ud, rp_diags *diags);
