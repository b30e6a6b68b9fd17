// Filters: the registry and the built-in filters.
//
// `{{ value | name "arg" 3 | other }}` passes the value through each filter
// in turn. Filters are looked up when a template compiles (an unknown name is
// a compile error) and called while it renders. Plugins add their own through
// the same registry. Built-ins, documented in docs/templates.md:
//   upper, lower      change letter case (Unicode-aware where the C.UTF-8
//                     locale is installed, ASCII otherwise)
//   default "text"    the argument when the value is missing, null, false,
//                     zero, empty text or an empty list
//   join ", "         the elements of a list as text, with a separator
//   date "%d %b %Y"   a YYYY-MM-DD date (optionally with a THH:MM[:SS] time)
//                     formatted with strftime's conversions, in English
//   count             the number of elements of a list or map, or of
//                     characters of a text; 0 for a missing value
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "template/internal.h"
#include "util/number.h"

typedef struct filter_entry {
  char *name;
  rp_filter_fn fn;
  void *ud;
} filter_entry;

struct rp_filters {
  filter_entry *items;
  size_t n, cap;
};

rp_filters *rp_filters_new(void) {
  return rp_xcalloc(1, sizeof(rp_filters));
}

void rp_filters_free(rp_filters *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n; i++)
    free(f->items[i].name);
  free(f->items);
  free(f);
}

void rp_filters_add(rp_filters *f, const char *name, rp_filter_fn fn, void *ud) {
  for (size_t i = 0; i < f->n; i++) {
    if (strcmp(f->items[i].name, name) == 0) {
      f->items[i].fn = fn;
      f->items[i].ud = ud;
      return;
    }
  }
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    f->items = rp_xrealloc(f->items, f->cap * sizeof *f->items);
  }
  f->items[f->n++] = (filter_entry){rp_xstrndup(name, strlen(name)), fn, ud};
}

rp_filter_fn rp_filters_find(const rp_filters *f, const char *name, size_t len, void **ud) {
  for (size_t i = 0; i < f->n; i++) {
    if (strlen(f->items[i].name) == len && memcmp(f->items[i].name, name, len) == 0) {
      *ud = f->items[i].ud;
      return f->items[i].fn;
    }
  }
  return NULL;
}

static int fail(const rp_filter_call *call, const char *msg) {
  *call->errmsg = rp_xstrndup(msg, strlen(msg));
  return RP_EFILTER;
}

static void set_string(const rp_filter_call *call, const char *s, size_t len) {
  call->out->missing = false;
  call->out->from_ctx = false;
  call->out->kind = RP_KIND_STRING;
  call->out->s = s;
  call->out->len = len;
}

static void pass_through(const rp_filter_call *call) {
  *call->out = *call->in;
}

// --- upper, lower ------------------------------------------------------------

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void) {
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

// Decodes one UTF-8 sequence; returns its length, or 0 when malformed.
static size_t utf8_decode(const unsigned char *s, size_t len, wint_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || n > len) return 0;
  wint_t c = s[0] & (0x7F >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not
  // UTF-8: such bytes are copied as they are, never decoded into a character.
  static const wint_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return n;
}

static void utf8_encode(rp_buf *b, wint_t c) {
  char o[4];
  size_t n;
  if (c < 0x80) {
    o[0] = (char)c;
    n = 1;
  } else if (c < 0x800) {
    o[0] = (char)(0xC0 | (c >> 6));
    o[1] = (char)(0x80 | (c & 0x3F));
    n = 2;
  } else if (c < 0x10000) {
    o[0] = (char)(0xE0 | (c >> 12));
    o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (char)(0x80 | (c & 0x3F));
    n = 3;
  } else {
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    n = 4;
  }
  rp_buf_add(b, o, n);
}

static int change_case(const rp_filter_call *call, bool upper) {
  if (call->nargs)
    return fail(call, upper ? "'upper' takes no arguments" : "'lower' takes no arguments");
  size_t len;
  const char *s = rp_fval_str(call, call->in, &len);
  if (!s) {
    pass_through(call);
    return RP_OK;
  }
  pthread_once(&utf8_once, utf8_locale_init);
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    wint_t c;
    size_t n = utf8_decode(p, (size_t)(end - p), &c);
    if (n == 0) {  // not UTF-8: copy the byte as it is, drop nothing
      rp_buf_addc(call->scratch, (char)*p++);
      continue;
    }
    if (utf8_locale)
      c = upper ? towupper_l(c, utf8_locale) : towlower_l(c, utf8_locale);
    else if (c < 0x80)
      c = (wint_t)(upper ? toupper((int)c) : tolower((int)c));
    utf8_encode(call->scratch, c);
    p += n;
  }
  set_string(call, call->scratch->data ? call->scratch->data : "", call->scratch->len);
  return RP_OK;
}

static int filter_upper(const rp_filter_call *call, void *ud) {
  return change_case(call, true);
}

static int filter_lower(const rp_filter_call *call, void *ud) {
  return change_case(call, false);
}

// --- default -------------------------------------------------------------------

static int filter_default(const rp_filter_call *call, void *ud) {
  if (call->nargs != 1) return fail(call, "'default' takes one argument: the text to show instead");
  if (rp_fval_truthy(call, call->in)) {
    pass_through(call);
    return RP_OK;
  }
  set_string(call, call->args[0].s, call->args[0].len);
  return RP_OK;
}

// --- join ------------------------------------------------------------------------

