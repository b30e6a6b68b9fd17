// Lua values as template data: rp_ctx_ops over a Lua state's stack.
//
// An rp_value here is a stack index (in `n`). get and at push the value they
// find and return its index; the engine brackets each section element with
// mark/release, which restore the stack top, so a render of any length keeps
// the stack as deep as its deepest section, not as long as its data.
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "lua/internal.h"
#include "template/template.h"
#include "util/number.h"

struct rp_lua_ctx {
  rp_lua *host;
  lua_State *L;  // the thread whose stack holds the values: the host's at begin
  int base;      // stack top before the root was pushed
  int root;      // stack index of the root
  char num[RP_NUMBER_BUF];
};

// The sentinel for null: the address of this object, as a light userdata.
static const char null_sentinel = 0;

void rp_lua_push_null(rp_lua *h) {
  lua_pushlightuserdata(h->L, (void *)&null_sentinel);
}

// Maps and lists are both tables in Lua, and an empty table is either. A
// table that stands for a map (a group read from a session, a map the host
// builds, rapport.map()) carries this shared metatable, so that when the
// note is turned back into data an empty one is `{}`, not `[]`. The
// metatable has no metamethods, and its __metatable field protects it: a
// plugin's getmetatable sees only "rapport.map" and cannot change it, so it
// can carry nothing from one session to the next.
static const char map_key = 0;

static void push_map_metatable(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &map_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "rapport.map");
  lua_setfield(L, -2, "__metatable");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &map_key);
}

void rp_lua_mark_map(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 2, "map");
  push_map_metatable(L);
  lua_setmetatable(L, idx);
}

bool rp_lua_is_map(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  luaL_checkstack(L, 2, "map");
  push_map_metatable(L);
  bool is = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return is;
}

static lua_State *S(void *ud) {
  return ((rp_lua_ctx *)ud)->L;
}

static int idx(rp_value v) {
  return (int)v.n;
}

static rp_value top_value(lua_State *L) {
  rp_value v = {NULL, (uintptr_t)lua_gettop(L)};
  return v;
}

static rp_kind lc_kind(void *ud, rp_value v) {
  lua_State *L = S(ud);
  if (idx(v) == 0) return RP_KIND_NULL;  // what lc_at gives when the stack is full
  switch (lua_type(L, idx(v))) {
    case LUA_TBOOLEAN:
      return RP_KIND_BOOL;
    case LUA_TNUMBER:
      return RP_KIND_NUMBER;
    case LUA_TSTRING:
      return RP_KIND_STRING;
    case LUA_TFUNCTION:
      return RP_KIND_LAMBDA;
    case LUA_TTABLE: {
      if (lua_rawlen(L, idx(v)) > 0) return RP_KIND_LIST;
      lua_pushnil(L);
      int has_key = lua_next(L, idx(v));
      if (has_key) lua_pop(L, 2);
      return has_key ? RP_KIND_MAP : RP_KIND_LIST;
    }
    default:
      return RP_KIND_NULL;
  }
}

static bool lc_get(void *ud, rp_value map, const char *key, size_t len, rp_value *out) {
  lua_State *L = S(ud);
  if (idx(map) == 0 || lua_type(L, idx(map)) != LUA_TTABLE || !lua_checkstack(L, 2)) return false;
  lua_pushlstring(L, key, len);
  lua_rawget(L, idx(map));
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  *out = top_value(L);
  return true;
}

static size_t lc_len(void *ud, rp_value v) {
  lua_State *L = S(ud);
  if (idx(v) == 0 || lua_type(L, idx(v)) != LUA_TTABLE) return 0;
  size_t n = lua_rawlen(L, idx(v));
  if (n) return n;
  // A map: count its entries.
  lua_pushnil(L);
  while (lua_next(L, idx(v))) {
    n++;
    lua_pop(L, 1);
  }
  return n;
}

static rp_value lc_at(void *ud, rp_value list, size_t i) {
  lua_State *L = S(ud);
  if (!lua_checkstack(L, 1)) return (rp_value){NULL, 0};
  lua_rawgeti(L, idx(list), (lua_Integer)i + 1);
  return top_value(L);
}

