// JSON through yajl's callback parser, building straight into the document.
//
// yajl does the lexing and the grammar; this file adds what yajl leaves out
// of strictness (it accepts overlong UTF-8, surrogates, \u0000 and lone
// \uD800 escapes), the depth limit, duplicate keys, and positions: yajl only
// reports how many bytes it has consumed, so each token's start is worked out
// from that count or from where yajl's pointer into the source points.
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include <yajl/yajl_parse.h>

#include "data/internal.h"

// yajl allocates through the core's checked allocators: they count for
// fault injection (util/buf.h), and a failure ends the run through rp_oom()
// instead of reaching yajl, which does not check every allocation.
static void *yajl_x_malloc(void *ctx, size_t n) {
  (void)ctx;
  return rp_xmalloc(n);
}

static void *yajl_x_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  return rp_xrealloc(p, n);
}

static void yajl_x_free(void *ctx, void *p) {
  (void)ctx;
  free(p);
}

yajl_alloc_funcs rp_yajl_alloc_funcs = {yajl_x_malloc, yajl_x_realloc, yajl_x_free, NULL};

typedef struct json_ctx {
  rp_build b;
  yajl_handle h;
  const char *src;  // the text handed to yajl
  size_t len;
  const char *path;
  rp_diags *diags;
  rp_poscur pos;
  size_t last_end;  // offset just past the last token a callback saw
  bool finishing;   // inside yajl_complete_parse, whose offsets mean nothing
  int status;       // set by a callback that refused the input
} json_ctx;

static void report(json_ctx *c, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(json_ctx *c, size_t off, const char *fmt, ...) {
  uint32_t line, col;
  rp_poscur_at(&c->pos, off, &line, &col);
  rp_buf msg = RP_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  rp_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  rp_diags_add(c->diags, RP_SEV_ERROR, c->path, (int)line, (int)col, "invalid JSON: %s", msg.data);
  rp_buf_free(&msg);
}

static bool in_src(const json_ctx *c, const void *p) {
  uintptr_t u = (uintptr_t)p, s = (uintptr_t)c->src;
  return u >= s && u < s + c->len;
}

static size_t consumed(const json_ctx *c) {
  size_t off = yajl_get_bytes_consumed(c->h);
  return off > c->len ? c->len : off;
}

static bool is_token_char(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         ch == '.' || ch == '+' || ch == '-';
}

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

// The opening quote of the string whose closing quote is at `close`: the
// nearest quote before it that an even number of backslashes precedes.
static size_t string_start(const char *s, size_t close) {
  for (size_t i = close; i-- > 0;) {
    if (s[i] != '"') continue;
    size_t bs = 0;
    while (bs < i && s[i - 1 - bs] == '\\')
      bs++;
    if (bs % 2 == 0) return i;
  }
  return 0;
}

// Start of the token that ends at `end`.
static size_t token_start(const json_ctx *c, size_t end) {
  if (end == 0) return 0;
  if (c->src[end - 1] == '"') return string_start(c->src, end - 1);
  if (!is_token_char(c->src[end - 1])) return end - 1;
  size_t i = end - 1;
  while (i > 0 && is_token_char(c->src[i - 1]))
    i--;
  return i;
}

// Start of the last token of the text (what yajl_complete_parse looks at).
static size_t last_token_start(const json_ctx *c) {
  size_t end = c->len;
  while (end > 0 && is_space(c->src[end - 1]))
    end--;
  return token_start(c, end);
}

static int refuse(json_ctx *c, size_t off, int status, const char *what) {
  report(c, off, "%s", what);
  c->status = status;
  return 0;  // stops yajl
}

static int add_scalar(json_ctx *c, rp_node *n) {
  rp_build_value(&c->b, n);
  return 1;
}

static rp_node *node_at(json_ctx *c, rp_kind kind, size_t start) {
  uint32_t line, col;
  rp_poscur_at(&c->pos, start, &line, &col);
  return rp_doc_node(c->b.doc, kind, line, col);
}

// Start of a literal (true, false, null) of n bytes that yajl just read.
static size_t literal_start(json_ctx *c, size_t n) {
  size_t end = consumed(c);
  if (c->finishing || end < n) return last_token_start(c);
  c->last_end = end;
  return end - n;
}

static int on_null(void *ud) {
  json_ctx *c = ud;
  return add_scalar(c, node_at(c, RP_KIND_NULL, literal_start(c, 4)));
}

static int on_boolean(void *ud, int b) {
  json_ctx *c = ud;
  rp_node *n = node_at(c, RP_KIND_BOOL, literal_start(c, b ? 4 : 5));
  n->b = b != 0;
  return add_scalar(c, n);
}

static int on_number(void *ud, const char *s, size_t len) {
  json_ctx *c = ud;
  // A number at the very end of the text reaches us from yajl's own buffer
  // during yajl_complete_parse; it can only be the last token then.
  size_t start = in_src(c, s) ? (size_t)(s - c->src) : last_token_start(c);
  c->last_end = start + len;
  uint32_t line, col;
  rp_poscur_at(&c->pos, start, &line, &col);
  rp_node *n = rp_doc_number_node(c->b.doc, s, len, line, col);
  if (!n) return refuse(c, start, RP_EDATA, "number out of range");
  return add_scalar(c, n);
}

static unsigned hex4(const char *p) {
  unsigned u = 0;
  for (int i = 0; i < 4; i++) {
    char ch = p[i];
    unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : (unsigned)((ch | 0x20) - 'a' + 10);
    u = u * 16 + d;
  }
  return u;
}

// Checks the escapes of a string yajl has decoded: yajl turns \u0000 into a
// NUL byte and a lone surrogate into '?', and both would change the data
// without a word. Returns the offset in raw of the bad escape, or n.
static size_t bad_escape(const char *raw, size_t n, bool *nul) {
  const char *p = raw, *end = raw + n;
  while ((p = memchr(p, '\\', (size_t)(end - p)))) {
    if (p + 1 >= end) break;
    if (p[1] != 'u') {
      p += 2;
      continue;
    }
    if (end - p < 6) break;  // yajl has checked the four hex digits
    unsigned u = hex4(p + 2);
    *nul = u == 0;
    if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF)) return (size_t)(p - raw);
    if (u >= 0xD800 && u <= 0xDBFF) {
      unsigned lo = 0;
      if (end - p >= 12 && p[6] == '\\' && p[7] == 'u') lo = hex4(p + 8);
      if (lo < 0xDC00 || lo > 0xDFFF) return (size_t)(p - raw);
      p += 12;
    } else {
      p += 6;
    }
  }
  return n;
}

