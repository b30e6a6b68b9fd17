// Schemas and validation of sessions against them (schema.h).
#include "schema/schema.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/names.h"
#include "util/number.h"

static const char *const type_names[] = {"text",    "string", "integer",  "number",
                                         "boolean", "date",   "datetime", "enum",
                                         "rating",  "list",   "object"};

const char *rp_field_type_name(rp_field_type t) {
  return (size_t)t < sizeof type_names / sizeof *type_names ? type_names[t] : "?";
}

int rp_field_type_parse(const char *name) {
  for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
    if (strcmp(type_names[i], name) == 0) return (int)i;
  return -1;
}

static char *dup(const char *s) {
  return s ? rp_xstrndup(s, strlen(s)) : NULL;
}

// --- building schemas ------------------------------------------------------------

static void field_copy(rp_field *to, const rp_field *from) {
  *to = *from;
  to->id = dup(from->id);
  to->label = dup(from->label);
  to->default_text = dup(from->default_text);
  to->example_text = dup(from->example_text);
  to->values = NULL;
  if (from->nvalues) {
    to->values = rp_xcalloc(from->nvalues, sizeof *to->values);
    for (size_t i = 0; i < from->nvalues; i++)
      to->values[i] = dup(from->values[i]);
  }
  to->items = NULL;
  if (from->items) {
    to->items = rp_xcalloc(1, sizeof *to->items);
    field_copy(to->items, from->items);
  }
  to->fields = NULL;
  to->fieldcap = 0;
  if (from->nfields) {
    to->fields = rp_xcalloc(from->nfields, sizeof *to->fields);
    for (size_t i = 0; i < from->nfields; i++)
      field_copy(&to->fields[i], &from->fields[i]);
  }
}

void rp_field_clear(rp_field *f) {
  if (!f) return;
  free(f->id);
  free(f->label);
  free(f->default_text);
  free(f->example_text);
  for (size_t i = 0; i < f->nvalues; i++)
    free(f->values[i]);
  free(f->values);
  if (f->items) {
    rp_field_clear(f->items);
    free(f->items);
  }
  for (size_t i = 0; i < f->nfields; i++)
    rp_field_clear(&f->fields[i]);
  free(f->fields);
  memset(f, 0, sizeof *f);
}

rp_schema *rp_schema_new(const char *id, const char *title) {
  rp_schema *s = rp_xcalloc(1, sizeof *s);
  s->id = dup(id);
  s->title = dup(title);
  return s;
}

void rp_schema_free(rp_schema *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nfields; i++)
    rp_field_clear(&s->fields[i]);
  free(s->fields);
  for (size_t i = 0; i < s->npassthrough; i++)
    free(s->passthrough[i]);
  free(s->passthrough);
  free(s->id);
  free(s->title);
  free(s);
}

// Appends an empty field to the list, growing it by half again when it is
// full: a note type may have thousands of fields.
static rp_field *push_field(rp_field **list, size_t *n, size_t *cap) {
  if (*n >= *cap) {
    *cap = *n < 4 ? 4 : *n + *n / 2;
    *list = rp_xrealloc(*list, *cap * sizeof **list);
  }
  rp_field *f = &(*list)[(*n)++];
  memset(f, 0, sizeof *f);
  return f;
}

// Dotted ids ("session.date") become objects holding the rest, so that the
// session's nested maps and the schema have the same shape.
void rp_schema_take_field(rp_schema *s, rp_field *f) {
  rp_field **list = &s->fields;
  size_t *n = &s->nfields, *cap = &s->fieldcap;
  const char *id = f->id;
  const char *dot;
  while ((dot = strchr(id, '.')) != NULL) {
    size_t len = (size_t)(dot - id);
    rp_field *parent = NULL;
    for (size_t i = 0; i < *n; i++)
      if (strlen((*list)[i].id) == len && strncmp((*list)[i].id, id, len) == 0)
        parent = &(*list)[i];
    if (!parent) {
      parent = push_field(list, n, cap);
      parent->id = rp_xstrndup(id, len);
      parent->type = RP_FIELD_OBJECT;
    }
    list = &parent->fields;
    n = &parent->nfields;
    cap = &parent->fieldcap;
    id = dot + 1;
  }
  rp_field *to = push_field(list, n, cap);
  *to = *f;
  if (id != f->id) {
    // The last component of a dotted id: its own copy, the whole id freed.
    to->id = dup(id);
    free(f->id);
  }
  memset(f, 0, sizeof *f);
}

