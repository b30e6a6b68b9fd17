// The renderer: walks a compiled template against a context.
//
// State lives in one `render` struct per call, so a compiled template is never
// written to (apart from the atomic partial cache) and many threads may render
// it at once.
//
// Indentation. A standalone partial or parent tag indents every line of what
// it includes by the whitespace before the tag, as if each line of its source
// were indented before rendering (the spec's words): a line that starts with
// a tag is indented even when it renders empty, a line empty in the source is
// not; lines of interpolated values are left alone, as the spec asks. Blocks ({{$name}}) are
// re-indented: the indentation of a block's content where it was written is removed, and the
// indentation of the site where it is expanded is added. Both are done at
// render time with two numbers: `indent` (added at the start of each line of
// template text) and `strip` (leading whitespace removed from each line of
// template text). Nested sites compose: a site's own indentation is template
// text too, so it is stripped and indented like any other line.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "template/internal.h"
#include "util/number.h"

typedef struct frame {
  const rp_template *t;
  const rp_node *parent;  // a PARENT node whose block children override
} frame;

typedef struct indent_state {
  size_t indentlen;
  size_t strip;
  bool active;
} indent_state;

typedef struct render {
  const rp_ctx_ops *ops;
  void *ud;
  rp_library *lib;
  rp_buf *out;
  rp_buf *main_out;         // the caller's buffer (out is a lambda's while it expands)
  size_t out_base;          // main_out's length when the render began
  unsigned long long work;  // steps so far (RP_RENDER_MAX_WORK)
  // The outermost lambda tag being expanded: positions inside an expansion
  // are in the lambda's text, so bounds are reported at the tag instead.
  const rp_template *site_t;
  const rp_node *site_n;
  rp_diags *diags;
  rp_escape escape;
  rp_escape_fn escape_fn;
  void *user;
  bool strict;
  int max_depth;
  int depth;
  int nest;    // sections open, across partials: bounds the C stack
  int status;  // the first failure; rendering goes on to report more
  bool stop;   // a failure after which going on makes no sense
  rp_value *stack;
  size_t sp, stackcap;
  rp_buf indent;
  size_t strip;
  bool active;  // indent or strip in force
  bool at_line_start;
  bool mid_line;  // at_line_start, but the line began before: strip, don't indent
  frame *frames;
  size_t nframes, framecap;
  const rp_node **blocks;  // overrides being rendered now, innermost last
  size_t nblocks, blockcap;
  rp_buf scratch[2];
} render;

static void render_nodes(render *r, const rp_template *t, uint32_t from, uint32_t to);

static void rerror(render *r, const rp_template *t, const rp_node *n, rp_status st, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void rerror(render *r, const rp_template *t, const rp_node *n, rp_status st, const char *fmt,
                   ...) {
  if (r->status == RP_OK) r->status = st;
  if (st == RP_ELIMIT) r->stop = true;
  // One message per tag and render: a missing name inside a loop of a
  // thousand items is one problem, not a thousand.
  for (size_t i = 0; i < r->diags->n; i++) {
    const rp_diag *d = &r->diags->items[i];
    if (d->line == n->line && d->col == n->col && strcmp(d->path, t->path) == 0) return;
  }
  va_list ap;
  va_start(ap, fmt);
  rp_diags_vadd(r->diags, RP_SEV_ERROR, t->path, n->line, n->col, fmt, ap);
  va_end(ap);
}

// --- output -----------------------------------------------------------------

static const char *const html_entities[256] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
};

static const bool html_special[256] = {
    ['&'] = true, ['<'] = true, ['>'] = true, ['"'] = true, ['\''] = true,
};