static const char *lc_str(void *ud, rp_value v, size_t *len) {
  lua_State *L = S(ud);
  rp_lua_ctx *c = ud;
  if (idx(v) == 0) return NULL;
  int t = lua_type(L, idx(v));
  if (t == LUA_TSTRING) return lua_tolstring(L, idx(v), len);
  if (t != LUA_TNUMBER) return NULL;
  // lua_tolstring would turn the number on the stack into a string, and
  // Lua prints 1e21 as "1e+21" but 0.1+0.2 with 14 digits: print it as
  // JavaScript does instead, into the context's own buffer.
  if (lua_isinteger(L, idx(v)))
    *len = (size_t)snprintf(c->num, sizeof c->num, "%lld", (long long)lua_tointeger(L, idx(v)));
  else
    *len = rp_number_format(lua_tonumber(L, idx(v)), c->num);
  return c->num;
}

static double lc_number(void *ud, rp_value v) {
  return lua_tonumber(S(ud), idx(v));
}

static bool lc_boolean(void *ud, rp_value v) {
  return lua_toboolean(S(ud), idx(v));
}

static int lc_call(void *ud, rp_value fn, const char *text, size_t len, rp_buf *out,
                   char **errmsg) {
  rp_lua_ctx *c = ud;
  lua_State *L = c->L;
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 3)) return RP_ELIMIT;
  // The lambda runs on the context's thread (rp_lua_pcall uses the host's).
  lua_State *prev = rp_lua_enter(c->host, L);
  lua_pushvalue(L, idx(fn));
  if (text) lua_pushlstring(L, text, len);
  int rc = rp_lua_pcall(c->host, text ? 1 : 0, 1, errmsg);
  rp_lua_leave(c->host, prev);
  if (rc != RP_OK) {
    lua_settop(L, top);
    return rc;
  }
  int t = lua_type(L, -1);
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    rp_value r = top_value(L);
    size_t n = 0;
    const char *s = lc_str(ud, r, &n);
    rp_buf_add(out, s, n);
  } else if (t != LUA_TNIL && !(t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
    *errmsg = strdup("a lambda must return text, a number or nil");
    rc = RP_ELAMBDA;
  }
  lua_settop(L, top);
  return rc;
}

static size_t lc_mark(void *ud) {
  return (size_t)lua_gettop(S(ud));
}

static void lc_release(void *ud, size_t mark) {
  lua_settop(S(ud), (int)mark);
}

static const rp_ctx_ops lua_ctx_ops = {
    lc_kind, lc_get, lc_len, lc_at, lc_str, lc_number, lc_boolean, lc_call, lc_mark, lc_release,
};

rp_lua_ctx *rp_lua_ctx_begin(rp_lua *h) {
  rp_lua_ctx *c = rp_xcalloc(1, sizeof *c);
  c->host = h;
  c->L = h->L;
  c->root = lua_gettop(h->L);
  c->base = c->root - 1;
  return c;
}

rp_ctx rp_lua_ctx_get(rp_lua_ctx *c) {
  rp_ctx ctx = {&lua_ctx_ops, c, {NULL, (uintptr_t)c->root}};
  return ctx;
}

void rp_lua_ctx_end(rp_lua_ctx *c) {
  lua_settop(c->L, c->base);
  free(c);
}