// Checks a string token (value or key) and finds where it starts. Returns
// false after reporting a problem.
static bool check_string(json_ctx *c, const unsigned char *s, size_t len, size_t *start) {
  const char *raw;
  size_t rawlen;
  bool escaped = !in_src(c, s);
  if (!escaped) {
    // No escapes: yajl hands us the bytes between the quotes in place.
    *start = (size_t)((const char *)s - c->src) - 1;
    raw = (const char *)s;
    rawlen = len;
    c->last_end = *start + len + 2;
  } else {
    // Decoded into yajl's buffer; the token ends just before the offset and
    // starts at the first quote after the previous token (only blanks and
    // punctuation lie between them).
    size_t end = consumed(c);
    size_t close = end > 0 && c->src[end - 1] == '"' ? end - 1 : c->last_end;
    const char *q =
        close > c->last_end ? memchr(c->src + c->last_end, '"', close - c->last_end) : NULL;
    *start = q                     ? (size_t)(q - c->src)
             : close > c->last_end ? string_start(c->src, close)
                                   : c->last_end;
    raw = c->src + *start + 1;
    rawlen = close > *start ? close - *start - 1 : 0;
    c->last_end = end;
  }
  size_t bad = rp_utf8_check(raw, rawlen);
  if (bad < rawlen) return refuse(c, *start + 1 + bad, RP_ESYNTAX, "invalid UTF-8");
  if (escaped) {
    bool nul = false;
    bad = bad_escape(raw, rawlen, &nul);
    if (bad < rawlen)
      return refuse(c, *start + 1 + bad, RP_EDATA,
                    nul ? "string contains \\u0000 (NUL)" : "unpaired UTF-16 surrogate escape");
  }
  return true;
}

static int on_string(void *ud, const unsigned char *s, size_t len) {
  json_ctx *c = ud;
  size_t start;
  if (!check_string(c, s, len, &start)) return 0;
  rp_node *n = node_at(c, RP_KIND_STRING, start);
  n->a.s = rp_doc_strdup(c->b.doc, (const char *)s, len);
  n->len = (uint32_t)len;
  return add_scalar(c, n);
}

static int on_map_key(void *ud, const unsigned char *s, size_t len) {
  json_ctx *c = ud;
  size_t start;
  if (!check_string(c, s, len, &start)) return 0;
  uint32_t line, col;
  rp_poscur_at(&c->pos, start, &line, &col);
  rp_build_key(&c->b, (const char *)s, len, line, col);
  return 1;
}

static int open_container(json_ctx *c, rp_kind kind) {
  size_t end = consumed(c);
  size_t start = end > 0 ? end - 1 : 0;
  c->last_end = end;
  if (!rp_build_open(&c->b, node_at(c, kind, start)))
    return refuse(c, start, RP_ELIMIT, "nesting deeper than 64 levels");
  return 1;
}

static int on_start_map(void *ud) {
  return open_container(ud, RP_KIND_MAP);
}

static int on_start_array(void *ud) {
  return open_container(ud, RP_KIND_LIST);
}

