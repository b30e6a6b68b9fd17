// The bump allocator of arena.h.
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

struct rp_arena_chunk {
  rp_arena_chunk *next;
  size_t size;  // usable bytes after the header
  alignas(max_align_t) char data[];
};

enum { RP_ARENA_CHUNK = 16 * 1024 };

static void arena_new_chunk(rp_arena *a, size_t need) {
  size_t size = need > RP_ARENA_CHUNK ? need : RP_ARENA_CHUNK;
  rp_arena_chunk *c = rp_xmalloc(sizeof *c + size);
  c->size = size;
  c->next = a->head;
  a->head = c;
  a->ptr = c->data;
  a->end = c->data + size;
  a->total += size;
}

void *rp_arena_alloc(rp_arena *a, size_t n) {
  const size_t align = alignof(max_align_t);
  n = (n + align - 1) & ~(align - 1);
  if (n == 0) n = align;
  if (!a->head || (size_t)(a->end - a->ptr) < n) arena_new_chunk(a, n);
  void *p = a->ptr;
  a->ptr += n;
  return p;
}

char *rp_arena_strndup(rp_arena *a, const char *s, size_t len) {
  char *p = rp_arena_alloc(a, len + 1);
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

void rp_arena_reset(rp_arena *a) {
  if (!a->head) return;
  // Keep only the oldest chunk (the last in the list), so repeated use of
  // the same arena for similar documents settles at one chunk.
  rp_arena_chunk *keep = a->head;
  while (keep->next) {
    rp_arena_chunk *next = keep->next;
    a->total -= keep->size;
    free(keep);
    keep = next;
  }
  a->head = keep;
  a->ptr = keep->data;
  a->end = keep->data + keep->size;
}

void rp_arena_free(rp_arena *a) {
  rp_arena_chunk *c = a->head;
  while (c) {
    rp_arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
  a->ptr = a->end = NULL;
  a->total = 0;
}
