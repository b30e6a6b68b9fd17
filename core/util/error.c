// Status names and the diagnostics collector.
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

const char *rp_status_name(rp_status s) {
  switch (s) {
#define RP_STATUS_NAME(name, code, text) \
  case RP_##name:                        \
    return "RP_" #name;
    RP_STATUS_MAP(RP_STATUS_NAME)
#undef RP_STATUS_NAME
  }
  return "RP_UNKNOWN";
}

const char *rp_status_text(rp_status s) {
  switch (s) {
#define RP_STATUS_TEXT(name, code, text) \
  case RP_##name:                        \
    return text;
    RP_STATUS_MAP(RP_STATUS_TEXT)
#undef RP_STATUS_TEXT
  }
  return "unknown error";
}

void rp_diags_vadd(rp_diags *d, rp_severity sev, const char *path, int line, int col,
                   const char *fmt, va_list ap) {
  if (!d) return;
  if (sev == RP_SEV_ERROR) d->errors++;
  size_t limit = d->limit ? d->limit : 1000;
  if (d->n >= limit) {
    d->dropped++;
    return;
  }
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 8;
    d->items = rp_xrealloc(d->items, d->cap * sizeof *d->items);
  }
  rp_buf msg = RP_BUF_INIT;
  rp_buf_vprintf(&msg, fmt, ap);
  rp_diag *e = &d->items[d->n++];
  e->sev = sev;
  e->path = rp_xstrndup(path ? path : "-", strlen(path ? path : "-"));
  e->line = line;
  e->col = col;
  e->msg = rp_buf_detach(&msg);
}

void rp_diags_add(rp_diags *d, rp_severity sev, const char *path, int line, int col,
                  const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rp_diags_vadd(d, sev, path, line, col, fmt, ap);
  va_end(ap);
}

void rp_diags_move(rp_diags *to, rp_diags *from) {
  for (size_t i = 0; i < from->n; i++) {
    rp_diag *e = &from->items[i];
    rp_diags_add(to, e->sev, e->path, e->line, e->col, "%s", e->msg);
  }
  // Errors that were counted but dropped in `from` still count in `to`.
  to->dropped += from->dropped;
  size_t stored_errors = 0;
  for (size_t i = 0; i < from->n; i++)
    stored_errors += from->items[i].sev == RP_SEV_ERROR;
  to->errors += from->errors - stored_errors;
  rp_diags_clear(from);
}

void rp_diags_sort(rp_diags *d, size_t from) {
  // Insertion sort: stable, and the lists are short and nearly in order.
  for (size_t i = from + 1; i < d->n; i++) {
    rp_diag e = d->items[i];
    size_t j = i;
    while (j > from) {
      const rp_diag *p = &d->items[j - 1];
      int c = strcmp(p->path, e.path);
      if (c < 0 || (c == 0 && (p->line < e.line || (p->line == e.line && p->col <= e.col)))) break;
      d->items[j] = d->items[j - 1];
      j--;
    }
    d->items[j] = e;
  }
}

static const char *severity_word(rp_severity s) {
  switch (s) {
    case RP_SEV_ERROR:
      return "error";
    case RP_SEV_WARNING:
      return "warning";
    case RP_SEV_NOTE:
      return "note";
  }
  return "error";
}

void rp_diag_escape(rp_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    const unsigned char *run = p;
    // C1 controls are U+0080..U+009F: 0xC2 0x80..0x9F in UTF-8.
    while (p < end && *p >= 0x20 && *p != 0x7f &&
           !(*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f))
      p++;
    rp_buf_add(b, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    char esc[7];
    if (*p == '\n' || *p == '\r' || *p == '\t') {
      esc[0] = '\\';
      esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
      rp_buf_add(b, esc, 2);
      p++;
    } else if (*p == 0xc2) {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[p[1] >> 4];
      esc[5] = hex[p[1] & 15];
      rp_buf_add(b, esc, 6);
      p += 2;
    } else {
      memcpy(esc, "\\x", 2);
      esc[2] = hex[*p >> 4];
      esc[3] = hex[*p & 15];
      rp_buf_add(b, esc, 4);
      p++;
    }
  }
}

static void add_escaped(rp_buf *b, const char *s) {
  rp_diag_escape(b, s, strlen(s));
}

char *rp_diag_format(const rp_diag *e) {
  // Paths and messages may carry text from a plugin or a file name: each
  // entry stays one line, so none can pose as another problem.
  rp_buf b = RP_BUF_INIT;
  add_escaped(&b, e->path);
  if (e->line > 0) rp_buf_printf(&b, ":%d:%d", e->line, e->col > 0 ? e->col : 1);
  rp_buf_printf(&b, ": %s: ", severity_word(e->sev));
  add_escaped(&b, e->msg);
  return rp_buf_detach(&b);
}

void rp_diags_print(const rp_diags *d, FILE *f) {
  for (size_t i = 0; i < d->n; i++) {
    char *s = rp_diag_format(&d->items[i]);
    fprintf(f, "%s\n", s);
    free(s);
  }
  if (d->dropped) fprintf(f, "rapport: %zu more problems not shown\n", d->dropped);
}

void rp_diags_clear(rp_diags *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->items[i].path);
    free(d->items[i].msg);
  }
  d->n = 0;
  d->errors = 0;
  d->dropped = 0;
}

void rp_diags_free(rp_diags *d) {
  rp_diags_clear(d);
  free(d->items);
  d->items = NULL;
  d->cap = 0;
}