static int filter_join(const rp_filter_call *call, void *ud) {
  if (call->nargs > 1) return fail(call, "'join' takes at most one argument: the separator");
  const char *sep = call->nargs ? call->args[0].s : ", ";
  size_t seplen = call->nargs ? call->args[0].len : 2;
  if (!call->in->from_ctx || rp_fval_kind(call, call->in) != RP_KIND_LIST) {
    pass_through(call);
    return RP_OK;
  }
  const rp_ctx_ops *ops = call->ctx->ops;
  void *cud = call->ctx->ud;
  size_t n = ops->len(cud, call->in->v);
  for (size_t i = 0; i < n; i++) {
    size_t m = ops->mark ? ops->mark(cud) : 0;
    rp_fval el = {0};
    el.from_ctx = true;
    el.v = ops->at(cud, call->in->v, i);
    size_t len;
    const char *s = rp_fval_str(call, &el, &len);
    if (i) rp_buf_add(call->scratch, sep, seplen);
    if (s) rp_buf_add(call->scratch, s, len);
    if (ops->release) ops->release(cud, m);
  }
  set_string(call, call->scratch->data ? call->scratch->data : "", call->scratch->len);
  return RP_OK;
}

// --- date --------------------------------------------------------------------------

static bool parse_digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

static bool parse_date(const char *s, size_t len, struct tm *tm) {
  memset(tm, 0, sizeof *tm);
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (len < 10 || s[4] != '-' || s[7] != '-' || !parse_digits(s, 4, &y) ||
      !parse_digits(s + 5, 2, &mo) || !parse_digits(s + 8, 2, &d))
    return false;
  // Exactly YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS: a time zone
  // or trailing text would be silently dropped otherwise.
  if (len != 10 && len != 16 && len != 19) return false;
  if (len > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || s[13] != ':' || !parse_digits(s + 11, 2, &h) ||
        !parse_digits(s + 14, 2, &mi))
      return false;
    if (len == 19 && (s[16] != ':' || !parse_digits(s + 17, 2, &se))) return false;
  }
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return false;
  tm->tm_year = y - 1900;
  tm->tm_mon = mo - 1;
  tm->tm_mday = d;
  tm->tm_hour = h;
  tm->tm_min = mi;
  tm->tm_sec = se;
  tm->tm_isdst = -1;
  // The weekday and day of the year, for %a, %A, %j: timegm normalises.
  struct tm copy = *tm;
  time_t t = timegm(&copy);
  struct tm norm;
  if (gmtime_r(&t, &norm)) {
    tm->tm_wday = norm.tm_wday;
    tm->tm_yday = norm.tm_yday;
  }
  return true;
}

static locale_t c_locale;
static pthread_once_t c_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
  c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static int filter_date(const rp_filter_call *call, void *ud) {
  if (call->nargs > 1) return fail(call, "'date' takes at most one argument: the format");
  const char *fmt = call->nargs ? call->args[0].s : "%Y-%m-%d";
  if (call->nargs && call->args[0].is_number) return fail(call, "the format of 'date' is text");
  size_t len;
  const char *s = rp_fval_str(call, call->in, &len);
  if (call->in->missing || rp_fval_kind(call, call->in) == RP_KIND_NULL) {
    pass_through(call);
    return RP_OK;
  }
  struct tm tm;
  if (!s || !parse_date(s, len, &tm))
    return fail(call, "'date' expects a date written as YYYY-MM-DD (optionally with THH:MM)");
  pthread_once(&c_once, c_locale_init);
  char out[256];
  // The format comes from the template by design; strftime bounds the output.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  size_t n = c_locale ? strftime_l(out, sizeof out, fmt, &tm, c_locale)
                      : strftime(out, sizeof out, fmt, &tm);
#pragma GCC diagnostic pop
  if (n == 0 && fmt[0]) return fail(call, "the 'date' format gives no text or more than 255 bytes");
  rp_buf_add(call->scratch, out, n);
  set_string(call, call->scratch->data, call->scratch->len);
  return RP_OK;
}

// --- count -------------------------------------------------------------------------

static int filter_count(const rp_filter_call *call, void *ud) {
  if (call->nargs) return fail(call, "'count' takes no arguments");
  double n = 0;
  rp_kind k = rp_fval_kind(call, call->in);
  if (k == RP_KIND_LIST || k == RP_KIND_MAP) {
    n = (double)call->ctx->ops->len(call->ctx->ud, call->in->v);
  } else if (k == RP_KIND_STRING) {
    size_t len;
    const char *s = rp_fval_str(call, call->in, &len);
    for (size_t i = 0; i < len; i++)
      n += ((unsigned char)s[i] & 0xC0) != 0x80;
  } else if (k != RP_KIND_NULL) {
    return fail(call, "'count' counts the items of a list or the characters of a text");
  }
  call->out->missing = false;
  call->out->from_ctx = false;
  call->out->kind = RP_KIND_NUMBER;
  call->out->num = n;
  char buf[RP_NUMBER_BUF];
  size_t blen = rp_number_format(n, buf);
  rp_buf_add(call->scratch, buf, blen);
  call->out->s = call->scratch->data;
  call->out->len = blen;
  return RP_OK;
}

void rp_filters_add_builtins(rp_filters *f) {
  rp_filters_add(f, "upper", filter_upper, NULL);
  rp_filters_add(f, "lower", filter_lower, NULL);
  rp_filters_add(f, "default", filter_default, NULL);
  rp_filters_add(f, "join", filter_join, NULL);
  rp_filters_add(f, "date", filter_date, NULL);
  rp_filters_add(f, "count", filter_count, NULL);
}
