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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// --- the fast path -------------------------------------------------------------------
//
// Most text is well-formed, and yajl's byte-at-a-time lexer, its callbacks
// and the position work above cost more than the rest of a batch. So a
// line is first read by a small parser that accepts only what the strict
// path below accepts, builds the very same tree (nodes, decoded strings,
// positions), and gives up at the first thing it does not like: a
// problem of any kind, or anything it is unsure of. The text then goes
// through yajl as before, which reports the problem as it always has. So
// it can only ever make the accepted text faster; what is an error, and
// how it is reported, stays with the strict path.

typedef struct fast_ctx {
  rp_build b;
  const unsigned char *s;
  size_t len, i;
  rp_poscur pos;
} fast_ctx;

static inline void fast_ws(fast_ctx *f) {
  while (f->i < f->len) {
    unsigned char ch = f->s[f->i];
    if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') break;
    f->i++;
  }
}

static inline rp_node *fast_node(fast_ctx *f, rp_kind kind, size_t at) {
  uint32_t line, col;
  rp_poscur_at(&f->pos, at, &line, &col);
  return rp_doc_node(f->b.doc, kind, line, col);
}

static int hexval(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch |= 0x20;
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

static bool fast_hex4(const unsigned char *p, unsigned *u) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    int d = hexval(p[k]);
    if (d < 0) return false;
    v = v * 16 + (unsigned)d;
  }
  *u = v;
  return true;
}

// Decodes the escapes of raw[0..n) into out (room for n bytes); false for
// anything the strict path would refuse (\u0000, a lone surrogate, an
// unknown escape).
static bool fast_unescape(const unsigned char *raw, size_t n, char *out, size_t *outlen) {
  size_t o = 0;
  for (size_t k = 0; k < n;) {
    if (raw[k] != '\\') {
      const unsigned char *bs = memchr(raw + k, '\\', n - k);
      size_t run = bs ? (size_t)(bs - raw) - k : n - k;
      memcpy(out + o, raw + k, run);
      o += run;
      k += run;
      continue;
    }
    if (k + 1 >= n) return false;
    unsigned char e = raw[k + 1];
    k += 2;
    switch (e) {
      case '"':
        out[o++] = '"';
        break;
      case '\\':
        out[o++] = '\\';
        break;
      case '/':
        out[o++] = '/';
        break;
      case 'b':
        out[o++] = '\b';
        break;
      case 'f':
        out[o++] = '\f';
        break;
      case 'n':
        out[o++] = '\n';
        break;
      case 'r':
        out[o++] = '\r';
        break;
      case 't':
        out[o++] = '\t';
        break;
      case 'u': {
        unsigned u;
        if (n - k < 4 || !fast_hex4(raw + k, &u) || u == 0) return false;
        k += 4;
        if (u >= 0xDC00 && u <= 0xDFFF) return false;
        if (u >= 0xD800 && u <= 0xDBFF) {
          unsigned lo;
          if (n - k < 6 || raw[k] != '\\' || raw[k + 1] != 'u' || !fast_hex4(raw + k + 2, &lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return false;
          k += 6;
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
        // Six bytes of escape never decode into more than four.
        if (u < 0x80) {
          out[o++] = (char)u;
        } else if (u < 0x800) {
          out[o++] = (char)(0xC0 | (u >> 6));
          out[o++] = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
          out[o++] = (char)(0xE0 | (u >> 12));
          out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
          out[o++] = (char)(0x80 | (u & 0x3F));
        } else {
          out[o++] = (char)(0xF0 | (u >> 18));
          out[o++] = (char)(0x80 | ((u >> 12) & 0x3F));
          out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
          out[o++] = (char)(0x80 | (u & 0x3F));
        }
        break;
      }
      default:
        return false;
    }
  }
  *outlen = o;
  return true;
}

// A string token at f->i (its opening quote). Sets *raw/*rawlen to the
// bytes between the quotes and *escaped; false when the text is not one
// the strict path accepts.
static bool fast_string(fast_ctx *f, const unsigned char **raw, size_t *rawlen, bool *escaped) {
  const unsigned char *s = f->s;
  size_t j = f->i + 1, len = f->len;
  bool esc = false;
  uint64_t ascii = 0;  // the high bits of every byte looked at
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  unsigned wide = 0;  // with SSE2: a mask of bytes past ASCII looked at
  for (;;) {
    bool stopped = false;
#if defined(__SSE2__)
    // Sixteen bytes at a time where the processor has SSE2 (every x86-64):
    // the same test as the eight-byte one below, in one compare per kind.
    const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\');
    const __m128i vctl = _mm_set1_epi8((char)0xE0), zero = _mm_setzero_si128();
    while (len - j >= 16) {
      __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
      __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, vq), _mm_cmpeq_epi8(w, vb)),
                               _mm_cmpeq_epi8(_mm_and_si128(w, vctl), zero));
      unsigned hit = (unsigned)_mm_movemask_epi8(m), past = (unsigned)_mm_movemask_epi8(w);
      if (hit) {
        unsigned first = (unsigned)__builtin_ctz(hit);
        wide |= past & ((1u << first) - 1);
        j += first;
        stopped = true;
        break;
      }
      wide |= past;
      j += 16;
    }
#endif
    // Eight bytes at a time while none is a quote, a backslash or a
    // control character; the first one that is ends the skip exactly.
    while (!stopped && len - j >= 8) {
      uint64_t w;
      memcpy(&w, s + j, 8);
      uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
      uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b) | (w - ones * 0x20)) & ~w & high;
      if (hit) {
        // Little-endian: the lowest flagged byte is the first hit (higher
        // ones may be borrows, never a missed one).
        unsigned first = (unsigned)__builtin_ctzll(hit) / 8;
        uint64_t before = first ? w & (~0ull >> (64 - 8 * first)) : 0;
        ascii |= before;
        j += first;
        break;
      }
      ascii |= w;
      j += 8;
    }
    if (j >= len) return false;
    unsigned char ch = s[j];
    if (ch == '"') break;
    if (ch < 0x20) return false;
    if (ch == '\\') {
      esc = true;
      if (j + 1 >= len) return false;
      j += 2;
      continue;
    }
    ascii |= ch;
    j++;
  }
  *raw = s + f->i + 1;
  *rawlen = j - f->i - 1;
  *escaped = esc;
  // Only text with a byte past ASCII can be ill-formed UTF-8 (an escaped
  // byte is ASCII or, if not, fails the check below all the same).
  if (esc || (ascii & high) || wide) {
    if (rp_utf8_check((const char *)*raw, *rawlen) < *rawlen) return false;
  }
  f->i = j + 1;
  return true;
}

