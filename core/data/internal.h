// What the files of core/data share and nobody else may use: the node
// layout, the document's arena, the tree builder the loaders feed, source
// position tracking and number parsing.
#pragma once

#include <stdint.h>
#include <string.h>

#include <yajl/yajl_common.h>

#include "data/data.h"

// yajl's allocation functions for every parser and generator: the core's
// checked allocators (json.c).
extern yajl_alloc_funcs rp_yajl_alloc_funcs;

typedef struct rp_node rp_node;

// One key -> value pair of a map. The hash is only computed (and only
// meaningful) once the map has an index.
typedef struct rp_entry {
  const char *key;  // in the arena, NUL-terminated
  uint32_t keylen;
  uint32_t hash;
  rp_node *val;
  uint32_t line, col;  // of the key; 0 when built
} rp_entry;

// Maps of up to this many entries are scanned; larger ones get a hash index.
enum { RP_MAP_LINEAR_MAX = 8 };

// 40 bytes. Sizes are 32-bit because the loaders refuse sources over 2 GiB.
struct rp_node {
  uint8_t kind;  // rp_kind
  bool b;        // BOOL
  bool plain;    // STRING: an unquoted YAML scalar kept as text (rp_yaml_parse_text)
  uint32_t line, col;
  uint32_t len;   // STRING/NUMBER: text bytes; LIST/MAP: elements
  uint32_t cap;   // LIST/MAP: room in items/entries
  uint32_t mask;  // MAP: index slots - 1 (0 when there is no index)
  union {
    const char *s;      // STRING bytes, NUMBER text (NUL-terminated)
    rp_node **items;    // LIST
    rp_entry *entries;  // MAP
    rp_doc_lambda_fn fn;
  } a;
  union {
    double num;     // NUMBER
    uint32_t *idx;  // MAP: slots holding entry index + 1, 0 for empty
    void *ud;       // LAMBDA
  } u;
};

typedef struct rp_chunk rp_chunk;

struct rp_doc {
  // The arena: a list of standard-size chunks that reset rewinds but keeps,
  // and a list of oversize chunks (one large string, say) that reset frees so
  // that one huge JSONL line does not pin its memory for the whole stream.
  rp_chunk *first, *cur, *big;
  uintptr_t ptr, end;  // free space in cur
  size_t mem;          // bytes held in chunks

  // Scratch for the loaders, reused across parses: children of the
  // containers still open, in document order.
  rp_entry *pend;
  size_t npend, cappend;
};

void *rp_doc_alloc_slow(rp_doc *doc, size_t n, size_t align);

// n bytes aligned to `align` (a power of two), never NULL.
static inline void *rp_doc_alloc(rp_doc *doc, size_t n, size_t align) {
  uintptr_t p = (doc->ptr + (align - 1)) & ~(uintptr_t)(align - 1);
  if (doc->ptr == 0 || p > doc->end || n > doc->end - p) return rp_doc_alloc_slow(doc, n, align);
  doc->ptr = p + n;
  return (void *)p;
}

static inline rp_node *rp_doc_node(rp_doc *doc, rp_kind kind, uint32_t line, uint32_t col) {
  rp_node *n = rp_doc_alloc(doc, sizeof *n, _Alignof(rp_node));
  memset(n, 0, sizeof *n);
  n->kind = (uint8_t)kind;
  n->line = line;
  n->col = col;
  return n;
}