void rp_schema_add_field(rp_schema *s, const rp_field *f) {
  rp_field copy;
  field_copy(&copy, f);
  rp_schema_take_field(s, &copy);
}

void rp_schema_add_passthrough(rp_schema *s, const char *key) {
  s->passthrough = rp_xrealloc(s->passthrough, (s->npassthrough + 1) * sizeof *s->passthrough);
  s->passthrough[s->npassthrough++] = dup(key);
}

// --- validation --------------------------------------------------------------------

typedef struct vctx {
  rp_doc *in, *out;
  const char *path;
  rp_diags *diags;
  size_t problems;          // how many this validation reported
  const rp_schema *schema;  // NULL inside a default value
} vctx;

// A place in the session file: 1-based line and column, or 0 and 0 for a
// value built rather than read (then the message points at 1:1).
typedef struct spot {
  int line, col;
} spot;

static spot spot_of(vctx *c, rp_value v) {
  spot s = {0, 0};
  if (v.p) rp_doc_pos(c->in, v, &s.line, &s.col);
  return s;
}

static void vproblem_at(vctx *c, spot at, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vproblem_at(vctx *c, spot at, const char *fmt, va_list ap) {
  rp_diags_vadd(c->diags, RP_SEV_ERROR, c->path, at.line > 0 ? at.line : 1, at.col > 0 ? at.col : 1,
                fmt, ap);
  c->problems++;
}

static void problem_at(vctx *c, spot at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem_at(vctx *c, spot at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vproblem_at(c, at, fmt, ap);
  va_end(ap);
}

static void problem(vctx *c, rp_value at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(vctx *c, rp_value at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vproblem_at(c, spot_of(c, at), fmt, ap);
  va_end(ap);
}

// The text of a scalar as written: strings as they are, numbers and
// booleans (from JSON) as printed.
static const char *scalar_text(vctx *c, rp_value v, size_t *len) {
  rp_kind k = rp_doc_ops.kind(c->in, v);
  if (k == RP_KIND_STRING || k == RP_KIND_NUMBER) return rp_doc_ops.str(c->in, v, len);
  if (k == RP_KIND_BOOL) {
    bool b = rp_doc_ops.boolean(c->in, v);
    *len = b ? 4 : 5;
    return b ? "true" : "false";
  }
  *len = 0;
  return NULL;
}

// Absent: no value, JSON null, a null-like unquoted YAML scalar, or text
// that is empty or only white space (an empty block in a skeleton).
static bool is_absent(vctx *c, rp_value v) {
  if (!v.p) return true;
  rp_kind k = rp_doc_ops.kind(c->in, v);
  if (k == RP_KIND_NULL) return true;
  if (k != RP_KIND_STRING) return false;
  size_t len;
  const char *s = rp_doc_ops.str(c->in, v, &len);
  if (rp_doc_is_plain(c->in, v) &&
      ((len == 1 && s[0] == '~') || (len == 4 && memcmp(s, "null", 4) == 0)))
    return true;
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return false;
  return true;
}

static bool parse_int(const char *s, size_t len, double *out) {
  size_t i = 0;
  if (i < len && (s[i] == '-' || s[i] == '+')) i++;
  if (i == len || len > 18) return false;
  for (size_t k = i; k < len; k++)
    if (!isdigit((unsigned char)s[k])) return false;
  char buf[24];
  memcpy(buf, s, len);
  buf[len] = '\0';
  *out = (double)strtoll(buf, NULL, 10);
  return true;
}

static bool parse_number(vctx *c, const char *s, size_t len, double *out) {
  rp_value v;
  if (len && s[0] == '+') s++, len--;
  if (rp_doc_number_parse(c->out, s, len, &v) != RP_OK) return false;
  *out = rp_doc_ops.number(c->out, v);
  return true;
}

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

static int days_in_month(int y, int m) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : mdays[m - 1];
}

// Whether s starts with a date written YYYY-MM-DD with a month from 01 to 12
// and a day from 01 to 31, which may still not be a day of that month.
static bool date_shape(const char *s, size_t len, int *y, int *m, int *d) {
  if (len < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) ||
      !digits(s + 8, 2))
    return false;
  *y = atoi(s), *m = atoi(s + 5), *d = atoi(s + 8);
  return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

static bool valid_date(const char *s, size_t len) {
  int y, m, d;
  return len == 10 && date_shape(s, len, &y, &m, &d) && d <= days_in_month(y, m);
}

// A date written right whose day the month does not have (2026-02-30,
// 2026-04-31) is not a slip of the format: the message says which month.
static bool report_missing_day(vctx *c, rp_value v, const char *s, size_t len, const char *name) {
  static const char *const months[] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
  int y, m, d;
  if (!date_shape(s, len, &y, &m, &d) || d <= days_in_month(y, m)) return false;
  problem(c, v, "%s is not a day of %s %d (it has %d days)", name, months[m - 1], y,
          days_in_month(y, m));
  return true;
}

static bool valid_datetime(const char *s, size_t len) {
  if (len != 16 && len != 19) return false;
  if (!valid_date(s, 10) || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || !digits(s + 11, 2) ||
      !digits(s + 14, 2) || atoi(s + 11) > 23 || atoi(s + 14) > 59)
    return false;
  return len == 16 || (s[16] == ':' && digits(s + 17, 2) && atoi(s + 17) <= 60);
}

static void range_words(const rp_field *f, char *buf, size_t n) {
  char a[RP_NUMBER_BUF], b[RP_NUMBER_BUF];
  rp_number_format(f->min, a);
  rp_number_format(f->max, b);
  if (f->has_min && f->has_max)
    snprintf(buf, n, " from %s to %s", a, b);
  else if (f->has_min)
    snprintf(buf, n, " of at least %s", a);
  else if (f->has_max)
    snprintf(buf, n, " of at most %s", b);
  else
    buf[0] = '\0';
}

static rp_value check_value(vctx *c, const rp_field *f, rp_value v, const char *name);

static rp_value check_fields(vctx *c, const rp_field *fields, size_t nfields, rp_value map,
                             const char *name, const char *const *extra, size_t nextra);

// What the checks return for a value with a problem: no value at all, so
// that the typed session leaves the field out (is_bad).
static const rp_value bad = {NULL, 0};

static bool is_bad(rp_value v) {
  return v.p == NULL;
}

// The problem of an enum value that is none of the values: written in
// another case ("Video"), near one ("vidoe"), or just not one of them.
static void report_enum(vctx *c, const rp_field *f, rp_value v, const char *s, size_t len,
                        const char *name) {
  for (size_t i = 0; i < f->nvalues; i++) {
    if (strlen(f->values[i]) == len && rp_name_distance(f->values[i], len, s, len) == 0) {
      problem(c, v, "%s must be '%s', written in exactly that case", name, f->values[i]);
      return;
    }
  }
  rp_buf allowed = RP_BUF_INIT;
  for (size_t i = 0; i < f->nvalues; i++)
    rp_buf_printf(&allowed, "%s%s", i ? (i + 1 == f->nvalues ? " or " : ", ") : "", f->values[i]);
  const char *values = allowed.data ? allowed.data : "one of the values";
  const char *near = rp_name_nearest(s, len, (const char *const *)f->values, f->nvalues);
  if (near)
    problem(c, v, "%s must be %s (did you mean '%s'?)", name, values, near);
  else
    problem(c, v, "%s must be %s", name, values);
  rp_buf_free(&allowed);
}

// Checks a scalar field; returns the typed value, or `bad` after a problem.
static rp_value check_scalar(vctx *c, const rp_field *f, rp_value v, const char *name) {
  rp_kind k = rp_doc_ops.kind(c->in, v);
  if (k == RP_KIND_LIST || k == RP_KIND_MAP) {
    problem(c, v, "%s must be %s, not a %s", name,
            f->type == RP_FIELD_TEXT || f->type == RP_FIELD_STRING ? "text" : "a single value",
            k == RP_KIND_LIST ? "list" : "group of fields");
    return bad;
  }
  size_t len;
  const char *s = scalar_text(c, v, &len);
  if (!s) {
    problem(c, v, "%s has no usable value", name);
    return bad;
  }
  char range[96];
  switch (f->type) {
    case RP_FIELD_TEXT:
      // A YAML block (`|`) ends with a line break that nobody typed as text.
      while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
      return rp_doc_string(c->out, s, len);
    case RP_FIELD_STRING:
      if (memchr(s, '\n', len)) {
        problem(c, v, "%s must fit on one line", name);
        return bad;
      }
      return rp_doc_string(c->out, s, len);
    case RP_FIELD_BOOLEAN: {
      bool t = (len == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 ||
                             memcmp(s, "TRUE", 4) == 0));
      bool fl = (len == 5 && (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 ||
                              memcmp(s, "FALSE", 5) == 0));
      if (!t && !fl) {
        problem(c, v, "%s must be true or false", name);
        return bad;
      }
      return rp_doc_bool(c->out, t);
    }
    case RP_FIELD_INTEGER:
    case RP_FIELD_RATING:
    case RP_FIELD_NUMBER: {
      double x;
      bool whole = f->type != RP_FIELD_NUMBER;
      bool ok = whole ? (k == RP_KIND_NUMBER ? (x = rp_doc_ops.number(c->in, v), x == floor(x))
                                             : parse_int(s, len, &x))
                      : (k == RP_KIND_NUMBER ? (x = rp_doc_ops.number(c->in, v), true)
                                             : parse_number(c, s, len, &x));
      range_words(f, range, sizeof range);
      const char *what = f->type == RP_FIELD_RATING    ? "a rating"
                         : f->type == RP_FIELD_INTEGER ? "a whole number"
                                                       : "a number";
      if (!ok) {
        problem(c, v, "%s must be %s%s", name, what, range);
        return bad;
      }
      if ((f->has_min && x < f->min) || (f->has_max && x > f->max)) {
        // A number out of range is shown: it is a score, not a therapist's words.
        char got[RP_NUMBER_BUF];
        rp_number_format(x, got);
        problem(c, v, "%s must be %s%s (got %s)", name, what, range, got);
        return bad;
      }
      return rp_doc_number(c->out, x);
    }
    case RP_FIELD_DATE:
      if (!valid_date(s, len)) {
        if (len == 10 && report_missing_day(c, v, s, len, name)) return bad;
        problem(c, v, "%s must be a date written as YYYY-MM-DD, e.g. 2026-11-24", name);
        return bad;
      }
      return rp_doc_string(c->out, s, len);
    case RP_FIELD_DATETIME:
      if (!valid_datetime(s, len)) {
        if (len > 10 && (s[10] == 'T' || s[10] == ' ') && report_missing_day(c, v, s, len, name))
          return bad;
        problem(c, v,
                "%s must be a date and time written as YYYY-MM-DDTHH:MM, e.g. "
                "2026-11-24T14:30",
                name);
        return bad;
      }
      return rp_doc_string(c->out, s, len);
    case RP_FIELD_ENUM:
      for (size_t i = 0; i < f->nvalues; i++)
        if (strlen(f->values[i]) == len && memcmp(f->values[i], s, len) == 0)
          return rp_doc_string(c->out, s, len);
      report_enum(c, f, v, s, len, name);
      return bad;
    default:
      return bad;
  }
}

static rp_value default_value(vctx *c, const rp_field *f, const char *name) {
  // A default is written like an unquoted YAML scalar and typed the same way.
  rp_doc *tmp = rp_doc_new();
  rp_value text = rp_doc_string(tmp, f->default_text, strlen(f->default_text));
  vctx dc = *c;
  dc.in = tmp;
  rp_value v = check_scalar(&dc, f, text, name);
  rp_doc_free(tmp);
  c->problems = dc.problems;
  return v;
}

// A list with a problem in any item is left out whole: the rules that read
// it count its items, and a list without the bad ones would number the rest
// wrongly. A group keeps the fields that are right.
static rp_value check_value(vctx *c, const rp_field *f, rp_value v, const char *name) {
  rp_kind k = rp_doc_ops.kind(c->in, v);
  if (f->type == RP_FIELD_LIST) {
    if (k != RP_KIND_LIST) {
      problem(c, v, "%s must be a list (items on lines starting with '- ')", name);
      return bad;
    }
    rp_value list = rp_doc_list(c->out);
    size_t before = c->problems;
    size_t n = rp_doc_ops.len(c->in, v);
    for (size_t i = 0; i < n; i++) {
      char sub[512];
      if (snprintf(sub, sizeof sub, "%s[%zu]", name, i + 1) < 0) sub[0] = 0;
      rp_value el = rp_doc_ops.at(c->in, v, i);
      if (is_absent(c, el)) {
        problem(c, el, "%s is empty", sub);
        continue;
      }
      rp_value typed = check_value(c, f->items, el, sub);
      if (!is_bad(typed)) rp_doc_list_push(c->out, list, typed);
    }
    return c->problems == before ? list : bad;
  }
  if (f->type == RP_FIELD_OBJECT) {
    if (k != RP_KIND_MAP) {
      problem(c, v, "%s must be a group of fields (name: value lines)", name);
      return bad;
    }
    return check_fields(c, f->fields, f->nfields, v, name, NULL, 0);
  }
  return check_scalar(c, f, v, name);
}

// `at` is where the field should be: its name when the session names it
// with nothing after (`subjective:`, `plan: ~`), else the start of the group
// that should hold it.
// Whether an absent f is a problem: it is required, or it is a group that
// would owe a required field (what report_missing reports).
static bool owes_a_value(const rp_field *f) {
  if (f->required) return true;
  if (f->type == RP_FIELD_OBJECT)
    for (size_t i = 0; i < f->nfields; i++)
      if (f->fields[i].required) return true;
  return false;
}

static void report_missing(vctx *c, const rp_field *f, spot at, const char *name) {
  if (f->required) {
    problem_at(c, at, "%s is required", name);
    return;
  }
  // An optional group that is absent still owes its required fields.
  if (f->type == RP_FIELD_OBJECT) {
    for (size_t i = 0; i < f->nfields; i++) {
      char sub[512];
      if (snprintf(sub, sizeof sub, "%s.%s", name, f->fields[i].id) < 0) sub[0] = 0;
      if (f->fields[i].required) report_missing(c, &f->fields[i], at, sub);
    }
  }
}

// Data that no field describes (a checklist's or a measure's answers) is
// typed as YAML 1.2 reads unquoted scalars: numbers, true/false, null; the
// checklist or measure checks it further.
static rp_value copy_value(vctx *c, rp_value v, int depth) {
  rp_kind k = rp_doc_ops.kind(c->in, v);
  size_t len;
  switch (k) {
    case RP_KIND_STRING: {
      const char *s = rp_doc_ops.str(c->in, v, &len);
      if (rp_doc_is_plain(c->in, v)) {
        rp_value num;
        if (is_absent(c, v)) return rp_doc_null(c->out);
        if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 5 && memcmp(s, "false", 5) == 0))
          return rp_doc_bool(c->out, len == 4);
        if (len && len < 32 && (isdigit((unsigned char)s[0]) || s[0] == '-') &&
            !(len > 1 && s[0] == '0' && isdigit((unsigned char)s[1])) &&
            rp_doc_number_parse(c->out, s, len, &num) == RP_OK)
          return num;
      }
      return rp_doc_string(c->out, s, len);
    }
    case RP_KIND_NUMBER:
      return rp_doc_number(c->out, rp_doc_ops.number(c->in, v));
    case RP_KIND_BOOL:
      return rp_doc_bool(c->out, rp_doc_ops.boolean(c->in, v));
    case RP_KIND_LIST: {
      rp_value l = rp_doc_list(c->out);
      size_t n = rp_doc_ops.len(c->in, v);
      for (size_t i = 0; i < n && depth < RP_DATA_MAX_DEPTH; i++)
        rp_doc_list_push(c->out, l, copy_value(c, rp_doc_ops.at(c->in, v, i), depth + 1));
      return l;
    }
    case RP_KIND_MAP: {
      rp_value m = rp_doc_map(c->out);
      const char *key;
      size_t keylen;
      rp_value val;
      for (size_t i = 0;
           depth < RP_DATA_MAX_DEPTH && rp_doc_map_at(c->in, v, i, &key, &keylen, &val); i++)
        rp_doc_map_set(c->out, m, key, keylen, copy_value(c, val, depth + 1));
      return m;
    }
    default:
      return rp_doc_null(c->out);
  }
}