static void push_doc(lua_State *L, rp_doc *doc, rp_value v, int depth, bool nil_for_null) {
  luaL_checkstack(L, 4, "data nested too deeply");
  switch (rp_doc_ops.kind(doc, v)) {
    case RP_KIND_NULL:
      if (nil_for_null)
        lua_pushnil(L);
      else
        lua_pushlightuserdata(L, (void *)&null_sentinel);
      return;
    case RP_KIND_BOOL:
      lua_pushboolean(L, rp_doc_ops.boolean(doc, v));
      return;
    case RP_KIND_NUMBER: {
      // A whole number is a Lua integer (an `integer` field's 50, not
      // 50.0), as far as a double holds whole numbers exactly.
      double x = rp_doc_ops.number(doc, v);
      if (x >= -9007199254740992.0 && x <= 9007199254740992.0 && x == (double)(lua_Integer)x &&
          !(x == 0 && signbit(x)))
        lua_pushinteger(L, (lua_Integer)x);
      else
        lua_pushnumber(L, x);
      return;
    }
    case RP_KIND_STRING: {
      size_t len = 0;
      const char *s = rp_doc_ops.str(doc, v, &len);
      lua_pushlstring(L, s, len);
      return;
    }
    case RP_KIND_LIST: {
      size_t n = rp_doc_ops.len(doc, v);
      lua_createtable(L, (int)(n < 1000000 ? n : 0), 0);
      for (size_t i = 0; i < n; i++) {
        push_doc(L, doc, rp_doc_ops.at(doc, v, i), depth + 1, nil_for_null);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      return;
    }
    case RP_KIND_MAP: {
      lua_newtable(L);
      rp_lua_mark_map(L, -1);
      const char *key;
      size_t keylen;
      rp_value val;
      for (size_t i = 0; rp_doc_map_at(doc, v, i, &key, &keylen, &val); i++) {
        lua_pushlstring(L, key, keylen);
        push_doc(L, doc, val, depth + 1, nil_for_null);
        lua_rawset(L, -3);
      }
      return;
    }
    case RP_KIND_LAMBDA:
      lua_pushnil(L);
      return;
  }
}

typedef struct push_args {
  rp_doc *doc;
  rp_value v;
  bool nil_for_null;
} push_args;

// [args] -> [value]: push_doc inside a protected call (rp_lua_call_checked).
static int push_protected(lua_State *L) {
  const push_args *a = lua_touserdata(L, 1);
  lua_pop(L, 1);
  push_doc(L, a->doc, a->v, 0, a->nil_for_null);
  return 1;
}

// A session's tree can be larger than the state's memory cap allows (the
// file cap is 64 MiB, the state's 16 MiB by default): the copy runs in a
// protected call, so running out is this session's problem, not the end of
// the process. Pushing a light C function and a light userdata allocates
// nothing, and lua_pcall allocates only inside its protection. So does the
// host's own work on a session's tables (completing a note).
int rp_lua_call_checked(rp_lua *h, lua_CFunction fn, void *ud, int nargs, int nresults,
                        const char *path, rp_diags *diags) {
  lua_State *L = h->L;
  bool was_exhausted = h->exhausted;
  if (lua_checkstack(L, 4)) {
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ud);
    lua_rotate(L, -(nargs + 2), 2);  // [fn, ud, args...]
    if (lua_pcall(L, nargs + 1, nresults, 0) == LUA_OK) return RP_OK;
    lua_pop(L, 1);  // the error: a memory error, or the data nested too deeply
  } else {
    lua_pop(L, nargs);
  }
  // The refused allocation marked the state exhausted; no plugin call ran.
  if (h->depth == 0) h->exhausted = was_exhausted;
  size_t mib = h->limit >> 20;
  rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
               "no note: this session is too large for the plugins' memory (%zu MiB; "
               "RAPPORT_LUA_MEMORY_MIB raises it)",
               mib ? mib : 1);
  return RP_ENOMEM;
}

static int push_checked(rp_lua *h, rp_doc *doc, rp_value v, bool nil_for_null, const char *path,
                        rp_diags *diags) {
  push_args a = {doc, v, nil_for_null};
  return rp_lua_call_checked(h, push_protected, &a, 0, 1, path, diags);
}

int rp_lua_push_doc(rp_lua *h, rp_doc *doc, rp_value v, const char *path, rp_diags *diags) {
  return push_checked(h, doc, v, false, path, diags);
}

int rp_lua_push_note(rp_lua *h, rp_doc *doc, rp_value v, const char *path, rp_diags *diags) {
  return push_checked(h, doc, v, true, path, diags);
}

void rp_lua_set_field(rp_lua *h, const char *key) {
  lua_pushstring(h->L, key);
  lua_insert(h->L, -2);
  lua_rawset(h->L, -3);
}

