// Growable buffers and the checked allocation helpers built on them.
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void rp_oom(void) {
  fputs("rapport: out of memory\n", stderr);
  abort();
}

void *rp_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) rp_oom();
  return p;
}

void *rp_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) rp_oom();
  return p;
}

void *rp_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) rp_oom();
  return q;
}

char *rp_xstrndup(const char *s, size_t n) {
  char *p = rp_xmalloc(n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void rp_buf_grow(rp_buf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need < extra) rp_oom();  // overflow
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    if (cap > ((size_t)-1) / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  b->data = rp_xrealloc(b->data, cap);
  b->cap = cap;
}

void rp_buf_free(rp_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void rp_buf_vprintf(rp_buf *b, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) return;
  rp_buf_grow(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void rp_buf_printf(rp_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rp_buf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *rp_buf_detach(rp_buf *b) {
  char *s = b->data ? b->data : rp_xstrndup("", 0);
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}
