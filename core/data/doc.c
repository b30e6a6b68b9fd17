// The document: its arena, the builders, the tree builder the loaders feed,
// and rp_doc_ops, the engine's view of the tree.
#include <stdalign.h>
#include <stdlib.h>

#include "data/internal.h"

// ---------------------------------------------------------------------------
// Arena
// ---------------------------------------------------------------------------

struct rp_chunk {
  rp_chunk *next;
  size_t size;
  alignas(max_align_t) char data[];
};

// A 3 KB session needs about 10 KB of nodes and strings, so one standard
// chunk usually holds a whole JSONL line. Requests over a quarter of a chunk
// get a chunk of their own, so that a chunk never wastes more than a quarter.
enum { RP_CHUNK_SIZE = 32 * 1024 - 64, RP_CHUNK_BIG = RP_CHUNK_SIZE / 4 };
// What reset keeps: enough for any ordinary document (about 1 MiB of chunks
// and 512 KiB of loader scratch), so that one giant JSONL line does not pin
// its memory for the rest of the stream.
enum { RP_CHUNKS_KEEP = 32, RP_PEND_KEEP = 16 * 1024 };

static rp_chunk *chunk_new(rp_doc *doc, size_t size) {
  rp_chunk *c = rp_xmalloc(sizeof *c + size);
  c->next = NULL;
  c->size = size;
  doc->mem += size;
  return c;
}

static uintptr_t align_up(uintptr_t p, size_t align) {
  return (p + (align - 1)) & ~(uintptr_t)(align - 1);
}

void *rp_doc_alloc_slow(rp_doc *doc, size_t n, size_t align) {
  if (n > RP_CHUNK_BIG) {
    rp_chunk *c = chunk_new(doc, n + align);
    c->next = doc->big;
    doc->big = c;
    return (void *)align_up((uintptr_t)c->data, align);
  }
  // Standard chunks are kept in order of first use, so after a reset the
  // arena walks the same chunks again before it asks malloc for more.
  rp_chunk *next = doc->cur ? doc->cur->next : doc->first;
  if (!next) {
    next = chunk_new(doc, RP_CHUNK_SIZE);
    if (doc->cur)
      doc->cur->next = next;
    else
      doc->first = next;
  }
  doc->cur = next;
  uintptr_t p = align_up((uintptr_t)next->data, align);
  doc->ptr = p + n;
  doc->end = (uintptr_t)next->data + next->size;
  return (void *)p;
}

static void free_chunks(rp_chunk *c) {
  while (c) {
    rp_chunk *next = c->next;
    free(c);
    c = next;
  }
}

rp_doc *rp_doc_new(void) {
  return rp_xcalloc(1, sizeof(rp_doc));
}

void rp_doc_free(rp_doc *doc) {
  if (!doc) return;
  free_chunks(doc->first);
  free_chunks(doc->big);
  free(doc->pend);
  free(doc);
}

void rp_doc_reset(rp_doc *doc) {
  for (rp_chunk *c = doc->big; c; c = c->next)
    doc->mem -= c->size;
  free_chunks(doc->big);
  doc->big = NULL;
  rp_chunk *last = doc->first;
  for (int i = 1; last && i < RP_CHUNKS_KEEP; i++)
    last = last->next;
  if (last) {
    for (rp_chunk *c = last->next; c; c = c->next)
      doc->mem -= c->size;
    free_chunks(last->next);
    last->next = NULL;
  }
  doc->cur = doc->first;
  if (doc->first) {
    doc->ptr = (uintptr_t)doc->first->data;
    doc->end = doc->ptr + doc->first->size;
  }
  doc->npend = 0;
  if (doc->cappend > RP_PEND_KEEP) {
    free(doc->pend);
    doc->pend = NULL;
    doc->cappend = 0;
  }
}

size_t rp_doc_memory(const rp_doc *doc) {
  return doc->mem + doc->cappend * sizeof *doc->pend;
}

// ---------------------------------------------------------------------------
// Maps
// ---------------------------------------------------------------------------