// Copies len bytes and a NUL into the arena.
static inline char *rp_doc_strdup(rp_doc *doc, const char *s, size_t len) {
  char *p = rp_doc_alloc(doc, len + 1, 1);
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

static inline rp_value rp_node_value(const rp_node *n) {
  rp_value v = {n, 0};
  return v;
}

// A NUMBER node from decimal text the caller has checked to be a number
// (JSON grammar, or the YAML float/int forms with a leading sign or dot).
// Returns NULL when the value is not finite.
rp_node *rp_doc_number_node(rp_doc *doc, const char *text, size_t len, uint32_t line, uint32_t col);
// A NUMBER node for a double already computed.
rp_node *rp_doc_number_node_d(rp_doc *doc, double x, uint32_t line, uint32_t col);

// ---------------------------------------------------------------------------
// The tree builder: the loaders report values in document order and the
// builder assembles containers, giving each one an exactly sized array when
// it closes (children wait in doc->pend until then).
// ---------------------------------------------------------------------------

typedef struct rp_build_frame {
  rp_node *node;
  size_t first;   // index in doc->pend of the first child
  bool want_key;  // MAP (YAML): the next scalar is a key
} rp_build_frame;

typedef struct rp_build {
  rp_doc *doc;
  int depth;
  rp_node *root;
  rp_build_frame stack[RP_DATA_MAX_DEPTH];
} rp_build;

void rp_build_init(rp_build *b, rp_doc *doc);
void rp_build_pend_grow(rp_doc *doc);

static inline void rp_build_pend(rp_doc *doc, const rp_entry *e) {
  if (doc->npend == doc->cappend) rp_build_pend_grow(doc);
  doc->pend[doc->npend++] = *e;
}

// Adds a key to the open map; its value must follow.
static inline void rp_build_key(rp_build *b, const char *key, size_t len, uint32_t line,
                                uint32_t col) {
  rp_entry e = {rp_doc_strdup(b->doc, key, len), (uint32_t)len, 0, NULL, line, col};
  rp_build_pend(b->doc, &e);
  b->stack[b->depth - 1].want_key = false;
}

// Adds a scalar, or a container just opened, to the open container (or makes
// it the root).
static inline void rp_build_value(rp_build *b, rp_node *n) {
  if (b->depth == 0) {
    b->root = n;
    return;
  }
  rp_build_frame *f = &b->stack[b->depth - 1];
  if (f->node->kind == RP_KIND_MAP) {
    b->doc->pend[b->doc->npend - 1].val = n;
    f->want_key = true;
  } else {
    rp_entry e = {NULL, 0, 0, n, 0, 0};
    rp_build_pend(b->doc, &e);
  }
}

// Adds a container and makes it the open one. Returns false, adding nothing,
// when that would nest deeper than RP_DATA_MAX_DEPTH.
bool rp_build_open(rp_build *b, rp_node *n);
// Closes the open container. Returns NULL, or for a map with a repeated key
// the later of the first such pair (the map is left without an index then).
const rp_entry *rp_build_close(rp_build *b);

// A key fit to print in a message: a plain identifier (a letter or '_',
// then letters, digits, '_' and '-'; at most 40 bytes), so that a key that is
// really data (a misindented line of a client's words, an address, terminal
// escapes) is never shown: messages say "this key" at its position instead.
bool rp_data_key_printable(const char *key, size_t len);

// ---------------------------------------------------------------------------
// Source positions
// ---------------------------------------------------------------------------

// Turns byte offsets into 1-based line and byte column. Offsets usually
// increase, so the cursor moves forward line by line from where it last
// stopped and the whole source is searched for newlines about once.
typedef struct rp_poscur {
  const char *src;
  size_t len;
  size_t line_start;  // offset of the first byte of `line`
  size_t line_end;    // offset of the newline that ends it (or len)
  uint32_t line;
  uint32_t base_line;
  size_t base_start;
} rp_poscur;

void rp_poscur_init(rp_poscur *c, const char *src, size_t len, uint32_t line, size_t line_start);
void rp_poscur_move(rp_poscur *c, size_t off, uint32_t *line, uint32_t *col);

// Called for every node, so the common case (same line) is inline.
static inline void rp_poscur_at(rp_poscur *c, size_t off, uint32_t *line, uint32_t *col) {
  if (off >= c->line_start && off <= c->line_end) {
    *line = c->line;
    *col = (uint32_t)(off - c->line_start + 1);
    return;
  }
  rp_poscur_move(c, off, line, col);
}

// JSON text (json.c) by the fast path alone: true with *root set when it
// accepts the text, false when it declines (then nothing is reported, and
// the doc may hold unreachable nodes); and by the strict path alone, which
// reports every problem. rp_json_parse_line tries the one, then the other;
// the fast path accepts only what the strict one accepts, as the same tree.
bool rp_json_parse_fast(rp_doc *doc, const char *src, size_t len, long line, rp_value *root);
int rp_json_parse_strict(rp_doc *doc, const char *path, const char *src, size_t len, long line,
                         rp_diags *diags, rp_value *root);

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points over U+10FFFF are ill-formed),
// or len when all of s is valid.
size_t rp_utf8_check(const char *s, size_t len);

// ---------------------------------------------------------------------------
// Numbers (number.c)
// ---------------------------------------------------------------------------

// True when `text` is exactly what JavaScript prints for its value (e.g.
// "42", "-1.5", "0.001"), setting *x. The common case, decided without
// strtod or printf.
bool rp_number_canonical(const char *text, size_t len, double *x);
// Reads decimal number text (already validated) whatever the C locale's
// decimal point. Returns false when the value is not finite.
bool rp_number_read(const char *text, size_t len, double *x);
// True when text is a JSON number.
bool rp_number_is_json(const char *text, size_t len);