// Where the key `id` of `map` is written.
static spot key_spot(vctx *c, rp_value map, const char *id) {
  spot s = {0, 0};
  const char *key;
  size_t keylen;
  for (size_t i = 0; rp_doc_map_at(c->in, map, i, &key, &keylen, NULL); i++) {
    if (keylen == strlen(id) && memcmp(key, id, keylen) == 0) {
      rp_doc_key_pos(c->in, map, i, &s.line, &s.col);
      break;
    }
  }
  return s;
}

// The names a key of a group could have meant: its fields and the extra
// keys allowed beside them, less those the group already has. NULL entries
// stand for the left-out ones; the caller frees the array (not the names).
static const char **known_names(vctx *c, const rp_field *fields, size_t nfields, rp_value map,
                                const char *const *extra, size_t nextra) {
  const char **names = rp_xcalloc(nfields + nextra + 1, sizeof *names);
  for (size_t j = 0; j < nfields + nextra; j++) {
    const char *id = j < nfields ? fields[j].id : extra[j - nfields];
    rp_value v;
    if (!rp_doc_ops.get(c->in, map, id, strlen(id), &v)) names[j] = id;
  }
  return names;
}

// Reports the key at index i of `map`, which no field has. A plain name is
// shown, with the nearest known name when one is near; anything else may be
// a line of the session's text read as a key, and is never shown.
static void report_unknown(vctx *c, rp_value map, size_t i, const char *key, size_t keylen,
                           const char *const *names, size_t nnames, const char *name) {
  spot at = {0, 0};
  rp_doc_key_pos(c->in, map, i, &at.line, &at.col);
  const char *dot = name[0] ? "." : "";
  if (!rp_name_is_plain(key, keylen)) {
    if (name[0])
      problem_at(c, at,
                 "an unknown field in %s (if this line is text, it belongs in a text field, "
                 "after '|')",
                 name);
    else
      problem_at(c, at,
                 "an unknown field (if this line is text, it belongs in a text field, "
                 "after '|')");
    return;
  }
  const char *near = rp_name_nearest(key, keylen, names, nnames);
  if (near)
    problem_at(c, at, "unknown field '%s%s%.*s' (did you mean '%s%s%s'?)", name, dot, (int)keylen,
               key, name, dot, near);
  else
    problem_at(c, at, "unknown field '%s%s%.*s'", name, dot, (int)keylen, key);
}

