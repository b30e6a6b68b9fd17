// A growable byte buffer: the one way Rapport builds strings and output.
//
// A buffer owns its bytes; rp_buf_free releases them. The contents are always
// followed by a NUL byte (not counted in len) once anything has been added, so
// `data` can be handed to C string functions when the contents hold no NUL.
// Allocation failure ends the run through rp_oom(): the engine's callers have
// no better answer to a failed malloc of a few kilobytes, and a half-written
// note must never be mistaken for a whole one.
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct rp_buf {
  char *data;  // NULL until the first append
  size_t len;
  size_t cap;
} rp_buf;

#define RP_BUF_INIT \
  { NULL, 0, 0 }

// Makes room for at least `extra` more bytes (plus the NUL).
void rp_buf_grow(rp_buf *b, size_t extra);
void rp_buf_free(rp_buf *b);

// Appends `len` bytes from `s` (which may be NULL when len is 0).
static inline void rp_buf_add(rp_buf *b, const char *s, size_t len) {
  if (b->cap - b->len <= len) rp_buf_grow(b, len);
  if (len) memcpy(b->data + b->len, s, len);
  b->len += len;
  b->data[b->len] = '\0';
}

static inline void rp_buf_addc(rp_buf *b, char c) {
  if (b->cap - b->len <= 1) rp_buf_grow(b, 1);
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

static inline void rp_buf_adds(rp_buf *b, const char *s) {
  rp_buf_add(b, s, strlen(s));
}

void rp_buf_printf(rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_buf_vprintf(rp_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

// Empties the buffer but keeps its memory for reuse.
static inline void rp_buf_clear(rp_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

// Gives up ownership of the contents: the caller frees the returned string
// (never NULL; an empty buffer yields ""). The buffer is left empty.
char *rp_buf_detach(rp_buf *b);

// The checked allocators: they never return NULL. When memory runs out they
// call rp_oom(), which ends the run in order: it flushes standard output
// (notes only ever go there whole), prints `rapport: error: out of memory`
// to standard error and exits with status 1 through _exit(), so no other
// thread writes anything after it and no exit handler runs. Outputs are
// written atomically (util/atomic.h), so a run ended here may leave a
// temporary file beside a target, but never a partial note. Nothing is
// freed on this path: LeakSanitizer's check, which runs from exit(), is
// skipped on purpose (a report would list every live allocation and say
// nothing about a leak); every other way out is still checked.
//
// The Lua states have an allocator of their own (lua/host.c) that returns
// NULL instead, which Lua turns into a memory error that the plugin host
// reports as a problem.
_Noreturn void rp_oom(void);
void *rp_xmalloc(size_t n);
void *rp_xcalloc(size_t n, size_t size);
// Like realloc, except that `n` == 0 keeps a 1-byte block (it never frees).
void *rp_xrealloc(void *p, size_t n);
char *rp_xstrndup(const char *s, size_t n);

// Allocation-failure injection, for tests (tests/fault/): built only with
// the CMake option RP_FAULT_INJECTION, so that other builds carry no cost.
// Every allocation asks rp_fault_alloc() first: the rp_x* functions above
// (and through them yajl's and cmark-gfm's allocations) with lua false, the
// Lua allocator with lua true for each allocation that grows a block. It
// counts the allocation and returns true when it must fail:
//   RAPPORT_FAIL_ALLOC=N         the Nth allocation of either kind fails;
//   RAPPORT_FAIL_ALLOC_LUA=N     the Nth allocation of the Lua states fails;
//   RAPPORT_FAIL_ALLOC_REPEAT=K  so do the K-1 allocations after it (of the
//                                same count), to fail Lua's retry too.
// Otherwise the allocations after it succeed. Counts are over all threads. With
// RAPPORT_FAIL_ALLOC_COUNT set, the run ends by printing `rapport: fault injection: N allocations,
// M in Lua` to standard error. Without the option, rp_fault_alloc is a constant false.
#ifdef RP_FAULT_INJECTION
bool rp_fault_alloc(bool lua);
#else
static inline bool rp_fault_alloc(bool lua) {
  (void)lua;
  return false;
}
#endif