// Index of the first byte of s[0..len) that HTML escaping replaces, or len.
// Eight bytes at a time: the five specials pair up as & and ' (0x26, 0x27),
// < and > (0x3C, 0x3E) and " alone, so three zero-byte tests cover them. A
// byte of the word equal to a special comes out as a zero byte of x; the
// test flags every zero byte and, through borrows, perhaps bytes above one,
// never a byte below, so on a little-endian word the lowest flag is exact.
static size_t html_skip(const unsigned char *s, size_t len) {
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time where the processor has SSE2 (every x86-64).
  const __m128i vamp = _mm_set1_epi8('&'), vapos = _mm_set1_epi8('\''), vquot = _mm_set1_epi8('"'),
                vlt = _mm_set1_epi8('<'), vgt = _mm_set1_epi8('>');
  for (; len - i >= 16; i += 16) {
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i m =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, vamp), _mm_cmpeq_epi8(w, vapos)),
                     _mm_or_si128(_mm_cmpeq_epi8(w, vquot),
                                  _mm_or_si128(_mm_cmpeq_epi8(w, vlt), _mm_cmpeq_epi8(w, vgt))));
    unsigned hit = (unsigned)_mm_movemask_epi8(m);
    if (hit) return i + (unsigned)__builtin_ctz(hit);
  }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; len - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    uint64_t amp = (w ^ (ones * 0x26)) & ~ones, lt = (w ^ (ones * 0x3C)) & ~(ones * 2),
             quot = w ^ (ones * '"');
    uint64_t hit = (((amp - ones) & ~amp) | ((lt - ones) & ~lt) | ((quot - ones) & ~quot)) & high;
    if (hit) return i + (unsigned)__builtin_ctzll(hit) / 8;
  }
#endif
  while (i < len && !html_special[s[i]])
    i++;
  return i;
}

static void add_escaped(rp_buf *out, const char *s, size_t len) {
  // Most values need no escaping: make room once and copy runs.
  if (out->cap - out->len <= len) rp_buf_grow(out, len);
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    size_t run = html_skip(p, (size_t)(end - p));
    rp_buf_add(out, (const char *)p, run);
    p += run;
    if (p == end) break;
    rp_buf_adds(out, html_entities[*p]);
    p++;
  }
}

// Template text: subject to indentation.
static void emit_text(render *r, const char *s, size_t len) {
  if (!r->active) {
    rp_buf_add(r->out, s, len);
    return;
  }
  const char *end = s + len;
  while (s < end) {
    if (r->at_line_start) {
      size_t k = 0;
      while (k < r->strip && s + k < end && (s[k] == ' ' || s[k] == '\t'))
        k++;
      s += k;
      if (s == end) return;
      bool empty_line = *s == '\n' || (*s == '\r' && s + 1 < end && s[1] == '\n');
      if (!empty_line && !r->mid_line) rp_buf_add(r->out, r->indent.data, r->indent.len);
      r->at_line_start = false;
      r->mid_line = false;
    }
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
    rp_buf_add(r->out, s, n);
    s += n;
    if (nl) r->at_line_start = true;
  }
}

// Interpolated values: indented only where a line of the template starts.
static void emit_value(render *r, const char *s, size_t len, bool escape) {
  if (len == 0) return;
  if (r->active && r->at_line_start) {
    if (!r->mid_line) rp_buf_add(r->out, r->indent.data, r->indent.len);
    r->at_line_start = false;
    r->mid_line = false;
  }
  if (escape && r->escape_fn)
    r->escape_fn(r->out, s, len);
  else if (escape && r->escape == RP_ESCAPE_HTML)
    add_escaped(r->out, s, len);
  else
    rp_buf_add(r->out, s, len);
}

static indent_state indent_save(const render *r) {
  return (indent_state){r->indent.len, r->strip, r->active};
}

static void indent_restore(render *r, indent_state s) {
  r->indent.len = s.indentlen;
  r->strip = s.strip;
  r->active = s.active;
}

// Adds a site's indentation, itself a piece of template text of the current
// level, so the current strip applies to it first.
static void indent_push(render *r, const char *s, size_t len) {
  size_t k = 0;
  while (k < r->strip && k < len && (s[k] == ' ' || s[k] == '\t'))
    k++;
  rp_buf_add(&r->indent, s + k, len - k);
}

// --- bounds -------------------------------------------------------------------

// Counts one step of work and checks the render's bounds (template.h): past
// either, reports it at the tag about to be rendered and stops the render.
static bool within_bounds(render *r, const rp_template *t, const rp_node *n) {
  if (r->site_n) t = r->site_t, n = r->site_n;
  size_t written = r->out->len - (r->out == r->main_out ? r->out_base : 0);
  if (written > RP_RENDER_MAX_OUTPUT) {
    rerror(r, t, n, RP_ELIMIT,
           "the output passes %zu MiB (do partials or lambdas multiply each other?)",
           RP_RENDER_MAX_OUTPUT >> 20);
    return false;
  }
  if (++r->work > RP_RENDER_MAX_WORK) {
    rerror(r, t, n, RP_ELIMIT,
           "this render takes more than %llu steps (do partials or lambdas multiply each other?)",
           RP_RENDER_MAX_WORK);
    return false;
  }
  return true;
}

