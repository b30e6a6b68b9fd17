// Growable buffers and the checked allocation helpers built on them.
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

// See buf.h for why this exits without unwinding. write() rather than stdio:
// it allocates nothing, and standard error may be the stream that ran out.
_Noreturn void rp_oom(void) {
  static const char msg[] = "rapport: error: out of memory\n";
  fflush(stdout);
  ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)n;
  _exit(1);
}

#ifdef RP_FAULT_INJECTION
// Read once before main, while there is one thread; 0 means never.
static long fault_at, fault_lua_at, fault_repeat = 1;
static _Atomic long fault_count, fault_lua_count;

static void fault_report(void) {
  fprintf(stderr, "rapport: fault injection: %ld allocations, %ld in Lua\n", (long)fault_count,
          (long)fault_lua_count);
}

__attribute__((constructor)) static void fault_init(void) {
  const char *v = getenv("RAPPORT_FAIL_ALLOC");
  if (v) fault_at = atol(v);
  v = getenv("RAPPORT_FAIL_ALLOC_LUA");
  if (v) fault_lua_at = atol(v);
  v = getenv("RAPPORT_FAIL_ALLOC_REPEAT");
  if (v && atol(v) > 0) fault_repeat = atol(v);
  if (getenv("RAPPORT_FAIL_ALLOC_COUNT")) atexit(fault_report);
}

static bool fault_hit(long n, long at) {
  return at > 0 && n >= at && n - at < fault_repeat;
}

bool rp_fault_alloc(bool lua) {
  bool fail = fault_hit(++fault_count, fault_at);
  if (lua && fault_hit(++fault_lua_count, fault_lua_at)) fail = true;
  return fail;
}
#endif

void *rp_xmalloc(size_t n) {
  void *p = rp_fault_alloc(false) ? NULL : malloc(n ? n : 1);
  if (!p) rp_oom();
  return p;
}

void *rp_xcalloc(size_t n, size_t size) {
  void *p = rp_fault_alloc(false) ? NULL : calloc(n ? n : 1, size ? size : 1);
  if (!p) rp_oom();
  return p;
}

void *rp_xrealloc(void *p, size_t n) {
  void *q = rp_fault_alloc(false) ? NULL : realloc(p, n ? n : 1);
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
