// A bump allocator: many small allocations freed together.
//
// Used where a structure is built once and freed whole (a compiled template,
// a parsed document). Memory comes in chunks from malloc; rp_arena_reset keeps
// the first chunk for reuse, rp_arena_free returns everything.
#pragma once

#include <stddef.h>

typedef struct rp_arena_chunk rp_arena_chunk;

typedef struct rp_arena {
  rp_arena_chunk *head;
  char *ptr;     // next free byte in head
  char *end;     // end of head
  size_t total;  // bytes obtained from malloc, for tests and limits
} rp_arena;

#define RP_ARENA_INIT \
  { NULL, NULL, NULL, 0 }

// Returns `n` bytes aligned for any type; never NULL (aborts on OOM).
void *rp_arena_alloc(rp_arena *a, size_t n);
// Copies `len` bytes into the arena and adds a NUL.
char *rp_arena_strndup(rp_arena *a, const char *s, size_t len);
void rp_arena_reset(rp_arena *a);
void rp_arena_free(rp_arena *a);