// Where a required field that is not there is reported: at a misspelt key
// that stands for it when there is one, else at `fallback`.
static spot missing_spot(vctx *c, rp_value map, const char *id, const char *const *names,
                         size_t nnames, spot fallback) {
  const char *key;
  size_t keylen;
  for (size_t i = 0; rp_doc_map_at(c->in, map, i, &key, &keylen, NULL); i++) {
    if (!rp_name_is_plain(key, keylen)) continue;
    const char *near = rp_name_nearest(key, keylen, names, nnames);
    if (near && strcmp(near, id) == 0) {
      spot s = {0, 0};
      rp_doc_key_pos(c->in, map, i, &s.line, &s.col);
      return s;
    }
  }
  return fallback;
}

static bool is_known(const char *key, size_t keylen, const char *const *ids, size_t n) {
  for (size_t j = 0; j < n; j++)
    if (strlen(ids[j]) == keylen && memcmp(ids[j], key, keylen) == 0) return true;
  return false;
}

// "name.id" (or "id" at the top level) into buf, cut short to fit: the
// name messages give a field. Built for every field of every session, so
// without printf.
static void dotted(char *buf, size_t size, const char *name, const char *id) {
  size_t n = strlen(name), m = strlen(id), o = 0;
  if (n > size - 1) n = size - 1;
  memcpy(buf, name, n);
  o = n;
  if (n && o < size - 1) buf[o++] = '.';
  if (m > size - 1 - o) m = size - 1 - o;
  memcpy(buf + o, id, m);
  buf[o + m] = '\0';
}