// --- the context stack and name lookup --------------------------------------

static void push(render *r, rp_value v) {
  if (r->sp == r->stackcap) {
    r->stackcap = r->stackcap ? r->stackcap * 2 : 32;
    r->stack = rp_xrealloc(r->stack, r->stackcap * sizeof *r->stack);
  }
  r->stack[r->sp++] = v;
}

// What a name lookup found. NO_ELEMENT is an index past the end of a list
// the data has (items.0 of an empty list): nothing to show, as for a missing
// name, but not a mistake in the template, so strict mode does not report it
// and `{{#items.0}}` stays the way to test that a list has items.
typedef enum { NAME_MISSING, NAME_FOUND, NAME_NO_ELEMENT } name_lookup;

static name_lookup lookup(render *r, const rp_name *name, rp_value *out) {
  if (name->nparts == 0) {
    *out = r->stack[r->sp - 1];
    return NAME_FOUND;
  }
  const rp_name_part *part = &name->parts[0];
  rp_value v;
  size_t d = r->sp;
  for (;;) {
    if (d == 0) return NAME_MISSING;
    d--;
    rp_value frame_v = r->stack[d];
    if (r->ops->kind(r->ud, frame_v) == RP_KIND_MAP &&
        r->ops->get(r->ud, frame_v, part->s, part->len, &v))
      break;
  }
  // Once the first part is found, the rest must resolve inside it: no
  // falling back to outer contexts (the spec's "broken chains").
  for (uint32_t i = 1; i < name->nparts; i++) {
    part = &name->parts[i];
    rp_kind k = r->ops->kind(r->ud, v);
    if (k == RP_KIND_LIST) {
      // items.0 is the first element, as in JavaScript (and mustache.js).
      size_t idx = 0;
      bool digits = part->len > 0 && part->len < 10;
      for (uint32_t j = 0; j < part->len && digits; j++) {
        digits = part->s[j] >= '0' && part->s[j] <= '9';
        idx = idx * 10 + (size_t)(part->s[j] - '0');
      }
      if (!digits) return NAME_MISSING;
      if (idx >= r->ops->len(r->ud, v)) return NAME_NO_ELEMENT;
      v = r->ops->at(r->ud, v, idx);
      continue;
    }
    if (k != RP_KIND_MAP || !r->ops->get(r->ud, v, part->s, part->len, &v)) return NAME_MISSING;
  }
  *out = v;
  return NAME_FOUND;
}

static bool truthy(render *r, rp_value v, rp_kind k) {
  switch (k) {
    case RP_KIND_NULL:
      return false;
    case RP_KIND_BOOL:
      return r->ops->boolean(r->ud, v);
    case RP_KIND_NUMBER: {
      double d = r->ops->number(r->ud, v);
      return d != 0 && !isnan(d);
    }
    case RP_KIND_STRING: {
      size_t len = 0;
      r->ops->str(r->ud, v, &len);
      return len > 0;
    }
    case RP_KIND_LIST:
      return r->ops->len(r->ud, v) > 0;
    case RP_KIND_MAP:
    case RP_KIND_LAMBDA:
      return true;
  }
  return false;
}

// Text of a value as JavaScript's String() gives it, which is what
// mustache.js prints: lists join their elements with commas.
static void js_text(render *r, rp_value v, rp_buf *b, int depth) {
  switch (r->ops->kind(r->ud, v)) {
    case RP_KIND_NULL:
    case RP_KIND_LAMBDA:
      return;
    case RP_KIND_BOOL:
      rp_buf_adds(b, r->ops->boolean(r->ud, v) ? "true" : "false");
      return;
    case RP_KIND_NUMBER:
    case RP_KIND_STRING: {
      size_t len = 0;
      const char *s = r->ops->str(r->ud, v, &len);
      rp_buf_add(b, s, len);
      return;
    }
    case RP_KIND_MAP:
      rp_buf_adds(b, "[object Object]");
      return;
    case RP_KIND_LIST: {
      if (depth > 64) return;
      size_t n = r->ops->len(r->ud, v);
      for (size_t i = 0; i < n; i++) {
        if (i) rp_buf_addc(b, ',');
        size_t m = r->ops->mark ? r->ops->mark(r->ud) : 0;
        js_text(r, r->ops->at(r->ud, v, i), b, depth + 1);
        if (r->ops->release) r->ops->release(r->ud, m);
      }
      return;
    }
  }
}

// --- lambdas ------------------------------------------------------------------