void rp_lua_push_ref(rp_lua *h, rp_lua_ref ref) {
  lua_rawgeti(h->L, LUA_REGISTRYINDEX, ref);
}

void rp_lua_pop(rp_lua *h, int n) {
  lua_pop(h->L, n);
}

// --- Lua values into a data tree ------------------------------------------------------

// A table converted already, so that a table the note holds in two places
// (a checklist's summary is both checklists.ID and note_type.checklists[i])
// is converted once and shared: the tree holds containers by reference.
typedef struct done_table {
  const void *table;
  rp_value value;
  int height;   // levels of tables, itself included
  size_t size;  // values it holds written out in full, itself included
} done_table;

// Values a converted tree may hold once each shared table is counted at
// every place it stands, as JSON writes it: a table holding another twice,
// forty levels deep, is small in memory and endless to write.
enum { TO_DOC_MAX_VALUES = 1 << 24 };

typedef struct to_doc {
  lua_State *L;
  rp_doc *doc;
  const void *path[RP_DATA_MAX_DEPTH + 1];  // tables being converted, for cycles
  int depth;
  done_table *done;  // open addressing on the table's address; NULL slots empty
  size_t ndone, donecap;
  int height;   // of the value conv converted last
  size_t size;  // likewise
  rp_buf err;
} to_doc;

static bool conv(to_doc *c, int idx, rp_value *out);

static size_t done_slot(const to_doc *c, const void *t) {
  uintptr_t h = (uintptr_t)t;
  h ^= h >> 17;
  h *= (uintptr_t)0x9E3779B97F4A7C15ull;
  size_t i = (size_t)(h >> 7) & (c->donecap - 1);
  while (c->done[i].table && c->done[i].table != t)
    i = (i + 1) & (c->donecap - 1);
  return i;
}

static const done_table *done_find(const to_doc *c, const void *t) {
  if (!c->donecap) return NULL;
  size_t i = done_slot(c, t);
  return c->done[i].table ? &c->done[i] : NULL;
}

static void done_add(to_doc *c, const void *t, rp_value v, int height, size_t size) {
  if (2 * (c->ndone + 1) > c->donecap) {
    done_table *old = c->done;
    size_t oldcap = c->donecap;
    c->donecap = oldcap ? 2 * oldcap : 64;
    c->done = rp_xcalloc(c->donecap, sizeof *c->done);
    for (size_t i = 0; i < oldcap; i++)
      if (old[i].table) c->done[done_slot(c, old[i].table)] = old[i];
    free(old);
  }
  size_t i = done_slot(c, t);
  if (!c->done[i].table) c->ndone++;
  c->done[i] = (done_table){t, v, height, size};
}

typedef struct map_entry {
  const char *key;
  size_t len;
  rp_value value;
} map_entry;

static int cmp_entries(const void *a, const void *b) {
  const map_entry *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int d = memcmp(x->key, y->key, n);
  return d ? d : (x->len > y->len) - (x->len < y->len);
}

// Adds the value conv converted last to a table's height and size; false,
// with the reason, when the tree grows past TO_DOC_MAX_VALUES.
static bool grown(to_doc *c, int *height, size_t *size) {
  if (c->height > *height) *height = c->height;
  *size += c->size;
  if (*size <= TO_DOC_MAX_VALUES) return true;
  rp_buf_printf(&c->err, "more than %d values once its shared tables are written out",
                TO_DOC_MAX_VALUES);
  return false;
}