// The text of a string token as the strict path stores it: in the arena,
// escapes decoded, NUL-terminated.
static bool fast_string_value(fast_ctx *f, const char **out, size_t *outlen) {
  const unsigned char *raw;
  size_t rawlen;
  bool esc;
  if (!fast_string(f, &raw, &rawlen, &esc)) return false;
  if (!esc) {
    *out = rp_doc_strdup(f->b.doc, (const char *)raw, rawlen);
    *outlen = rawlen;
    return true;
  }
  char *d = rp_doc_alloc(f->b.doc, rawlen + 1, 1);
  if (!fast_unescape(raw, rawlen, d, outlen)) return false;
  d[*outlen] = '\0';
  *out = d;
  return true;
}

static bool is_digit(unsigned char ch) {
  return ch >= '0' && ch <= '9';
}

// A number token at f->i, by JSON's grammar.
static rp_node *fast_number(fast_ctx *f) {
  const unsigned char *s = f->s;
  size_t st = f->i, i = f->i, len = f->len;
  if (s[i] == '-') i++;
  if (i >= len) return NULL;
  if (s[i] == '0') {
    i++;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < len && is_digit(s[i]))
      i++;
  } else {
    return NULL;
  }
  if (i < len && s[i] == '.') {
    i++;
    if (i >= len || !is_digit(s[i])) return NULL;
    while (i < len && is_digit(s[i]))
      i++;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= len || !is_digit(s[i])) return NULL;
    while (i < len && is_digit(s[i]))
      i++;
  }
  uint32_t line, col;
  rp_poscur_at(&f->pos, st, &line, &col);
  rp_node *n = rp_doc_number_node(f->b.doc, (const char *)s + st, i - st, line, col);
  f->i = i;
  return n;
}