static bool enter(render *r, const rp_template *t, const rp_node *n, const char *what) {
  if (r->depth >= r->max_depth) {
    rerror(r, t, n, RP_ELIMIT, "%s nested deeper than %d levels (does a template include itself?)",
           what, r->max_depth);
    return false;
  }
  r->depth++;
  return true;
}

// Calls a lambda and compiles what it returns. NULL on failure (reported).
static rp_template *call_lambda(render *r, const rp_template *t, const rp_node *n, rp_value fn,
                                const char *text, size_t textlen, const char *otag,
                                const char *ctag) {
  if (!r->ops->call) {
    rerror(r, t, n, RP_ELAMBDA, "'%s' is a lambda, and lambdas are not available here",
           n->name.full);
    return NULL;
  }
  rp_buf res = RP_BUF_INIT;
  char *msg = NULL;
  r->work += RP_RENDER_LAMBDA_COST;
  int rc = r->ops->call(r->ud, fn, text, textlen, &res, &msg);
  if (rc < 0) {
    rerror(r, t, n, RP_ELAMBDA, "lambda '%s' failed: %s", n->name.full,
           msg ? msg : rp_status_text((rp_status)rc));
    free(msg);
    rp_buf_free(&res);
    return NULL;
  }
  free(msg);
  rp_diags tmp = RP_DIAGS_INIT;
  rp_template *lt = rp_template_compile_delims(r->lib, t->path, res.data ? res.data : "", res.len,
                                               otag, ctag, &tmp);
  if (!lt) {
    rerror(r, t, n, RP_ELAMBDA, "lambda '%s' returned an invalid template: %s", n->name.full,
           tmp.n ? tmp.items[0].msg : "syntax error");
  }
  rp_diags_free(&tmp);
  rp_buf_free(&res);
  return lt;
}

static void interpolate_lambda(render *r, const rp_template *t, const rp_node *n, rp_value fn,
                               bool escape) {
  if (!enter(r, t, n, "lambdas")) return;
  rp_template *lt = call_lambda(r, t, n, fn, NULL, 0, "{{", "}}");
  if (lt) {
    // The expansion is rendered on its own, then printed as one value.
    rp_buf tmp = RP_BUF_INIT, *saved = r->out;
    indent_state is = indent_save(r);
    bool als = r->at_line_start;
    r->active = false;
    r->out = &tmp;
    bool outer = !r->site_n;
    if (outer) r->site_t = t, r->site_n = n;
    render_nodes(r, lt, 0, lt->nnodes);
    if (outer) r->site_t = NULL, r->site_n = NULL;
    r->out = saved;
    indent_restore(r, is);
    r->at_line_start = als;
    emit_value(r, tmp.data, tmp.len, escape);
    rp_buf_free(&tmp);
    rp_template_free(lt);
  }
  r->depth--;
}

// --- filters -----------------------------------------------------------------

rp_kind rp_fval_kind(const rp_filter_call *call, const rp_fval *v) {
  if (v->missing) return RP_KIND_NULL;
  if (v->from_ctx) return call->ctx->ops->kind(call->ctx->ud, v->v);
  return v->kind;
}

const char *rp_fval_str(const rp_filter_call *call, const rp_fval *v, size_t *len) {
  *len = 0;
  if (v->missing) return NULL;
  if (v->from_ctx) {
    rp_kind k = call->ctx->ops->kind(call->ctx->ud, v->v);
    if (k == RP_KIND_STRING || k == RP_KIND_NUMBER)
      return call->ctx->ops->str(call->ctx->ud, v->v, len);
    if (k == RP_KIND_BOOL) {
      const char *s = call->ctx->ops->boolean(call->ctx->ud, v->v) ? "true" : "false";
      *len = strlen(s);
      return s;
    }
    return NULL;
  }
  if (v->kind == RP_KIND_STRING || (v->kind == RP_KIND_NUMBER && v->s)) {
    *len = v->len;
    return v->s;
  }
  if (v->kind == RP_KIND_BOOL) {
    *len = v->b ? 4 : 5;
    return v->b ? "true" : "false";
  }
  return NULL;
}