static bool conv_table(to_doc *c, int idx, rp_value *out) {
  lua_State *L = c->L;
  const void *self = lua_topointer(L, idx);
  for (int i = 0; i < c->depth; i++) {
    if (c->path[i] == self) {
      rp_buf_adds(&c->err, "a table contains itself");
      return false;
    }
  }
  // A table met again is shared, within the same limits as a copy: its
  // deepest table here must be within RP_DATA_MAX_DEPTH levels.
  const done_table *seen = done_find(c, self);
  if (seen && c->depth + seen->height <= RP_DATA_MAX_DEPTH) {
    *out = seen->value;
    c->height = seen->height;
    c->size = seen->size;
    return true;
  }
  if (c->depth >= RP_DATA_MAX_DEPTH || seen) {
    rp_buf_printf(&c->err, "tables nested deeper than %d levels", RP_DATA_MAX_DEPTH);
    return false;
  }
  c->path[c->depth++] = self;
  if (!lua_checkstack(L, 4)) {
    rp_buf_adds(&c->err, "tables nested too deeply");
    return false;
  }
  size_t n = lua_rawlen(L, idx);
  bool ok = true;
  int height = 0;   // of the tallest value inside
  size_t size = 1;  // this table and what it holds, written out in full
  // A sequence 1..n and nothing else is a list; string keys make a map.
  size_t count = 0;
  bool strings = true;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    count++;
    if (lua_type(L, -2) != LUA_TSTRING) strings = false;
    lua_pop(L, 1);
  }
  if (count == 0 && rp_lua_is_map(L, idx)) {
    *out = rp_doc_map(c->doc);
  } else if (count == n) {
    *out = rp_doc_list(c->doc);
    for (size_t i = 1; i <= n && ok; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i);
      rp_value v;
      ok = conv(c, lua_gettop(L), &v) && grown(c, &height, &size);
      if (ok) rp_doc_list_push(c->doc, *out, v);
      lua_pop(L, 1);
    }
  } else if (strings) {
    // Each value converted as the table is walked, then the entries put in
    // key order: Lua's own order changes from run to run, and a note must
    // come out the same every time.
    map_entry *entries = rp_xcalloc(count, sizeof *entries);
    size_t nentries = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {  // [key, value]
      map_entry *e = &entries[nentries++];
      e->key = lua_tolstring(L, -2, &e->len);  // kept alive by the table
      ok = conv(c, lua_gettop(L), &e->value) && grown(c, &height, &size);
      lua_pop(L, 1);
      if (!ok) {
        lua_pop(L, 1);  // the key: the walk stops here
        break;
      }
    }
    qsort(entries, nentries, sizeof *entries, cmp_entries);
    *out = rp_doc_map(c->doc);
    for (size_t i = 0; i < nentries && ok; i++)
      rp_doc_map_set(c->doc, *out, entries[i].key, entries[i].len, entries[i].value);
    free(entries);
  } else {
    rp_buf_adds(&c->err, "a table mixes list items and other keys, or has keys that are not text");
    ok = false;
  }
  c->depth--;
  if (ok) {
    c->height = height + 1;
    c->size = size;
    done_add(c, self, *out, c->height, size);
  }
  return ok;
}

static bool conv(to_doc *c, int idx, rp_value *out) {
  lua_State *L = c->L;
  c->height = 0;
  c->size = 1;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      *out = rp_doc_null(c->doc);
      return true;
    case LUA_TBOOLEAN:
      *out = rp_doc_bool(c->doc, lua_toboolean(L, idx));
      return true;
    case LUA_TNUMBER:
      *out = rp_doc_number(c->doc, lua_tonumber(L, idx));
      return true;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      *out = rp_doc_string(c->doc, s, len);
      return true;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == (void *)&null_sentinel) {
        *out = rp_doc_null(c->doc);
        return true;
      }
      break;
    case LUA_TTABLE:
      return conv_table(c, idx, out);
    default:
      break;
  }
  rp_buf_printf(&c->err, "a %s cannot be data", luaL_typename(L, idx));
  return false;
}

int rp_lua_to_doc(rp_lua *h, int idx, rp_doc *doc, rp_value *out, char **err) {
  to_doc c = {h->L, doc, {0}, 0, NULL, 0, 0, 0, 0, RP_BUF_INIT};
  int top = lua_gettop(h->L);
  bool ok = conv(&c, lua_absindex(h->L, idx), out);
  lua_settop(h->L, top);
  free(c.done);
  if (!ok) {
    *err = rp_buf_detach(&c.err);
    *out = rp_doc_null(doc);
    return RP_EDATA;
  }
  rp_buf_free(&c.err);
  return RP_OK;
}