static bool fast_literal(fast_ctx *f, const char *word, size_t n) {
  if (f->len - f->i < n || memcmp(f->s + f->i, word, n) != 0) return false;
  f->i += n;
  return true;
}

// Parses the whole text; false when it declines (see above).
static bool fast_parse(fast_ctx *f) {
  const unsigned char *s = f->s;
  rp_build *b = &f->b;
value:
  fast_ws(f);
  if (f->i >= f->len) return false;
  {
    size_t at = f->i;
    rp_node *n;
    switch (s[at]) {
      case '{':
      case '[': {
        bool map = s[at] == '{';
        if (!rp_build_open(b, fast_node(f, map ? RP_KIND_MAP : RP_KIND_LIST, at))) return false;
        f->i++;
        fast_ws(f);
        if (f->i < f->len && s[f->i] == (map ? '}' : ']')) {
          f->i++;
          if (rp_build_close(b)) return false;
          goto after;
        }
        if (map) goto key;
        goto value;
      }
      case '"': {
        const char *str;
        size_t slen;
        if (!fast_string_value(f, &str, &slen)) return false;
        n = fast_node(f, RP_KIND_STRING, at);
        n->a.s = str;
        n->len = (uint32_t)slen;
        break;
      }
      case 't':
        if (!fast_literal(f, "true", 4)) return false;
        n = fast_node(f, RP_KIND_BOOL, at);
        n->b = true;
        break;
      case 'f':
        if (!fast_literal(f, "false", 5)) return false;
        n = fast_node(f, RP_KIND_BOOL, at);
        break;
      case 'n':
        if (!fast_literal(f, "null", 4)) return false;
        n = fast_node(f, RP_KIND_NULL, at);
        break;
      default:
        n = fast_number(f);
        if (!n) return false;
        break;
    }
    rp_build_value(b, n);
  }
after:
  fast_ws(f);
  if (b->depth == 0) return f->i == f->len;
  if (f->i >= f->len) return false;
  {
    bool map = b->stack[b->depth - 1].node->kind == RP_KIND_MAP;
    unsigned char ch = s[f->i++];
    if (ch == ',') {
      if (map) goto key;
      goto value;
    }
    if (ch != (map ? '}' : ']')) return false;
    if (rp_build_close(b)) return false;
    goto after;
  }
key:
  fast_ws(f);
  if (f->i >= f->len || s[f->i] != '"') return false;
  {
    size_t at = f->i;
    const unsigned char *raw;
    size_t rawlen;
    bool esc;
    if (!fast_string(f, &raw, &rawlen, &esc)) return false;
    uint32_t line, col;
    rp_poscur_at(&f->pos, at, &line, &col);
    if (esc) {
      char *d = rp_doc_alloc(b->doc, rawlen + 1, 1);
      size_t dlen;
      if (!fast_unescape(raw, rawlen, d, &dlen)) return false;
      rp_build_key(b, d, dlen, line, col);
    } else {
      rp_build_key(b, (const char *)raw, rawlen, line, col);
    }
    fast_ws(f);
    if (f->i >= f->len || s[f->i] != ':') return false;
    f->i++;
  }
  goto value;
}

bool rp_json_parse_fast(rp_doc *doc, const char *src, size_t len, long line, rp_value *root) {
  fast_ctx f;
  rp_build_init(&f.b, doc);
  f.s = (const unsigned char *)(len ? src : "");
  f.len = len;
  f.i = 0;
  uint32_t first_line = (uint32_t)(line < 1 ? 1 : line > INT32_MAX ? INT32_MAX : line);
  rp_poscur_init(&f.pos, (const char *)f.s, len, first_line, 0);
  if (len > INT32_MAX || !fast_parse(&f)) return false;
  *root = rp_node_value(f.b.root);
  return true;
}

int rp_json_parse_line(rp_doc *doc, const char *path, const char *src, size_t len, long line,
                       rp_diags *diags, rp_value *root) {
  if (rp_json_parse_fast(doc, src, len, line, root)) return RP_OK;
  return rp_json_parse_strict(doc, path, src, len, line, diags, root);
}

int rp_json_parse_strict(rp_doc *doc, const char *path, const char *src, size_t len, long line,
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