bool rp_fval_truthy(const rp_filter_call *call, const rp_fval *v) {
  if (v->missing) return false;
  if (!v->from_ctx) {
    switch (v->kind) {
      case RP_KIND_BOOL:
        return v->b;
      case RP_KIND_NUMBER:
        return v->num != 0 && !isnan(v->num);
      case RP_KIND_STRING:
        return v->len > 0;
      case RP_KIND_NULL:
        return false;
      default:
        return true;
    }
  }
  const rp_ctx_ops *ops = call->ctx->ops;
  void *ud = call->ctx->ud;
  rp_kind k = ops->kind(ud, v->v);
  switch (k) {
    case RP_KIND_NULL:
      return false;
    case RP_KIND_BOOL:
      return ops->boolean(ud, v->v);
    case RP_KIND_NUMBER: {
      double d = ops->number(ud, v->v);
      return d != 0 && !isnan(d);
    }
    case RP_KIND_STRING: {
      size_t len = 0;
      ops->str(ud, v->v, &len);
      return len > 0;
    }
    case RP_KIND_LIST:
      return ops->len(ud, v->v) > 0;
    default:
      return true;
  }
}

static void interpolate_filtered(render *r, const rp_template *t, const rp_node *n,
                                 name_lookup found, rp_value v, bool escape) {
  rp_ctx ctx = {r->ops, r->ud, {0}};
  rp_fval cur = {0};
  cur.missing = found != NAME_FOUND;
  cur.from_ctx = found == NAME_FOUND;
  cur.v = v;
  for (uint32_t i = 0; i < n->nfilters; i++) {
    const rp_filter_ref *f = &n->filters[i];
    rp_buf *scratch = &r->scratch[i % 2];
    rp_buf_clear(scratch);
    rp_fval out = {0};
    out.missing = true;
    char *msg = NULL;
    rp_filter_call call = {&ctx, &cur, f->args, f->nargs, scratch, &out, &msg, r->user};
    r->work += RP_RENDER_FILTER_COST;
    int rc = f->fn(&call, f->ud);
    if (rc < 0) {
      rerror(r, t, n, RP_EFILTER, "filter '%s' failed: %s", f->name,
             msg ? msg : rp_status_text((rp_status)rc));
      free(msg);
      return;
    }
    free(msg);
    if (!out.missing && !out.from_ctx && out.kind == RP_KIND_NUMBER && !out.s) {
      // Give a made number its text, so the next filter can read it.
      char num[RP_NUMBER_BUF];
      size_t nlen = rp_number_format(out.num, num);
      size_t at = scratch->len;
      rp_buf_add(scratch, num, nlen);
      out.s = scratch->data + at;
      out.len = nlen;
    }
    cur = out;
  }
  if (cur.missing) {
    // A filter that gives nothing for a name that is there is reported as
    // a missing name is; an index past the end of a list is not.
    if (r->strict && found != NAME_NO_ELEMENT)
      rerror(r, t, n, RP_ESTRICT, "'%s' is not defined (strict mode)", n->name.full);
    return;
  }
  if (cur.from_ctx) {
    rp_kind k = r->ops->kind(r->ud, cur.v);
    if (k == RP_KIND_LAMBDA) {
      interpolate_lambda(r, t, n, cur.v, escape);
      return;
    }
    rp_buf tmp = RP_BUF_INIT;
    js_text(r, cur.v, &tmp, 0);
    emit_value(r, tmp.data, tmp.len, escape);
    rp_buf_free(&tmp);
    return;
  }
  char num[RP_NUMBER_BUF];
  switch (cur.kind) {
    case RP_KIND_BOOL:
      emit_value(r, cur.b ? "true" : "false", cur.b ? 4 : 5, escape);
      break;
    case RP_KIND_NUMBER:
      if (cur.s)
        emit_value(r, cur.s, cur.len, escape);
      else
        emit_value(r, num, rp_number_format(cur.num, num), escape);
      break;
    case RP_KIND_STRING:
      emit_value(r, cur.s, cur.len, escape);
      break;
    default:
      break;
  }
}

// --- nodes ---------------------------------------------------------------------

static void interpolate(render *r, const rp_template *t, const rp_node *n) {
  bool escape = n->type == RP_N_VAR;
  rp_value v = {0};
  name_lookup found = lookup(r, &n->name, &v);
  if (n->nfilters) {
    interpolate_filtered(r, t, n, found, v, escape);
    return;
  }
  if (found != NAME_FOUND) {
    if (r->strict && found == NAME_MISSING)
      rerror(r, t, n, RP_ESTRICT, "'%s' is not defined (strict mode)", n->name.full);
    return;
  }
  rp_kind k = r->ops->kind(r->ud, v);
  if (k == RP_KIND_STRING || k == RP_KIND_NUMBER) {
    size_t len = 0;
    const char *s = r->ops->str(r->ud, v, &len);
    emit_value(r, s, len, escape);
  } else if (k == RP_KIND_LAMBDA) {
    interpolate_lambda(r, t, n, v, escape);
  } else if (k != RP_KIND_NULL) {
    rp_buf tmp = RP_BUF_INIT;
    js_text(r, v, &tmp, 0);
    emit_value(r, tmp.data, tmp.len, escape);
    rp_buf_free(&tmp);
  }
}

