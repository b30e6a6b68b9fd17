// A growable byte buffer: the one way Rapport builds strings and output.
//
// A buffer owns its bytes; rp_buf_free releases them. The contents are always
// followed by a NUL byte (not counted in len) once anything has been added, so
// `data` can be handed to C string functions when the contents hold no NUL.
// Allocation failure aborts through rp_oom(): the engine's callers have no
// better answer to a failed malloc of a few kilobytes, and a half-written note
// must never be mistaken for a whole one.
#pragma once

#include <stdarg.h>
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

// Reports an allocation failure and aborts.
_Noreturn void rp_oom(void);
void *rp_xmalloc(size_t n);
void *rp_xcalloc(size_t n, size_t size);
void *rp_xrealloc(void *p, size_t n);
char *rp_xstrndup(const char *s, size_t n);