// FNV-1a: keys are short field names, for which it is quick and spreads well.
static uint32_t key_hash(const char *k, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)k[i]) * 16777619u;
  return h;
}

static inline bool key_eq(const rp_entry *e, const char *k, size_t n) {
  return e->keylen == n && (n == 0 || (e->key[0] == k[0] && memcmp(e->key, k, n) == 0));
}

static rp_entry *map_find(const rp_node *m, const char *key, size_t n) {
  if (m->mask) {
    uint32_t h = key_hash(key, n);
    for (uint32_t pos = h & m->mask, s; (s = m->u.idx[pos]); pos = (pos + 1) & m->mask) {
      rp_entry *e = &m->a.entries[s - 1];
      if (e->hash == h && key_eq(e, key, n)) return e;
    }
    return NULL;
  }
  for (uint32_t i = 0; i < m->len; i++)
    if (key_eq(&m->a.entries[i], key, n)) return &m->a.entries[i];
  return NULL;
}

// Index slots for n entries: a power of two at least twice n keeps probe
// sequences short.
static uint32_t index_slots(uint32_t n) {
  uint32_t s = 16;
  while (s < 2 * n)
    s *= 2;
  return s;
}

// (Re)builds the index of map m over all its entries with `slots` slots.
// Returns the first entry whose key an earlier entry already has, leaving m
// without an index, or NULL.
static const rp_entry *map_index(rp_doc *doc, rp_node *m, uint32_t slots) {
  uint32_t *idx = rp_doc_alloc(doc, slots * sizeof *idx, alignof(uint32_t));
  memset(idx, 0, slots * sizeof *idx);
  uint32_t mask = slots - 1;
  for (uint32_t i = 0; i < m->len; i++) {
    rp_entry *e = &m->a.entries[i];
    e->hash = key_hash(e->key, e->keylen);
    uint32_t pos = e->hash & mask;
    for (uint32_t s; (s = idx[pos]); pos = (pos + 1) & mask) {
      const rp_entry *o = &m->a.entries[s - 1];
      if (o->hash == e->hash && key_eq(o, e->key, e->keylen)) {
        m->mask = 0;
        m->u.idx = NULL;
        return e;
      }
    }
    idx[pos] = i + 1;
  }
  m->u.idx = idx;
  m->mask = mask;
  return NULL;
}

// Finds a repeated key of a freshly closed map and indexes large maps.
static const rp_entry *map_finish(rp_doc *doc, rp_node *m) {
  if (m->len > RP_MAP_LINEAR_MAX) return map_index(doc, m, index_slots(m->len));
  for (uint32_t j = 1; j < m->len; j++)
    for (uint32_t i = 0; i < j; i++)
      if (key_eq(&m->a.entries[i], m->a.entries[j].key, m->a.entries[j].keylen))
        return &m->a.entries[j];
  return NULL;
}