static void render_section(render *r, const rp_template *t, const rp_node *n) {
  uint32_t self = (uint32_t)(n - t->nodes);
  rp_value v;
  name_lookup found = lookup(r, &n->name, &v);
  if (found != NAME_FOUND) {
    if (r->strict && found == NAME_MISSING)
      rerror(r, t, n, RP_ESTRICT, "'%s' is not defined (strict mode)", n->name.full);
    return;
  }
  rp_kind k = r->ops->kind(r->ud, v);
  switch (k) {
    case RP_KIND_LIST: {
      size_t len = r->ops->len(r->ud, v);
      for (size_t i = 0; i < len && !r->stop; i++) {
        if (!within_bounds(r, t, n)) break;
        size_t m = r->ops->mark ? r->ops->mark(r->ud) : 0;
        push(r, r->ops->at(r->ud, v, i));
        render_nodes(r, t, self + 1, n->end);
        r->sp--;
        if (r->ops->release) r->ops->release(r->ud, m);
      }
      return;
    }
    case RP_KIND_LAMBDA: {
      if (!enter(r, t, n, "lambdas")) return;
      rp_template *lt =
          call_lambda(r, t, n, v, t->src + n->body_off, n->body_len, n->otag, n->ctag);
      if (lt) {
        bool outer = !r->site_n;
        if (outer) r->site_t = t, r->site_n = n;
        render_nodes(r, lt, 0, lt->nnodes);
        if (outer) r->site_t = NULL, r->site_n = NULL;
        rp_template_free(lt);
      }
      r->depth--;
      return;
    }
    case RP_KIND_BOOL:
      if (r->ops->boolean(r->ud, v)) render_nodes(r, t, self + 1, n->end);
      return;
    default:
      if (!truthy(r, v, k)) return;
      push(r, v);
      render_nodes(r, t, self + 1, n->end);
      r->sp--;
      return;
  }
}

static void render_inverted(render *r, const rp_template *t, const rp_node *n) {
  rp_value v;
  name_lookup looked = lookup(r, &n->name, &v);
  bool found = looked == NAME_FOUND;
  if (looked == NAME_MISSING && r->strict) {
    // A misspelt name would otherwise always show the "absent" branch.
    rerror(r, t, n, RP_ESTRICT, "'%s' is not defined (strict mode)", n->name.full);
    return;
  }
  if (found && truthy(r, v, r->ops->kind(r->ud, v))) return;
  uint32_t self = (uint32_t)(n - t->nodes);
  render_nodes(r, t, self + 1, n->end);
}