static rp_value check_fields(vctx *c, const rp_field *fields, size_t nfields, rp_value map,
                             const char *name, const char *const *extra, size_t nextra) {
  rp_value out = rp_doc_map(c->out);
  const char **names = known_names(c, fields, nfields, map, extra, nextra);
  size_t nnames = nfields + nextra;
  // Keys the schema does not know: a typo must not pass silently.
  const char *key;
  size_t keylen;
  rp_value val;
  for (size_t i = 0; rp_doc_map_at(c->in, map, i, &key, &keylen, &val); i++) {
    bool is_field = false;
    for (size_t j = 0; j < nfields && !is_field; j++)
      is_field = strlen(fields[j].id) == keylen && memcmp(fields[j].id, key, keylen) == 0;
    if (is_field) continue;
    if (is_known(key, keylen, extra, nextra))
      rp_doc_map_set(c->out, out, key, keylen, copy_value(c, val, 0));
    else
      report_unknown(c, map, i, key, keylen, names, nnames, name);
  }
  for (size_t j = 0; j < nfields; j++) {
    const rp_field *f = &fields[j];
    char sub[512];
    dotted(sub, sizeof sub, name, f->id);
    rp_value v = {NULL, 0};
    bool named = rp_doc_ops.get(c->in, map, f->id, strlen(f->id), &v);
    rp_value typed;
    if (!named || is_absent(c, v)) {
      if (f->default_text) {
        typed = default_value(c, f, sub);
      } else {
        // Where to report it is worked out only when there is something to
        // report: finding a misspelt key that stands for the field compares
        // every key with every name.
        if (owes_a_value(f)) {
          spot at = named ? key_spot(c, map, f->id)
                          : missing_spot(c, map, f->id, names, nnames, spot_of(c, map));
          report_missing(c, f, at, sub);
        }
        // Absent fields are null in the typed session: layouts may test them.
        typed = rp_doc_null(c->out);
      }
    } else {
      typed = check_value(c, f, v, sub);
    }
    // A value with a problem is left out, so that the stages after this one
    // (rules, checklists, measures) check the rest and never see it.
    if (!is_bad(typed)) rp_doc_map_set(c->out, out, f->id, strlen(f->id), typed);
  }
  free(names);
  return out;
}

int rp_schema_validate(const rp_schema *s, rp_doc *in, rp_value root, const char *path, rp_doc *out,
                       rp_value *typed, rp_diags *diags) {
  vctx c = {in, out, path, diags, 0, s};
  if (rp_doc_ops.kind(in, root) != RP_KIND_MAP) {
    problem(&c, root, "a session file is a group of fields (name: value lines)");
    *typed = rp_doc_null(out);
    return RP_EDATA;
  }
  const char **extra = rp_xcalloc(s->npassthrough + 1, sizeof *extra);
  extra[0] = "type";
  for (size_t i = 0; i < s->npassthrough; i++)
    extra[i + 1] = s->passthrough[i];
  *typed = check_fields(&c, s->fields, s->nfields, root, "", extra, s->npassthrough + 1);
  free(extra);
  return c.problems ? RP_EDATA : RP_OK;
}