bool rp_data_key_printable(const char *key, size_t len) {
  // No spaces: a misindented line of free text ("Client disclosed ...:
  // ...") becomes a key, and its words are the client's.
  if (len == 0 || len > 40) return false;
  char first = key[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_'))
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The tree builder
// ---------------------------------------------------------------------------

void rp_build_pend_grow(rp_doc *doc) {
  doc->cappend = doc->cappend ? doc->cappend * 2 : 256;
  doc->pend = rp_xrealloc(doc->pend, doc->cappend * sizeof *doc->pend);
}

void rp_build_init(rp_build *b, rp_doc *doc) {
  b->doc = doc;
  b->depth = 0;
  b->root = NULL;
  doc->npend = 0;
}

bool rp_build_open(rp_build *b, rp_node *n) {
  if (b->depth == RP_DATA_MAX_DEPTH) return false;
  rp_build_value(b, n);
  rp_build_frame *f = &b->stack[b->depth++];
  f->node = n;
  f->first = b->doc->npend;
  f->want_key = true;
  return true;
}

const rp_entry *rp_build_close(rp_build *b) {
  rp_doc *doc = b->doc;
  rp_build_frame *f = &b->stack[--b->depth];
  rp_node *n = f->node;
  size_t count = doc->npend - f->first;
  // pend is NULL until a first entry is pending (an empty first container).
  const rp_entry *from = count ? doc->pend + f->first : NULL;
  const rp_entry *dup = NULL;
  n->len = n->cap = (uint32_t)count;
  if (n->kind == RP_KIND_LIST) {
    if (count) {
      rp_node **items = rp_doc_alloc(doc, count * sizeof *items, alignof(rp_node *));
      for (size_t i = 0; i < count; i++)
        items[i] = from[i].val;
      n->a.items = items;
    }
  } else if (count) {
    n->a.entries = rp_doc_alloc(doc, count * sizeof *from, alignof(rp_entry));
    memcpy(n->a.entries, from, count * sizeof *from);
    dup = map_finish(doc, n);
  }
  doc->npend = f->first;
  return dup;
}

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

// Sizes are 32-bit inside a node; the loaders cannot produce more, and a
// builder asked for more has a bug no caller could handle.
static uint32_t checked_u32(size_t n) {
  if (n > UINT32_MAX) {
    fprintf(stderr, "rapport: a value of %zu bytes or elements is too large\n", n);
    abort();
  }
  return (uint32_t)n;
}

static rp_node *node_of(rp_value v, rp_kind kind) {
  rp_node *n = (rp_node *)v.p;
  return n && n->kind == kind ? n : NULL;
}

rp_value rp_doc_null(rp_doc *doc) {
  return rp_node_value(rp_doc_node(doc, RP_KIND_NULL, 0, 0));
}

rp_value rp_doc_bool(rp_doc *doc, bool b) {
  rp_node *n = rp_doc_node(doc, RP_KIND_BOOL, 0, 0);
  n->b = b;
  return rp_node_value(n);
}

rp_value rp_doc_number(rp_doc *doc, double x) {
  return rp_node_value(rp_doc_number_node_d(doc, x, 0, 0));
}

int rp_doc_number_parse(rp_doc *doc, const char *text, size_t len, rp_value *out) {
  if (!rp_number_is_json(text, len)) return RP_EDATA;
  rp_node *n = rp_doc_number_node(doc, text, len, 0, 0);
  if (!n) return RP_EDATA;
  *out = rp_node_value(n);
  return RP_OK;
}

rp_value rp_doc_number_text(rp_doc *doc, const char *jsontext, size_t len) {
  rp_value v = {NULL, 0};
  if (rp_doc_number_parse(doc, jsontext, len, &v) != RP_OK) return rp_doc_null(doc);
  return v;
}

rp_value rp_doc_string(rp_doc *doc, const char *s, size_t len) {
  rp_node *n = rp_doc_node(doc, RP_KIND_STRING, 0, 0);
  n->len = checked_u32(len);
  n->a.s = rp_doc_strdup(doc, s, len);
  return rp_node_value(n);
}

rp_value rp_doc_list(rp_doc *doc) {
  return rp_node_value(rp_doc_node(doc, RP_KIND_LIST, 0, 0));
}

rp_value rp_doc_map(rp_doc *doc) {
  return rp_node_value(rp_doc_node(doc, RP_KIND_MAP, 0, 0));
}

// Containers grow by doubling inside the arena; the old array stays behind
// until reset, which costs at most as much again as the final array.
static uint32_t grown(uint32_t cap) {
  return checked_u32(cap ? (size_t)cap * 2 : 4);
}

void rp_doc_list_push(rp_doc *doc, rp_value list, rp_value v) {
  rp_node *l = node_of(list, RP_KIND_LIST);
  if (!l) return;
  if (l->len == l->cap) {
    uint32_t cap = grown(l->cap);
    rp_node **items = rp_doc_alloc(doc, cap * sizeof *items, alignof(rp_node *));
    if (l->len) memcpy(items, l->a.items, l->len * sizeof *items);
    l->a.items = items;
    l->cap = cap;
  }
  l->a.items[l->len++] = (rp_node *)v.p;
}

int rp_doc_map_set(rp_doc *doc, rp_value map, const char *key, size_t len, rp_value v) {
  rp_node *m = node_of(map, RP_KIND_MAP);
  if (!m) return RP_EUSAGE;
  if (map_find(m, key, len)) return RP_EDATA;
  if (m->len == m->cap) {
    uint32_t cap = grown(m->cap);
    rp_entry *entries = rp_doc_alloc(doc, cap * sizeof *entries, alignof(rp_entry));
    if (m->len) memcpy(entries, m->a.entries, m->len * sizeof *entries);
    m->a.entries = entries;
    m->cap = cap;
  }
  rp_entry *e = &m->a.entries[m->len++];
  e->key = rp_doc_strdup(doc, key, len);
  e->keylen = checked_u32(len);
  e->hash = 0;
  e->val = (rp_node *)v.p;
  e->line = e->col = 0;
  if (m->len <= RP_MAP_LINEAR_MAX) return RP_OK;
  if (!m->mask || 2 * (size_t)m->len > (size_t)m->mask + 1) {
    map_index(doc, m, index_slots(m->len));  // no repeated keys: checked above
  } else {
    e->hash = key_hash(e->key, e->keylen);
    uint32_t pos = e->hash & m->mask;
    while (m->u.idx[pos])
      pos = (pos + 1) & m->mask;
    m->u.idx[pos] = m->len;
  }
  return RP_OK;
}

int rp_doc_map_put(rp_doc *doc, rp_value map, const char *key, size_t len, rp_value v) {
  rp_node *m = node_of(map, RP_KIND_MAP);
  if (!m) return RP_EUSAGE;
  rp_entry *e = map_find(m, key, len);
  if (!e) return rp_doc_map_set(doc, map, key, len, v);
  e->val = (rp_node *)v.p;
  e->line = e->col = 0;
  return RP_OK;
}

rp_value rp_doc_lambda(rp_doc *doc, rp_doc_lambda_fn fn, void *fn_ud) {
  rp_node *n = rp_doc_node(doc, RP_KIND_LAMBDA, 0, 0);
  n->a.fn = fn;
  n->u.ud = fn_ud;
  return rp_node_value(n);
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

bool rp_doc_map_at(rp_doc *doc, rp_value map, size_t i, const char **key, size_t *keylen,
                   rp_value *val) {
  (void)doc;  // values know their node; doc is for symmetry and checks
  const rp_node *m = node_of(map, RP_KIND_MAP);
  if (!m || i >= m->len) return false;
  const rp_entry *e = &m->a.entries[i];
  if (key) *key = e->key;
  if (keylen) *keylen = e->keylen;
  if (val) *val = rp_node_value(e->val);
  return true;
}

void rp_doc_pos(rp_doc *doc, rp_value v, int *line, int *col) {
  (void)doc;
  const rp_node *n = v.p;
  if (line) *line = n ? (int)n->line : 0;
  if (col) *col = n ? (int)n->col : 0;
}

void rp_doc_key_pos(rp_doc *doc, rp_value map, size_t i, int *line, int *col) {
  (void)doc;
  const rp_node *m = node_of(map, RP_KIND_MAP);
  bool ok = m && i < m->len;
  if (line) *line = ok ? (int)m->a.entries[i].line : 0;
  if (col) *col = ok ? (int)m->a.entries[i].col : 0;
}

static rp_kind op_kind(void *ud, rp_value v) {
  (void)ud;  // the tree needs no context beyond the value
  const rp_node *n = v.p;
  return n ? (rp_kind)n->kind : RP_KIND_NULL;
}

static bool op_get(void *ud, rp_value map, const char *key, size_t keylen, rp_value *out) {
  (void)ud;
  const rp_node *m = node_of(map, RP_KIND_MAP);
  if (!m) return false;
  const rp_entry *e = map_find(m, key, keylen);
  if (!e) return false;
  *out = rp_node_value(e->val);
  return true;
}

static size_t op_len(void *ud, rp_value v) {
  (void)ud;
  const rp_node *n = v.p;
  return n && (n->kind == RP_KIND_LIST || n->kind == RP_KIND_MAP) ? n->len : 0;
}

static rp_value op_at(void *ud, rp_value list, size_t i) {
  (void)ud;
  const rp_node *l = node_of(list, RP_KIND_LIST);
  rp_value v = {NULL, 0};
  if (l && i < l->len) v.p = l->a.items[i];
  return v;
}

static const char *op_str(void *ud, rp_value v, size_t *len) {
  (void)ud;
  const rp_node *n = v.p;
  if (n && (n->kind == RP_KIND_STRING || n->kind == RP_KIND_NUMBER)) {
    *len = n->len;
    return n->a.s;
  }
  *len = 0;
  return NULL;
}

static double op_number(void *ud, rp_value v) {
  (void)ud;
  const rp_node *n = node_of(v, RP_KIND_NUMBER);
  return n ? n->u.num : 0.0;
}

static bool op_boolean(void *ud, rp_value v) {
  (void)ud;
  const rp_node *n = node_of(v, RP_KIND_BOOL);
  return n ? n->b : false;
}

static int op_call(void *ud, rp_value fn, const char *text, size_t textlen, rp_buf *out,
                   char **errmsg) {
  (void)ud;
  const rp_node *n = node_of(fn, RP_KIND_LAMBDA);
  if (!n) {
    if (errmsg) *errmsg = rp_xstrndup("value is not a lambda", 21);
    return RP_ELAMBDA;
  }
  return n->a.fn(n->u.ud, text, textlen, out, errmsg);
}

const rp_ctx_ops rp_doc_ops = {
    .kind = op_kind,
    .get = op_get,
    .len = op_len,
    .at = op_at,
    .str = op_str,
    .number = op_number,
    .boolean = op_boolean,
    .call = op_call,
    .mark = NULL,
    .release = NULL,
};

rp_ctx rp_doc_ctx(rp_doc *doc, rp_value root) {
  rp_ctx c = {&rp_doc_ops, doc, root};
  return c;
}

// ---------------------------------------------------------------------------
// Source text helpers shared by the loaders
// ---------------------------------------------------------------------------

static size_t line_end_from(const rp_poscur *c, size_t from) {
  const char *nl = from < c->len ? memchr(c->src + from, '\n', c->len - from) : NULL;
  return nl ? (size_t)(nl - c->src) : c->len;
}

void rp_poscur_init(rp_poscur *c, const char *src, size_t len, uint32_t line, size_t line_start) {
  c->src = src;
  c->len = len;
  c->line_start = c->base_start = line_start;
  c->line = c->base_line = line;
  c->line_end = line_end_from(c, line_start);
}

void rp_poscur_move(rp_poscur *c, size_t off, uint32_t *line, uint32_t *col) {
  if (off > c->len) off = c->len;
  if (off < c->base_start) off = c->base_start;
  if (off < c->line_start) {
    c->line_start = c->base_start;
    c->line = c->base_line;
    c->line_end = line_end_from(c, c->line_start);
  }
  // The newline itself belongs to the line it ends.
  while (off > c->line_end) {
    c->line++;
    c->line_start = c->line_end + 1;
    c->line_end = line_end_from(c, c->line_start);
  }
  *line = c->line;
  *col = (uint32_t)(off - c->line_start + 1);
}

size_t rp_utf8_check(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    // Session text is mostly ASCII: skip it 32, then 8 bytes at a time.
    const uint64_t high = 0x8080808080808080ull;
    while (len - i >= 32) {
      uint64_t w[4];
      memcpy(w, p + i, sizeof w);
      if ((w[0] | w[1] | w[2] | w[3]) & high) break;
      i += 32;
    }
    if (i == len) break;  // the skip ended exactly at the end
    if (len - i >= 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (!(w & high)) {
        i += 8;
        continue;
      }
    }
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // The second byte's range excludes overlong forms (E0, F0), UTF-16
    // surrogates (ED) and code points past U+10FFFF (F4).
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (len - i <= need || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k <= need; k++)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += need + 1;
  }
  return len;
}

bool rp_doc_is_plain(rp_doc *doc, rp_value v) {
  (void)doc;
  const rp_node *n = v.p;
  return n && n->kind == RP_KIND_STRING && n->plain;
}