// Finds the template a partial or parent tag names; NULL when there is none.
static const rp_template *resolve(render *r, const rp_template *t, const rp_node *n) {
  const char *name = n->name.full;
  size_t len = n->name.fulllen;
  if (n->name.dynamic) {
    rp_value v;
    size_t m = r->ops->mark ? r->ops->mark(r->ud) : 0;
    const char *s = NULL;
    if (lookup(r, &n->name, &v) == NAME_FOUND && r->ops->kind(r->ud, v) == RP_KIND_STRING)
      s = r->ops->str(r->ud, v, &len);
    if (!s) {
      if (r->ops->release) r->ops->release(r->ud, m);
      if (r->strict)
        rerror(r, t, n, RP_ESTRICT, "'%s' does not name a partial (strict mode)", n->name.full);
      return NULL;
    }
    // The name is copied: the value may not outlive the release below.
    char buf[256];
    if (len >= sizeof buf) {
      if (r->ops->release) r->ops->release(r->ud, m);
      rerror(r, t, n, RP_ENOTFOUND, "the partial name in '%s' is too long", n->name.full);
      return NULL;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (r->ops->release) r->ops->release(r->ud, m);
    bool failed = false;
    rp_template *pt = rp_library_find_failed(r->lib, buf, len, &failed, r->diags);
    if (failed)
      rerror(r, t, n, RP_ESYNTAX, "partial '%s' has errors", buf);
    else if (!pt && r->strict)
      rerror(r, t, n, RP_ESTRICT, "no partial named '%s' (strict mode)", buf);
    return pt;
  }
  // The tag remembers what it found, for the library generation it found it
  // in: adding or replacing a template starts a new generation.
  rp_node *mn = (rp_node *)n;  // the cache is the one field written after compiling
  unsigned gen = rp_library_generation(r->lib) + 1;
  if (atomic_load_explicit(&mn->cached_gen, memory_order_acquire) == gen) {
    rp_template *pt = atomic_load_explicit(&mn->cached, memory_order_acquire);
    if (!pt && r->strict) rerror(r, t, n, RP_ESTRICT, "no partial named '%s' (strict mode)", name);
    return pt;
  }
  bool failed = false;
  rp_template *pt = rp_library_find_failed(r->lib, name, len, &failed, r->diags);
  if (failed) {
    rerror(r, t, n, RP_ESYNTAX, "partial '%s' has errors", name);
    return NULL;
  }
  atomic_store_explicit(&mn->cached, pt, memory_order_release);
  atomic_store_explicit(&mn->cached_gen, gen, memory_order_release);
  if (!pt && r->strict) rerror(r, t, n, RP_ESTRICT, "no partial named '%s' (strict mode)", name);
  return pt;
}

static void render_partial(render *r, const rp_template *t, const rp_node *n) {
  const rp_template *pt = resolve(r, t, n);
  if (!pt || !enter(r, t, n, "partials")) return;
  indent_state is = indent_save(r);
  if (n->indentlen) {
    indent_push(r, n->indent, n->indentlen);
    r->at_line_start = true;
  }
  r->strip = 0;
  r->active = r->indent.len > 0;
  bool is_parent = n->type == RP_N_PARENT;
  if (is_parent) {
    if (r->nframes == r->framecap) {
      r->framecap = r->framecap ? r->framecap * 2 : 8;
      r->frames = rp_xrealloc(r->frames, r->framecap * sizeof *r->frames);
    }
    r->frames[r->nframes++] = (frame){t, n};
  }
  render_nodes(r, pt, 0, pt->nnodes);
  if (is_parent) r->nframes--;
  indent_restore(r, is);
  r->depth--;
}

// The block child of parent tag p (in template ft) named like n, or NULL.
static const rp_node *find_override(const rp_template *ft, const rp_node *p, const rp_node *n) {
  uint32_t lo = 0, hi = p->nblocks;
  while (lo < hi) {  // the first block whose name is not below n's
    uint32_t mid = lo + (hi - lo) / 2;
    const rp_node *b = &ft->nodes[p->blocks[mid]];
    uint32_t m = b->name.fulllen < n->name.fulllen ? b->name.fulllen : n->name.fulllen;
    int c = memcmp(b->name.full, n->name.full, m);
    if (c == 0) c = b->name.fulllen < n->name.fulllen ? -1 : b->name.fulllen > n->name.fulllen;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == p->nblocks) return NULL;
  const rp_node *b = &ft->nodes[p->blocks[lo]];
  bool same = b->name.fulllen == n->name.fulllen &&
              memcmp(b->name.full, n->name.full, n->name.fulllen) == 0;
  return same ? b : NULL;
}

static void render_block(render *r, const rp_template *t, const rp_node *n) {
  // The outermost override wins: the template that started the chain of
  // parents has the last word over every parent in between.
  // An override being rendered already does not apply to the blocks of the
  // same name inside it ({{$b}}{{$b}}..{{/b}}{{/b}}): they take the next
  // override, or their own content, so that the block cannot expand into
  // itself for ever.
  const rp_template *ct = t;
  const rp_node *cn = n;
  for (size_t f = 0; f < r->nframes; f++) {
    const rp_node *o = find_override(r->frames[f].t, r->frames[f].parent, n);
    bool active = false;
    for (size_t k = 0; o && k < r->nblocks; k++)
      if (r->blocks[k] == o) active = true;
    if (o && !active) {
      ct = r->frames[f].t;
      cn = o;
      break;
    }
  }
  if (!enter(r, t, n, "blocks")) return;
  if (r->nblocks == r->blockcap) {
    r->blockcap = r->blockcap ? 2 * r->blockcap : 8;
    r->blocks = rp_xrealloc(r->blocks, r->blockcap * sizeof *r->blocks);
  }
  r->blocks[r->nblocks++] = cn;
  indent_state is = indent_save(r);
  if (n->standalone) {
    indent_push(r, n->indent, n->indentlen);
    r->at_line_start = true;
  } else if (cn->content_indent) {
    // Content written on lines of its own, expanded in the middle of a
    // line: its first line still loses its own indentation.
    r->at_line_start = true;
    r->mid_line = true;
  }
  r->strip = cn->content_indent;
  r->active = r->indent.len > 0 || r->strip > 0;
  size_t before = r->out->len;
  uint32_t ci = (uint32_t)(cn - ct->nodes);
  render_nodes(r, ct, ci + 1, cn->end);
  r->nblocks--;
  r->depth--;
  indent_restore(r, is);
  if (n->standalone && r->out->len > before) {
    // A standalone block replaces whole lines: end its last line.
    if (r->out->data[r->out->len - 1] != '\n') rp_buf_add(r->out, n->eol, n->eollen);
    r->at_line_start = true;
  }
}

static void render_nodes(render *r, const rp_template *t, uint32_t from, uint32_t to) {
  uint32_t i = from;
  while (i < to && !r->stop) {
    const rp_node *n = &t->nodes[i];
    if (!within_bounds(r, t, n)) break;
    switch ((rp_node_type)n->type) {
      case RP_N_TEXT:
        emit_text(r, n->text, n->len);
        break;
      case RP_N_VAR:
      case RP_N_RAW:
      case RP_N_SECTION:
      case RP_N_INVERTED: {
        // A line that starts with a tag is indented before the tag renders,
        // as if the indentation were written in front of it: what the spec
        // means by indenting each line of a partial before rendering. So a
        // line that renders empty ({{#none}}..{{/none}} then its newline)
        // keeps its indentation; only lines empty in the source have none.
        // A standalone tag's line is not output at all.
        if (r->active && r->at_line_start && !n->standalone) {
          if (!r->mid_line) rp_buf_add(r->out, r->indent.data, r->indent.len);
          r->at_line_start = false;
          r->mid_line = false;
        }
        // Values a lookup produced are dropped once the tag is done, so a
        // stack-based context stays as deep as the template's nesting.
        size_t m = r->ops->mark ? r->ops->mark(r->ud) : 0;
        if (n->type == RP_N_VAR || n->type == RP_N_RAW) {
          interpolate(r, t, n);
        } else if (r->nest >= RP_MAX_RENDER_NESTING) {
          rerror(r, t, n, RP_ELIMIT,
                 "sections nested deeper than %d levels, partials included (does a template "
                 "include itself?)",
                 RP_MAX_RENDER_NESTING);
        } else {
          r->nest++;
          if (n->type == RP_N_SECTION)
            render_section(r, t, n);
          else
            render_inverted(r, t, n);
          r->nest--;
        }
        if (r->ops->release) r->ops->release(r->ud, m);
        break;
      }
      case RP_N_PARTIAL:
      case RP_N_PARENT:
        render_partial(r, t, n);
        break;
      case RP_N_BLOCK:
        render_block(r, t, n);
        break;
    }
    i = n->end;
  }
}

int rp_template_render(const rp_template *t, const rp_ctx *ctx, const rp_render_opts *opts,
                       rp_buf *out, rp_diags *diags) {
  render r = {0};
  r.ops = ctx->ops;
  r.ud = ctx->ud;
  r.lib = t->lib;
  r.out = r.main_out = out;
  r.out_base = out->len;
  r.diags = diags;
  r.escape = opts ? opts->escape : RP_ESCAPE_HTML;
  r.strict = t->lib && t->lib->opts.strict;
  r.max_depth =
      t->lib && t->lib->opts.max_depth > 0 ? t->lib->opts.max_depth : RP_DEFAULT_MAX_DEPTH;
  r.status = RP_OK;
  r.user = opts ? opts->user : NULL;
  r.escape_fn = opts ? opts->escape_fn : NULL;
  r.stackcap = 32;
  r.stack = rp_xmalloc(r.stackcap * sizeof *r.stack);
  if (opts && opts->has_globals) r.stack[r.sp++] = opts->globals;
  r.stack[r.sp++] = ctx->root;
  rp_buf_add(out, "", 0);
  render_nodes(&r, t, 0, t->nnodes);
  free(r.stack);
  free(r.frames);
  free(r.blocks);
  rp_buf_free(&r.indent);
  rp_buf_free(&r.scratch[0]);
  rp_buf_free(&r.scratch[1]);
  return r.status;
}