static int on_end(void *ud) {
  json_ctx *c = ud;
  c->last_end = consumed(c);
  const rp_entry *dup = rp_build_close(&c->b);
  if (!dup) return 1;
  // The key's position was recorded when it was read.
  if (rp_data_key_printable(dup->key, dup->keylen))
    rp_diags_add(c->diags, RP_SEV_ERROR, c->path, (int)dup->line, (int)dup->col,
                 "invalid JSON: duplicate key \"%s\"", dup->key);
  else
    rp_diags_add(c->diags, RP_SEV_ERROR, c->path, (int)dup->line, (int)dup->col,
                 "invalid JSON: duplicate key: this key appears earlier in the same map");
  c->status = RP_EDATA;
  return 0;
}

static const yajl_callbacks json_callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

// Reports yajl's own error at the offending byte, with yajl's short reason
// (verbose 0 never quotes the text).
static int report_yajl_error(json_ctx *c) {
  unsigned char *raw = yajl_get_error(c->h, 0, NULL, 0);
  const char *msg = (const char *)raw;
  bool lexical = starts_with(msg, "lexical error: ");
  if (lexical) msg += strlen("lexical error: ");
  if (starts_with(msg, "parse error: ")) msg += strlen("parse error: ");
  size_t n = strlen(msg);
  while (n > 0 && (is_space(msg[n - 1]) || msg[n - 1] == '.'))
    n--;

  // yajl's offset points past the offending byte for some errors and at it
  // for others, and means nothing once yajl_complete_parse has started.
  size_t off;
  const char *reason = NULL;
  if (c->finishing) {
    if (strstr(msg, "premature EOF")) {
      off = c->len;
      bool blank = true;
      for (size_t i = 0; i < c->len && blank; i++)
        blank = is_space(c->src[i]);
      reason = blank ? "no value (the text is empty)" : "unexpected end of input";
    } else {
      off = last_token_start(c);
    }
  } else {
    size_t end = consumed(c);
    if (strstr(msg, "invalid bytes in UTF8")) {
      // The bad sequence is in the string that follows the last token.
      size_t from = c->last_end < end ? c->last_end : end;
      off = from + rp_utf8_check(c->src + from, c->len - from);
      if (off > end) off = end > 0 ? end - 1 : 0;
      reason = "invalid UTF-8";
    } else if (strstr(msg, "invalid char in json text")) {
      off = end > 0 ? end - 1 : 0;
    } else if (lexical) {
      off = end;
    } else {
      off = token_start(c, end);
    }
  }
  if (reason)
    report(c, off, "%s", reason);
  else
    report(c, off, "%.*s", (int)n, msg);
  yajl_free_error(c->h, raw);
  return RP_ESYNTAX;
}

int rp_json_parse_line(rp_doc *doc, const char *path, const char *src, size_t len, long line,
                       rp_diags *diags, rp_value *root) {
  rp_value none = {NULL, 0};
  *root = none;
  if (len > INT32_MAX) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "invalid JSON: larger than 2 GiB");
    return RP_ELIMIT;
  }
  json_ctx c;
  rp_build_init(&c.b, doc);
  c.src = len ? src : "";
  c.len = len;
  c.path = path;
  c.diags = diags;
  uint32_t first_line = (uint32_t)(line < 1 ? 1 : line > INT32_MAX ? INT32_MAX : line);
  rp_poscur_init(&c.pos, c.src, len, first_line, 0);
  c.last_end = 0;
  c.finishing = false;
  c.status = RP_OK;
  c.h = yajl_alloc(&json_callbacks, &rp_yajl_alloc_funcs, &c);
  if (!c.h) rp_oom();
  // Strict: these are yajl's defaults, set here so that nobody relaxes them
  // by accident. Strings are validated, comments, trailing garbage and
  // several values are errors.
  yajl_config(c.h, yajl_allow_comments, 0);
  yajl_config(c.h, yajl_dont_validate_strings, 0);
  yajl_config(c.h, yajl_allow_trailing_garbage, 0);
  yajl_config(c.h, yajl_allow_multiple_values, 0);
  yajl_config(c.h, yajl_allow_partial_values, 0);

  yajl_status st = yajl_parse(c.h, (const unsigned char *)c.src, len);
  if (st == yajl_status_ok) {
    c.finishing = true;
    st = yajl_complete_parse(c.h);
  }
  int status = RP_OK;
  if (st == yajl_status_client_canceled)
    status = c.status;
  else if (st != yajl_status_ok)
    status = report_yajl_error(&c);
  yajl_free(c.h);
  if (status != RP_OK) return status;
  *root = rp_node_value(c.b.root);
  return RP_OK;
}

int rp_json_parse(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                  rp_value *root) {
  if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) {
    src += 3;
    len -= 3;
  }
  return rp_json_parse_line(doc, path, src, len, 1, diags, root);
}
