// YAML through libyaml's event parser, building straight into the document.
//
// Session files are written by people, so YAML is the friendly format; but
// its power features (anchors, aliases, tags, several documents) make a file
// mean something other than what it shows, so they are refused. Plain
// scalars are typed by the YAML 1.2 core schema, with the one departure that
// data.h documents (`0777` stays a string).
//
// libyaml counts positions in characters; messages count bytes, so marks go
// through a character-to-byte cursor before they become line and column.
#include <math.h>
#include <stdarg.h>

#include <yaml.h>

#include "data/internal.h"

typedef struct yaml_ctx {
  rp_build b;
  const char *src;
  size_t len;
  const char *path;
  rp_diags *diags;
  rp_poscur pos;
  size_t char_index;  // the character index that starts at byte_off
  size_t byte_off;
  bool text;  // keep plain scalars as text for a schema to type (rp_yaml_parse_text)
} yaml_ctx;

// Byte offset of libyaml's character index `index` (which counts CRLF as
// two; a byte order mark is left out before libyaml sees the text). Marks mostly increase, so
// the walk resumes where it stopped.
static size_t byte_offset(yaml_ctx *c, size_t index) {
  if (index < c->char_index) c->char_index = c->byte_off = 0;
  const unsigned char *s = (const unsigned char *)c->src;
  while (c->char_index < index && c->byte_off < c->len) {
    c->byte_off++;
    while (c->byte_off < c->len && (s[c->byte_off] & 0xC0) == 0x80)
      c->byte_off++;
    c->char_index++;
  }
  return c->byte_off;
}

static void mark_pos(yaml_ctx *c, const yaml_mark_t *m, uint32_t *line, uint32_t *col) {
  rp_poscur_at(&c->pos, byte_offset(c, m->index), line, col);
}

static int refuse_at(yaml_ctx *c, uint32_t line, uint32_t col, int status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int refuse_at(yaml_ctx *c, uint32_t line, uint32_t col, int status, const char *fmt, ...) {
  rp_buf msg = RP_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  rp_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  rp_diags_add(c->diags, RP_SEV_ERROR, c->path, (int)line, (int)col, "invalid YAML: %s", msg.data);
  rp_buf_free(&msg);
  return status;
}

static int refuse(yaml_ctx *c, const yaml_mark_t *m, int status, const char *what) {
  uint32_t line, col;
  mark_pos(c, m, &line, &col);
  return refuse_at(c, line, col, status, "%s", what);
}

// Anchors and tags, which the loader refuses wherever they appear.
static int check_properties(yaml_ctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
                            const yaml_char_t *tag) {
  if (anchor) return refuse(c, &ev->start_mark, RP_EDATA, "anchors (&name) are not supported");
  if (tag) return refuse(c, &ev->start_mark, RP_EDATA, "tags (!tag) are not supported");
  return RP_OK;
}

static bool is_one_of(const char *s, size_t n, const char *const *words) {
  for (; *words; words++)
    if (strlen(*words) == n && memcmp(s, *words, n) == 0) return true;
  return false;
}

static bool is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

// A decimal integer or float of the core schema:
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
// Sets *leading_zero when the integer part is a 0 followed by more digits.
static bool is_decimal(const char *s, size_t n, bool *leading_zero) {
  size_t i = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  size_t int_start = i;
  while (i < n && is_digit(s[i]))
    i++;
  size_t int_digits = i - int_start, frac_digits = 0;
  if (i < n && s[i] == '.') {
    for (i++; i < n && is_digit(s[i]); i++)
      frac_digits++;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t exp_start = i;
    while (i < n && is_digit(s[i]))
      i++;
    if (i == exp_start) return false;
  }
  *leading_zero = int_digits > 1 && s[int_start] == '0';
  return i == n;
}

// 0o17 and 0x1F: returns false when s is not one. Values past 2^53 are
// rounded at each step, as a reader of such a value could hardly expect
// more.
static bool read_radix(const char *s, size_t n, double *x) {
  if (n < 3 || s[0] != '0' || (s[1] != 'o' && s[1] != 'x')) return false;
  unsigned base = s[1] == 'o' ? 8 : 16;
  double v = 0;
  for (size_t i = 2; i < n; i++) {
    char ch = s[i];
    unsigned d;
    if (is_digit(ch))
      d = (unsigned)(ch - '0');
    else if (base == 16 && (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
      d = (unsigned)((ch | 0x20) - 'a' + 10);
    else
      return false;
    if (d >= base) return false;
    v = v * base + d;
  }
  *x = v;
  return true;
}

static const char *const yaml_nulls[] = {"~", "null", "Null", "NULL", NULL};
static const char *const yaml_trues[] = {"true", "True", "TRUE", NULL};
static const char *const yaml_falses[] = {"false", "False", "FALSE", NULL};
static const char *const yaml_infs[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                        "+.INF", "-.inf", "-.Inf", "-.INF", NULL};
static const char *const yaml_nans[] = {".nan", ".NaN", ".NAN", NULL};

// Types a plain scalar. Returns NULL after reporting a non-finite number.
static rp_node *plain_scalar(yaml_ctx *c, const char *s, size_t n, uint32_t line, uint32_t col) {
  rp_doc *doc = c->b.doc;
  if (n == 0 || is_one_of(s, n, yaml_nulls)) return rp_doc_node(doc, RP_KIND_NULL, line, col);
  bool t = is_one_of(s, n, yaml_trues);
  if (t || is_one_of(s, n, yaml_falses)) {
    rp_node *b = rp_doc_node(doc, RP_KIND_BOOL, line, col);
    b->b = t;
    return b;
  }
  if (is_digit(s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.') {
    bool leading_zero = false, nonfinite = false;
    double x;
    rp_node *num = NULL;
    if (read_radix(s, n, &x)) {
      if (isfinite(x)) num = rp_doc_number_node_d(doc, x, line, col);
      nonfinite = !num;
    } else if (is_decimal(s, n, &leading_zero)) {
      if (!leading_zero) num = rp_doc_number_node(doc, s, n, line, col);
      nonfinite = !leading_zero && !num;
    } else {
      nonfinite = is_one_of(s, n, yaml_infs) || is_one_of(s, n, yaml_nans);
    }
    if (num) return num;
    if (nonfinite) {
      refuse_at(c, line, col, RP_EDATA, "number out of range (not finite)");
      return NULL;
    }
  }
  rp_node *str = rp_doc_node(doc, RP_KIND_STRING, line, col);
  str->a.s = rp_doc_strdup(doc, s, n);
  str->len = (uint32_t)n;
  return str;
}

static rp_build_frame *open_map_wanting_key(yaml_ctx *c) {
  if (c->b.depth == 0) return NULL;
  rp_build_frame *f = &c->b.stack[c->b.depth - 1];
  return f->node->kind == RP_KIND_MAP && f->want_key ? f : NULL;
}

// libyaml drops comments without a word, and a therapist's "review thought
// log #3 next time." loses "#3 next time." to one. A '#' after a single blank
// that follows a plain value on its line is such a comment; it gets a
// warning at the '#'. A '#' after two or more blanks is a comment written on
// purpose (how `rapport new` writes its explanations, and YAML's own habit),
// and is left alone.
static void warn_comment_after(yaml_ctx *c, const yaml_mark_t *end) {
  size_t at = byte_offset(c, end->index);
  size_t blanks = 0;
  while (at + blanks < c->len && (c->src[at + blanks] == ' ' || c->src[at + blanks] == '\t'))
    blanks++;
  if (blanks != 1 || at + blanks >= c->len || c->src[at + blanks] != '#') return;
  uint32_t line, col;
  rp_poscur_at(&c->pos, at + blanks, &line, &col);
  rp_diags_add(c->diags, RP_SEV_WARNING, c->path, (int)line, (int)col,
               "the text after '#' is not in the note: a '#' after a space starts a comment; "
               "quote the value or use '|' to keep it");
}

static int on_scalar(yaml_ctx *c, const yaml_event_t *ev) {
  int st = check_properties(c, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
  if (st) return st;
  const char *s = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  uint32_t line, col;
  mark_pos(c, &ev->start_mark, &line, &col);
  if (memchr(s, 0, n)) return refuse_at(c, line, col, RP_EDATA, "string contains a NUL character");
  if (open_map_wanting_key(c)) {
    // Keys are names: their text as written, never typed.
    rp_build_key(&c->b, s, n, line, col);
    return RP_OK;
  }
  if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) warn_comment_after(c, &ev->end_mark);
  rp_node *node;
  if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && c->text) {
    node = rp_doc_node(c->b.doc, RP_KIND_STRING, line, col);
    node->a.s = rp_doc_strdup(c->b.doc, s, n);
    node->len = (uint32_t)n;
    node->plain = true;
  } else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    node = plain_scalar(c, s, n, line, col);
    if (!node) return RP_EDATA;
  } else {
    node = rp_doc_node(c->b.doc, RP_KIND_STRING, line, col);
    node->a.s = rp_doc_strdup(c->b.doc, s, n);
    node->len = (uint32_t)n;
  }
  rp_build_value(&c->b, node);
  return RP_OK;
}

static int on_open(yaml_ctx *c, const yaml_event_t *ev, rp_kind kind, const yaml_char_t *anchor,
                   const yaml_char_t *tag) {
  int st = check_properties(c, ev, anchor, tag);
  if (st) return st;
  if (open_map_wanting_key(c))
    return refuse(c, &ev->start_mark, RP_EDATA, "mapping keys must be plain text");
  uint32_t line, col;
  mark_pos(c, &ev->start_mark, &line, &col);
  if (!rp_build_open(&c->b, rp_doc_node(c->b.doc, kind, line, col)))
    return refuse_at(c, line, col, RP_ELIMIT, "nesting deeper than %d levels", RP_DATA_MAX_DEPTH);
  return RP_OK;
}

static int on_close(yaml_ctx *c) {
  const rp_entry *dup = rp_build_close(&c->b);
  if (!dup) return RP_OK;
  if (rp_data_key_printable(dup->key, dup->keylen))
    return refuse_at(c, dup->line, dup->col, RP_EDATA, "duplicate key \"%s\"", dup->key);
  return refuse_at(c, dup->line, dup->col, RP_EDATA,
                   "duplicate key: this key appears earlier in the same map");
}

static int report_parser_error(yaml_ctx *c, const yaml_parser_t *p) {
  if (p->error == YAML_MEMORY_ERROR) rp_oom();
  const char *problem = p->problem ? p->problem : "malformed text";
  uint32_t line, col;
  if (p->error == YAML_READER_ERROR) {
    // The reader reports a byte offset. Find the exact bad byte ourselves
    // when the problem is the encoding, which is the usual reader error.
    size_t off = rp_utf8_check(c->src, c->len);
    if (off <= p->problem_offset) {
      problem = "invalid UTF-8";
    } else {
      off = p->problem_offset;
    }
    rp_poscur_at(&c->pos, off, &line, &col);
  } else {
    mark_pos(c, &p->problem_mark, &line, &col);
    // libyaml's words for a tab in the indentation ("found character that
    // cannot start any token") do not say tab: when the problem is in a
    // line's leading whitespace and that holds a tab, say so, at the tab.
    size_t off = byte_offset(c, p->problem_mark.index), start = off, end;
    while (start > 0 && c->src[start - 1] != '\n')
      start--;
    for (end = start; end < c->len && (c->src[end] == ' ' || c->src[end] == '\t'); end++)
      ;
    const char *tab = memchr(c->src + start, '\t', end - start);
    if (tab && off <= end) {
      rp_poscur_at(&c->pos, (size_t)(tab - c->src), &line, &col);
      return refuse_at(c, line, col, RP_ESYNTAX,
                       "a tab in the indentation: YAML indents with spaces only (replace the tab "
                       "with spaces)");
    }
  }
  if (p->context) return refuse_at(c, line, col, RP_ESYNTAX, "%s (%s)", problem, p->context);
  return refuse_at(c, line, col, RP_ESYNTAX, "%s", problem);
}

static int parse(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                 rp_value *root, bool text);

int rp_yaml_parse(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                  rp_value *root) {
  return parse(doc, path, src, len, diags, root, false);
}

int rp_yaml_parse_text(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                       rp_value *root) {
  return parse(doc, path, src, len, diags, root, true);
}

static int parse(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                 rp_value *root, bool text) {
  rp_value none = {NULL, 0};
  *root = none;
  if (len > INT32_MAX) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "invalid YAML: larger than 2 GiB");
    return RP_ELIMIT;
  }
  yaml_ctx c;
  rp_build_init(&c.b, doc);
  // A UTF-8 byte order mark (Windows editors write one) is not part of the
  // text, and belongs to no column. libyaml skips one only when it guesses
  // the encoding, and it is told UTF-8: leave the mark out ourselves.
  if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) {
    src += 3;
    len -= 3;
  }
  c.src = len ? src : "";
  c.len = len;
  c.path = path;
  c.diags = diags;
  c.char_index = c.byte_off = 0;
  c.text = text;
  rp_poscur_init(&c.pos, c.src, len, 1, 0);

  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) rp_oom();
  yaml_parser_set_input_string(&p, (const unsigned char *)c.src, len);
  yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
  int status = RP_OK, documents = 0;
  for (bool done = false; !done && status == RP_OK;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) {
      status = report_parser_error(&c, &p);
      break;
    }
    switch (ev.type) {
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1)
          status = refuse(&c, &ev.start_mark, RP_EDATA,
                          "more than one document (a file holds one session)");
        break;
      case YAML_ALIAS_EVENT:
        status = refuse(&c, &ev.start_mark, RP_EDATA, "aliases (*name) are not supported");
        break;
      case YAML_SCALAR_EVENT:
        status = on_scalar(&c, &ev);
        break;
      case YAML_SEQUENCE_START_EVENT:
        status = on_open(&c, &ev, RP_KIND_LIST, ev.data.sequence_start.anchor,
                         ev.data.sequence_start.tag);
        break;
      case YAML_MAPPING_START_EVENT:
        status =
            on_open(&c, &ev, RP_KIND_MAP, ev.data.mapping_start.anchor, ev.data.mapping_start.tag);
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        status = on_close(&c);
        break;
      default:  // stream start, document end
        break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  if (status != RP_OK) return status;
  // An empty stream has no root: it reads as null.
  *root = rp_node_value(c.b.root);
  return RP_OK;
}
