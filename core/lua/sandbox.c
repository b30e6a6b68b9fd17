// The sandbox: the environment plugin code runs in, built from an allow-list
// of safe functions on stock Lua 5.4.4 (never a patched Lua, never a list of
// banned names), and the bookkeeping that keeps every call bounded.
//
// rp_sandbox_init hardens a state once; rp_sandbox_push_env builds a fresh
// environment table for each chunk from master tables that plugin code never
// sees. What an environment holds, and why:
//
// - Base functions that cannot reach outside the environment, plus our own
//   print/warn (to the host's capped sink), tostring (no heap addresses:
//   tables print as "table"), setmetatable (refuses __gc: finalizers run
//   outside every budget), pcall/xpcall (cannot swallow an exhausted budget),
//   load (text only, a safe chunk name, the caller's environment by default),
//   require (the `rapport` table, else the host's resolver) and
//   collectgarbage("count").
// - Fresh copies of string, table, math, utf8, coroutine and os.time/date/
//   clock per environment, so one plugin's `string.rep = evil` stays its own.
//   The string metatable, which every string of the state shares, gets a
//   hidden __index table and __metatable = false.
// - math.random and math.randomseed are left out: the generator is seeded
//   from the state's address and the clock, so it would leak a heap address
//   and make a note render differently each time.
// - `__close` is allowed: to-be-closed variables run inside the call, under
//   its budget; coroutine.close (which crashes 5.4.4 on nested coroutines) is
//   not offered, and coroutine.wrap does not reset a dead coroutine, so no
//   closing path runs outside a protected, budgeted call.
//
// Budgets. The count hook sees VM instructions only, so work done inside one
// instruction or one C function is charged separately: allocation costs one
// instruction per 32 bytes (host_alloc); the pattern matcher (pattern.c)
// counts its steps; the table functions, load, string.rep and the functions
// that scan a whole string charge per element or byte. Some single
// instructions do work that nothing can charge (comparing two 8 MiB strings,
// passing 200000 arguments), so each top-level call also has a wall-clock
// limit, checked whenever the budget is charged. Once any of these runs out,
// the call is exhausted for good: every later hook, pcall, resume or charge
// raises the same error again.
#include <lauxlib.h>
#include <lualib.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua/internal.h"

enum {
  PRINT_CAP = 64 * 1024,   // bytes a state may print, over its whole life
  TIME_LIMIT_MS = 4000,    // wall-clock limit of one top-level call
  CORO_HOOK_EVERY = 100,   // coroutines run in slices; count them finely
  CORO_RESUME_COST = 100,  // a resume is charged at least one slice
  ELEMENT_COST = 4,        // a table element moved by a C loop
  TICK_BATCH = 256,        // elements between two charges
};

typedef enum exhaust_kind { EX_NONE, EX_BUDGET, EX_MEMORY, EX_TIME } exhaust_kind;

// Per-state bookkeeping: a userdata anchored in the registry, reached from
// any thread through the extra space (see internal.h).
typedef struct rp_sandbox {
  rp_lua *h;
  exhaust_kind kind;                   // why the current call is exhausted
  char msg[LUA_IDSIZE + 24 + 80 + 2];  // "file:line: instruction budget exceeded (...)"
  size_t printed;                      // bytes print/warn have sent to the sink
  bool truncated;                      // the "output truncated" notice was sent
  int64_t deadline_ns;                 // of the current top-level call; 0 outside calls
  long time_limit_ms;
} rp_sandbox;

static const char master_key = 0;   // registry: the master copies of the libraries
static const char sandbox_key = 0;  // registry: the rp_sandbox userdata

static rp_sandbox *sbx(lua_State *L) {
  return *(rp_sandbox **)lua_getextraspace(L);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// --- positions and exhaustion ------------------------------------------------------

// Writes "source:line" of the innermost Lua function on L's stack into buf
// ("" when there is none). Safe inside the allocator: getinfo with "Sl"
// only reads the call stack.
static void where(lua_State *L, char *buf, size_t n) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline > 0) {
      snprintf(buf, n, "%s:%d", ar.short_src, ar.currentline);
      return;
    }
  }
  buf[0] = '\0';
}

static void set_message(rp_sandbox *sb, lua_State *L, exhaust_kind kind) {
  rp_lua *h = sb->h;
  char at[LUA_IDSIZE + 24];
  where(L, at, sizeof at);
  char what[80];
  switch (kind) {
    case EX_MEMORY:
      if (h->limit % (1u << 20) == 0)
        snprintf(what, sizeof what, "memory limit exceeded (%zu MiB)", h->limit >> 20);
      else
        snprintf(what, sizeof what, "memory limit exceeded (%zu KiB)", h->limit >> 10);
      break;
    case EX_TIME:
      snprintf(what, sizeof what, "time limit exceeded (%ld ms)", sb->time_limit_ms);
      break;
    default:
      snprintf(what, sizeof what, "instruction budget exceeded (%ld instructions)", h->budget);
      break;
  }
  sb->kind = kind;
  snprintf(sb->msg, sizeof sb->msg, "%s%s%s", at, at[0] ? ": " : "", what);
}

// Raises the current call's exhaustion error again.
_Noreturn static void raise_exhausted(lua_State *L, rp_sandbox *sb) {
  // The allocator marks memory exhaustion without a message when it cannot
  // see a running call; name it now.
  if (sb->kind == EX_NONE) set_message(sb, L, EX_MEMORY);
  lua_pushstring(L, sb->msg);
  lua_error(L);
  abort();  // not reached: lua_error does not return
}

_Noreturn static void exhaust(lua_State *L, rp_sandbox *sb, exhaust_kind kind) {
  if (!sb->h->exhausted || sb->kind == EX_NONE) set_message(sb, L, kind);
  sb->h->exhausted = true;
  raise_exhausted(L, sb);
}

void rp_sandbox_charge(lua_State *L, lua_Integer n) {
  rp_sandbox *sb = sbx(L);
  rp_lua *h = sb->h;
  if (h->exhausted) raise_exhausted(L, sb);
  if (n >= h->remaining) {
    h->remaining = 0;
    exhaust(L, sb, EX_BUDGET);
  }
  h->remaining -= (long)n;
  if (sb->deadline_ns && now_ns() > sb->deadline_ns) exhaust(L, sb, EX_TIME);
}

void rp_sandbox_note_oom(rp_lua *h) {
  h->exhausted = true;
  // Only inside a call does the position of the allocation mean anything
  // (and is the state past rp_sandbox_init).
  if (!h->L || h->depth == 0) return;
  rp_sandbox *sb = sbx(h->L);
  if (sb->kind == EX_NONE) set_message(sb, h->L, EX_MEMORY);
}

void rp_sandbox_call_begin(rp_lua *h) {
  rp_sandbox *sb = sbx(h->L);
  sb->kind = EX_NONE;
  sb->msg[0] = '\0';
  sb->deadline_ns = now_ns() + (int64_t)sb->time_limit_ms * 1000000;
}

void rp_sandbox_call_end(rp_lua *h) {
  sbx(h->L)->deadline_ns = 0;
}

void rp_sandbox_set_time_limit(rp_lua *h, long ms) {
  sbx(h->L)->time_limit_ms = ms > 0 ? ms : TIME_LIMIT_MS;
}

char *rp_sandbox_failure(rp_lua *h, const char *luamsg, bool *memory) {
  *memory = false;
  if (!h->exhausted) return NULL;
  rp_sandbox *sb = sbx(h->L);
  if (sb->kind == EX_NONE) {
    // Refused while no Lua code ran (e.g. the host's own pushes).
    sb->kind = EX_MEMORY;
    set_message(sb, h->L, EX_MEMORY);
  }
  *memory = sb->kind == EX_MEMORY;
  rp_buf b = RP_BUF_INIT;
  if (luamsg && strncmp(luamsg, sb->msg, strlen(sb->msg)) == 0) {
    rp_buf_adds(&b, luamsg);
  } else {
    // A memory error carries Lua's fixed "not enough memory" or, when the
    // message handler itself ran out, no traceback: keep what there is.
    rp_buf_adds(&b, sb->msg);
    const char *tb = luamsg ? strstr(luamsg, "\nstack traceback:") : NULL;
    if (tb) rp_buf_adds(&b, tb);
  }
  return rp_buf_detach(&b);
}

// --- output --------------------------------------------------------------------

// Sends one line to the host's sink, within the state's cap.
static void emit(lua_State *L, const char *text, size_t len) {
  rp_sandbox *sb = sbx(L);
  rp_lua *h = sb->h;
  if (!h->print || sb->truncated) return;
  char at[LUA_IDSIZE + 24];
  where(L, at, sizeof at);
  if (len + 1 > PRINT_CAP - sb->printed) {
    sb->truncated = true;
    static const char notice[] = "output truncated (a plugin may print 64 KiB in all)";
    h->print(h->print_ud, at[0] ? at : "?", notice, sizeof notice - 1);
    return;
  }
  sb->printed += len + 1;
  h->print(h->print_ud, at[0] ? at : "?", text, len);
}

// Pushes the string form of the value at idx, as the sandbox's tostring
// gives it: __tostring when there is one, nil/booleans/numbers/strings as
// Lua prints them, and anything else as its type name, without the address
// Lua would add.
static const char *to_string(lua_State *L, int idx, size_t *len) {
  idx = lua_absindex(L, idx);
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (!lua_isstring(L, -1)) luaL_error(L, "'__tostring' must return a string");
  } else {
    switch (lua_type(L, idx)) {
      case LUA_TNIL:
      case LUA_TBOOLEAN:
      case LUA_TNUMBER:
      case LUA_TSTRING:
        luaL_tolstring(L, idx, NULL);
        break;
      default:
        lua_pushstring(L, luaL_typename(L, idx));
        break;
    }
  }
  return lua_tolstring(L, -1, len);
}

static int sb_tostring(lua_State *L) {
  luaL_checkany(L, 1);
  to_string(L, 1, NULL);
  return 1;
}

static int sb_print(lua_State *L) {
  rp_sandbox *sb = sbx(L);
  if (!sb->h->print || sb->truncated) return 0;
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    to_string(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char *s = lua_tolstring(L, -1, &len);
  emit(L, s, len);
  return 0;
}

static int sb_warn(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checkstring(L, 1);
  for (int i = 2; i <= n; i++)
    luaL_checkstring(L, i);
  // "@on", "@off" and other control messages: the host decides.
  if (n == 1 && lua_tostring(L, 1)[0] == '@') return 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "warning: ");
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, i);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char *s = lua_tolstring(L, -1, &len);
  emit(L, s, len);
  return 0;
}

// --- base functions ------------------------------------------------------------------

static int sb_setmetatable(lua_State *L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  if (t == LUA_TTABLE) {
    // Raw, as Lua itself decides whether an object has a finalizer. A
    // __gc added after this call never makes the object finalizable.
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL)
      return luaL_argerror(L, 2, "__gc metamethods are not allowed in plugins");
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// pcall and xpcall, except that an exhausted budget goes through them.
static int pcall_done(lua_State *L, int status, lua_KContext extra) {
  rp_sandbox *sb = sbx(L);
  if (sb->h->exhausted) raise_exhausted(L, sb);
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);  // [true, f, args...]
  lua_insert(L, 1);
  int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, pcall_done);
  return pcall_done(L, status, 0);
}

// xpcall's message handler, around the plugin's (upvalue 1). An error the
// count hook raised is passed through untouched: Lua calls the handler
// before it unwinds the hook, with hooks still off, so a plugin handler
// would run unbudgeted (xpcall(loop, loop) would never end).
static int xpcall_handler(lua_State *L) {
  if (sbx(L)->h->exhausted) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int sb_xpcall(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_replace(L, 2);
  lua_pushboolean(L, 1);  // [f, handler, args..., true, f]
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);  // [f, handler, true, f, args...]
  int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, pcall_done);
  return pcall_done(L, status, 2);
}

// os.clock(): the work this session's plugin code has done so far, in
// seconds of a notional machine that runs 100 million instructions a second
// (the budget's count). Processor time would depend on what else the
// process did, earlier sessions and other workers included; this depends on
// the session alone, and a test can still time a function with it.
static int sb_clock(lua_State *L) {
  rp_lua *h = sbx(L)->h;
  long spent = h->spent;
  if (h->depth > 0) spent += h->budget - (h->remaining > 0 ? h->remaining : 0);
  lua_pushnumber(L, (lua_Number)spent / 1e8);
  return 1;
}

static int sb_collectgarbage(lua_State *L) {
  const char *opt = luaL_optstring(L, 1, "collect");
  if (strcmp(opt, "count") != 0) return luaL_argerror(L, 1, "only \"count\" is allowed in plugins");
  int kb = lua_gc(L, LUA_GCCOUNT);
  int bytes = lua_gc(L, LUA_GCCOUNTB);
  lua_pushnumber(L, (lua_Number)kb + (lua_Number)bytes / 1024);
  return 1;
}

// --- pairs and next in a fixed order ------------------------------------------------
//
// Lua's own order of a table's keys is where they sit in its hash part,
// which depends on the state's string hash seed (drawn from the clock and
// an address when the state is made) and on the addresses of table and
// function keys: it differs between runs and between a batch's workers,
// and which worker renders a session depends on the others. So the
// sandbox's pairs and next walk a table's keys in an order of the keys
// alone: numbers from the lowest, then strings bytewise, then false and
// true, then tables, functions and coroutines by where they sit in the
// state's region (the same in every state that did the same work).

typedef struct key_rec {
  int rank;  // 0 number, 1 string, 2 boolean, 3 + type: the rest
  bool is_int;
  lua_Integer i;
  lua_Number n;
  const char *s;
  size_t len;
  uintptr_t at;
} key_rec;

typedef struct slot_rec {
  key_rec k;
  lua_Integer slot;
} slot_rec;

static void tick(lua_State *L, unsigned *n);

static void key_read(lua_State *L, int idx, key_rec *k) {
  memset(k, 0, sizeof *k);
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      k->rank = 0;
      k->is_int = lua_isinteger(L, idx);
      if (k->is_int) k->i = lua_tointeger(L, idx);
      k->n = lua_tonumber(L, idx);
      break;
    case LUA_TSTRING:
      k->rank = 1;
      k->s = lua_tolstring(L, idx, &k->len);
      break;
    case LUA_TBOOLEAN:
      k->rank = 2;
      k->i = lua_toboolean(L, idx);
      break;
    default:
      k->rank = 3 + lua_type(L, idx);
      k->at = (uintptr_t)lua_topointer(L, idx) - rp_lua_region_base(sbx(L)->h);
      break;
  }
}

static int key_cmp(const void *pa, const void *pb) {
  const key_rec *a = pa, *b = pb;
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  switch (a->rank) {
    case 0:
      if (a->is_int && b->is_int) return a->i < b->i ? -1 : a->i > b->i;
      if (a->n != b->n) return a->n < b->n ? -1 : 1;
      // An integer and a float equal as doubles: only a float of 2^63 or
      // more, which no integer reaches.
      return a->is_int ? -1 : b->is_int ? 1 : 0;
    case 1: {
      size_t n = a->len < b->len ? a->len : b->len;
      int c = memcmp(a->s, b->s, n);
      if (c) return c < 0 ? -1 : 1;
      return a->len < b->len ? -1 : a->len > b->len;
    }
    case 2:
      return a->i < b->i ? -1 : a->i > b->i;
    default:
      return a->at < b->at ? -1 : a->at > b->at;
  }
}

// The keys of the table at idx, pushed as a sequence in the fixed order.
static void push_sorted_keys(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_Integer n = 0;
  unsigned ticks = 0;
  lua_newtable(L);  // [keys]
  int keys = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {  // [keys, key, value]
    tick(L, &ticks);
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++n);
  }
  if (n < 2) return;
  // Sorting is n log n comparisons in C: charge for them.
  rp_sandbox_charge(L, n * ELEMENT_COST * 2);
  // Each record carries its key's slot in `keys`; the strings it points
  // into stay alive there.
  slot_rec *recs = lua_newuserdatauv(L, (size_t)n * sizeof *recs, 0);  // [keys, recs]
  for (lua_Integer i = 0; i < n; i++) {
    lua_rawgeti(L, keys, i + 1);
    key_read(L, -1, &recs[i].k);
    recs[i].slot = i + 1;
    lua_pop(L, 1);
  }
  qsort(recs, (size_t)n, sizeof *recs, key_cmp);  // the key is the first member
  lua_createtable(L, (int)n, 0);                  // [keys, recs, sorted]
  for (lua_Integer i = 0; i < n; i++) {
    lua_rawgeti(L, keys, recs[i].slot);
    lua_rawseti(L, -2, i + 1);
  }
  lua_replace(L, keys);  // [sorted, recs]
  lua_settop(L, keys);
}

// The iterator pairs returns: upvalues the table, its sorted keys and the
// position reached. A key whose value went nil meanwhile is skipped, as
// Lua's next never returns one.
static int pairs_step(lua_State *L) {
  lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
  lua_Integer n = (lua_Integer)lua_rawlen(L, lua_upvalueindex(2));
  while (pos < n) {
    pos++;
    lua_rawgeti(L, lua_upvalueindex(2), pos);  // [key]
    lua_pushvalue(L, -1);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) {  // [key, value]
      lua_pushinteger(L, pos);
      lua_replace(L, lua_upvalueindex(3));
      return 2;
    }
    lua_pop(L, 2);
  }
  lua_pushinteger(L, pos);
  lua_replace(L, lua_upvalueindex(3));
  return 0;
}

static int sb_pairs(lua_State *L) {
  luaL_checkany(L, 1);
  if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {  // as Lua's pairs
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);
    return 3;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, 1);
  push_sorted_keys(L, 1);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, pairs_step, 3);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// next(t [, k]): the key after k in the fixed order (the first without k),
// and its value. Each call looks at every key: a loop over next is
// quadratic, where pairs is not.
static int sb_next(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  bool from_start = lua_isnil(L, 2);
  key_rec after, best;
  if (!from_start) key_read(L, 2, &after);
  bool found = false;
  unsigned ticks = 0;
  lua_pushnil(L);           // [t, k, best key]
  lua_pushnil(L);           // [t, k, best key, key]
  while (lua_next(L, 1)) {  // [t, k, best key, key, value]
    tick(L, &ticks);
    lua_pop(L, 1);
    key_rec cur;
    key_read(L, -1, &cur);
    if ((from_start || key_cmp(&cur, &after) > 0) && (!found || key_cmp(&cur, &best) < 0)) {
      best = cur;
      found = true;
      lua_pushvalue(L, -1);
      lua_replace(L, 3);
    }
  }
  if (!found) {
    lua_pushnil(L);
    return 1;
  }
  lua_settop(L, 3);
  lua_pushvalue(L, 3);
  lua_rawget(L, 1);
  return 2;
}

// Pushes the name of a chunk that load compiles for the innermost Lua
// function: its own source and line, then " load", so an error in the
// chunk reads "plugins/x.lua:12: load:3: message" and points at the plugin
// line that called load.
static void push_load_name(lua_State *L) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline > 0 && (ar.source[0] == '@' || ar.source[0] == '=')) {
      lua_pushfstring(L, "%s:%d: load", ar.source, ar.currentline);
      return;
    }
  }
  lua_pushliteral(L, "=load");
}

// load(chunk [, chunkname [, mode [, env]]]). Upvalue 1: the environment
// this load belongs to, given to chunks loaded without an env argument.
// The mode is always "t" and the chunk name is always ours ("FILE:LINE:
// load" of the caller), so a chunk can neither be bytecode nor pretend to
// be another plugin's file.
static int sb_load(lua_State *L) {
  int has_env = !lua_isnone(L, 4);
  size_t len = 0;
  const char *src;
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER) {
    src = lua_tolstring(L, 1, &len);
  } else {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    // Gather the reader's pieces ourselves: Lua's parser would call the
    // reader from C, where the count hook never fires.
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
      rp_sandbox_charge(L, 1);
      lua_pushvalue(L, 1);
      if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
        if (sbx(L)->h->exhausted) raise_exhausted(L, sbx(L));
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
      }
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        break;
      }
      if (!lua_isstring(L, -1)) {
        luaL_pushfail(L);
        lua_pushliteral(L, "reader function must return a string");
        return 2;
      }
      size_t n = 0;
      lua_tolstring(L, -1, &n);  // a number counts as its text, as in Lua
      if (n == 0) {
        lua_pop(L, 1);
        break;
      }
      rp_sandbox_charge(L, (lua_Integer)(n / 32));
      luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    src = lua_tolstring(L, -1, &len);
  }
  // Parsing runs without the hook: charge for it up front.
  rp_sandbox_charge(L, (lua_Integer)(1 + len / 8));
  push_load_name(L);
  const char *name = lua_tostring(L, -1);
  int status = luaL_loadbufferx(L, src, len, name, "t");
  lua_remove(L, -2);  // the name
  if (status != LUA_OK) {
    if (sbx(L)->h->exhausted) raise_exhausted(L, sbx(L));
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushvalue(L, has_env ? 4 : lua_upvalueindex(1));
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);  // _ENV is a main chunk's first upvalue
  return 1;
}

// require(name). Upvalue 1: the environment. "rapport" is that
// environment's API table; anything else is the host's to resolve.
static int sb_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strcmp(name, "rapport") == 0) {
    lua_pushliteral(L, "rapport");
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
  }
  rp_sandbox *sb = sbx(L);
  rp_lua *h = sb->h;
  if (h->require) {
    // The resolver pushes the module onto the host's thread: this one.
    int top = lua_gettop(L);
    char *err = NULL;
    lua_State *prev = rp_lua_enter(h, L);
    int rc = h->require(h->require_ud, h, name, &err);
    rp_lua_leave(h, prev);
    if (rc == RP_OK && lua_gettop(L) == top + 1) return 1;
    lua_settop(L, top);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", err ? err : "");
    free(err);
    if (h->exhausted) raise_exhausted(L, sb);
    if (msg[0]) return luaL_error(L, "%s", msg);
  }
  return luaL_error(L, "module '%s' not found", name);
}

// --- wrapped library functions ---------------------------------------------------------

// A library function called through a guard: upvalue 1 is the original,
// upvalue 2 says what to check or charge first. Errors the original raises
// name no position (it was called from C), so the guard adds its caller's.
enum guard_kind { G_CHARGE_STRING, G_FORMAT, G_DATE, G_TIME };

// string.format: %p would print an address, and %s of a table would use
// Lua's own tostring, which prints one. Refuse the one, convert the other.
static void format_prepare(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING) return;
  size_t lf;
  const char *f = lua_tolstring(L, 1, &lf), *end = f + lf;
  int arg = 1, top = lua_gettop(L);
  while (f < end) {
    if (*f++ != '%') continue;
    if (f < end && *f == '%') {
      f++;
      continue;
    }
    arg++;
    while (f < end && *f && strchr("-+ #0123456789.", *f))
      f++;
    if (f >= end) break;
    char conv = *f++;
    if (conv == 'p')
      luaL_error(L, "invalid conversion '%%p' to 'format' (plugins see no addresses)");
    if (conv == 's' && arg <= top) {
      int t = lua_type(L, arg);
      if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        to_string(L, arg, NULL);
        lua_replace(L, arg);
      }
    }
  }
}

static int guarded(lua_State *L) {
  switch (lua_tointeger(L, lua_upvalueindex(2))) {
    case G_CHARGE_STRING: {
      // Functions that scan a whole string without allocating.
      size_t n = lua_type(L, 1) == LUA_TSTRING ? lua_rawlen(L, 1) : 0;
      rp_sandbox_charge(L, (lua_Integer)(1 + n / 16));
      break;
    }
    case G_FORMAT:
      format_prepare(L);
      break;
    case G_DATE: {
      int t = lua_type(L, 1);
      if (t != LUA_TNONE && t != LUA_TNIL && t != LUA_TSTRING) luaL_typeerror(L, 1, "string");
      // Without a time, the date of the host's now (see sb_time).
      if (lua_isnoneornil(L, 2)) {
        if (t == LUA_TNONE || t == LUA_TNIL) {
          lua_settop(L, 0);
          lua_pushliteral(L, "%c");
        }
        lua_settop(L, 1);
        lua_pushinteger(L, (lua_Integer)sbx(L)->h->now);
      }
      break;
    }
    case G_TIME:
      // os.time() is the host's now, read once for a whole run (rp_lua_set_time):
      // the clock's reading when a session starts would tell how long the
      // sessions before it took. os.time{...} converts a date, as in Lua.
      if (lua_isnoneornil(L, 1)) {
        lua_pushinteger(L, (lua_Integer)sbx(L)->h->now);
        return 1;
      }
      break;
  }
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  if (lua_pcall(L, n, LUA_MULTRET, 0) != LUA_OK) {
    rp_sandbox *sb = sbx(L);
    if (sb->h->exhausted) raise_exhausted(L, sb);
    if (lua_type(L, -1) == LUA_TSTRING) {
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return lua_gettop(L);
}

// string.rep, whose stock version loops 2^40 times to build rep("", 2^40).
static int sb_rep(lua_State *L) {
  size_t l, lsep;
  const char *s = luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *sep = luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || (l == 0 && lsep == 0)) {
    lua_pushliteral(L, "");
    return 1;
  }
  if (l + lsep < l || l + lsep > (size_t)INT_MAX / (lua_Unsigned)n)
    return luaL_error(L, "resulting string too large");
  size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
  rp_sandbox *sb = sbx(L);
  if (total >= sb->h->limit || sb->h->used + total > sb->h->limit) exhaust(L, sb, EX_MEMORY);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, total);
  for (lua_Integer i = 0; i < n; i++) {
    memcpy(p, s, l);
    p += l;
    if (lsep > 0 && i + 1 < n) {
      memcpy(p, sep, lsep);
      p += lsep;
    }
  }
  luaL_pushresultsize(&b, total);
  return 1;
}

// --- coroutines ------------------------------------------------------------------------

// Gives co the count hook of the thread that resumes it, once: resetting a
// hook restarts its count, which a coroutine yielding every 999
// instructions would use to run unseen.
static void arm(lua_State *from, lua_State *co) {
  lua_Hook hook = lua_gethook(from);
  if (hook && lua_gethook(co) != hook) lua_sethook(co, hook, LUA_MASKCOUNT, CORO_HOOK_EVERY);
}

static int sb_co_create(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  arm(L, co);
  return 1;
}

// Resumes co with narg values from L's top. Returns the number of results
// moved to L, or -1 with the error on L's top.
static int resume(lua_State *L, lua_State *co, int narg) {
  rp_sandbox_charge(L, CORO_RESUME_COST);
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  arm(L, co);
  lua_xmove(L, co, narg);
  int nres = 0;
  rp_sandbox *sb = sbx(L);
  // A host entry inside co that raised leaves co as the host's thread.
  lua_State *host_thread = sb->h->L;
  int status = lua_resume(co, L, narg, &nres);
  sb->h->L = host_thread;
  if (sb->h->exhausted) raise_exhausted(L, sb);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);
  return -1;
}

static int sb_co_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  int r = resume(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

static int wrap_call(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = resume(L, co, lua_gettop(L));
  if (r >= 0) return r;
  // Unlike stock 5.4.4, the dead coroutine is not reset (its pending
  // to-be-closed variables stay unclosed): resetting is the path of the
  // 5.4.4 coroutine.close crash.
  if (lua_status(co) != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

static int sb_co_wrap(lua_State *L) {
  sb_co_create(L);
  lua_pushcclosure(L, wrap_call, 1);
  return 1;
}

// --- table --------------------------------------------------------------------------
// Our own, with the stock semantics (metamethods included), because the stock
// functions loop in C over ranges a plugin chooses: table.insert on a table
// whose __len says 2^53 would shift forever without a single hook.

static void tick(lua_State *L, unsigned *n) {
  if (++*n >= TICK_BATCH) {
    rp_sandbox_charge(L, (lua_Integer)TICK_BATCH * ELEMENT_COST);
    *n = 0;
  }
}

static lua_Integer table_len(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  return luaL_len(L, 1);
}

static int tb_insert(lua_State *L) {
  lua_Integer e = table_len(L) + 1;  // first empty slot
  lua_Integer pos;
  unsigned ticks = 0;
  switch (lua_gettop(L)) {
    case 2:
      pos = e;
      break;
    case 3:
      pos = luaL_checkinteger(L, 2);
      luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
      for (lua_Integer i = e; i > pos; i--) {
        tick(L, &ticks);
        lua_geti(L, 1, i - 1);
        lua_seti(L, 1, i);
      }
      break;
    default:
      return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

static int tb_remove(lua_State *L) {
  lua_Integer size = table_len(L);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  unsigned ticks = 0;
  if (pos != size)
    luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
  lua_geti(L, 1, pos);
  for (; pos < size; pos++) {
    tick(L, &ticks);
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

static void concat_field(lua_State *L, luaL_Buffer *b, lua_Integer i) {
  lua_geti(L, 1, i);
  if (!lua_isstring(L, -1))
    luaL_error(L, "invalid value (at index %I) in table for 'concat'", (LUAI_UACINT)i);
  luaL_addvalue(b);
}

static int tb_concat(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t lsep;
  const char *sep = luaL_optlstring(L, 2, "", &lsep);
  lua_Integer i = luaL_optinteger(L, 3, 1);
  lua_Integer last = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
  unsigned ticks = 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (; i < last; i++) {
    tick(L, &ticks);
    concat_field(L, &b, i);
    luaL_addlstring(&b, sep, lsep);
  }
  if (i == last) concat_field(L, &b, i);
  luaL_pushresult(&b);
  return 1;
}

static int tb_pack(lua_State *L) {
  int n = lua_gettop(L);
  lua_createtable(L, n, 1);
  lua_insert(L, 1);
  for (int i = n; i >= 1; i--)
    lua_seti(L, 1, i);
  lua_pushinteger(L, n);
  lua_setfield(L, 1, "n");
  return 1;
}

static int tb_unpack(lua_State *L) {
  lua_Integer i = luaL_optinteger(L, 2, 1);
  lua_Integer e = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
  if (i > e) return 0;
  lua_Unsigned n = (lua_Unsigned)e - (lua_Unsigned)i;
  if (n >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(++n)))
    return luaL_error(L, "too many results to unpack");
  rp_sandbox_charge(L, (lua_Integer)n * ELEMENT_COST);
  for (; i < e; i++)
    lua_geti(L, 1, i);
  lua_geti(L, 1, e);
  return (int)n;
}

static int tb_move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;  // destination table
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, tt, LUA_TTABLE);
  if (e >= f) {
    unsigned ticks = 0;
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    lua_Integer n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (lua_Integer i = 0; i < n; i++) {
        tick(L, &ticks);
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    } else {
      for (lua_Integer i = n - 1; i >= 0; i--) {
        tick(L, &ticks);
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

// a < b for the sort: the values at the two top slots (a below b); pops them.
static bool sort_less(lua_State *L, bool has_cmp, unsigned *ticks) {
  tick(L, ticks);
  bool r;
  if (has_cmp) {
    lua_pushvalue(L, 2);  // [a, b, cmp]
    lua_insert(L, -3);    // [cmp, a, b]
    lua_call(L, 2, 1);
    r = lua_toboolean(L, -1);
    lua_pop(L, 1);
  } else {
    r = lua_compare(L, -2, -1, LUA_OPLT);
    lua_pop(L, 2);
  }
  return r;
}

// table.sort: a stable, bottom-up merge sort over two work tables, written
// back when done. Unlike Lua's quicksort it never reads outside the array
// whatever the order function says, its order does not depend on the clock,
// and equal elements keep their order, so notes render the same every time.
// An order function that is not a strict order (a <= b, or always true) is
// caught afterwards, as Lua's sort often catches it.
static int tb_sort(lua_State *L) {
  lua_Integer n = table_len(L);
  if (n < 2) return 0;
  luaL_argcheck(L, n < INT_MAX, 1, "array too big");
  bool has_cmp = !lua_isnoneornil(L, 2);
  if (has_cmp) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  // Every element is read, written and compared about log2(n) times: make
  // sure the budget could cover it before building the work tables.
  rp_sandbox_charge(L, n * ELEMENT_COST);
  unsigned ticks = 0;
  lua_createtable(L, (int)n, 0);  // 3
  lua_createtable(L, (int)n, 0);  // 4
  for (lua_Integer i = 1; i <= n; i++) {
    tick(L, &ticks);
    lua_geti(L, 1, i);
    lua_rawseti(L, 3, i);
  }
  int src = 3, dst = 4;
  for (lua_Integer width = 1; width < n; width *= 2) {
    for (lua_Integer lo = 1; lo <= n; lo += 2 * width) {
      lua_Integer mid = lo + width <= n ? lo + width : n + 1;
      lua_Integer hi = lo + 2 * width <= n ? lo + 2 * width : n + 1;
      lua_Integer i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        // Take from the right run only when it is strictly smaller: stable.
        lua_rawgeti(L, src, j);
        lua_rawgeti(L, src, i);  // [right, left]
        bool right_first = sort_less(L, has_cmp, &ticks);
        lua_rawgeti(L, src, right_first ? j++ : i++);
        lua_rawseti(L, dst, k++);
      }
      for (; i < mid; i++) {
        lua_rawgeti(L, src, i);
        lua_rawseti(L, dst, k++);
      }
      for (; j < hi; j++) {
        lua_rawgeti(L, src, j);
        lua_rawseti(L, dst, k++);
      }
    }
    int swap = src;
    src = dst;
    dst = swap;
  }
  for (lua_Integer i = 1; i < n; i++) {
    lua_rawgeti(L, src, i + 1);
    lua_rawgeti(L, src, i);
    if (sort_less(L, has_cmp, &ticks)) return luaL_error(L, "invalid order function for sorting");
  }
  for (lua_Integer i = 1; i <= n; i++) {
    tick(L, &ticks);
    lua_rawgeti(L, src, i);
    lua_seti(L, 1, i);
  }
  return 0;
}

// --- building the sandbox -----------------------------------------------------------------

typedef struct named_fn {
  const char *name;
  lua_CFunction fn;
} named_fn;

// Copies the listed fields of the table at `from` into the table at `to`.
static void copy_fields(lua_State *L, int from, int to, const char *const *names) {
  from = lua_absindex(L, from);
  to = lua_absindex(L, to);
  for (const char *const *n = names; *n; n++) {
    lua_getfield(L, from, *n);
    lua_setfield(L, to, *n);
  }
}

static void set_functions(lua_State *L, int to, const named_fn *fns) {
  to = lua_absindex(L, to);
  for (const named_fn *f = fns; f->name; f++) {
    lua_pushcfunction(L, f->fn);
    lua_setfield(L, to, f->name);
  }
}

// to[name] = a guard around from[name].
static void set_guarded(lua_State *L, int from, int to, const char *name, enum guard_kind kind) {
  from = lua_absindex(L, from);
  to = lua_absindex(L, to);
  lua_getfield(L, from, name);
  lua_pushinteger(L, kind);
  lua_pushcclosure(L, guarded, 2);
  lua_setfield(L, to, name);
}

// Copies every field of the table at `from` into the table at `to`.
static void copy_all(lua_State *L, int from, int to) {
  from = lua_absindex(L, from);
  to = lua_absindex(L, to);
  lua_pushnil(L);
  while (lua_next(L, from)) {  // [key, value]
    lua_pushvalue(L, -2);
    lua_insert(L, -2);  // [key, key, value]
    lua_rawset(L, to);
  }
}

// The libraries in the order of the list the registry keeps (build_masters):
// the base functions first, then these.
static const char *const lib_names[] = {LUA_STRLIBNAME,
                                        LUA_TABLIBNAME,
                                        LUA_MATHLIBNAME,
                                        LUA_UTF8LIBNAME,
                                        LUA_COLIBNAME,
                                        LUA_OSLIBNAME,
                                        NULL};

// Pushes the fields of the table at `from` as one list, key then value:
// {k1, v1, k2, v2, ...}. Copying from that list reads its array part in
// order, where walking a table with lua_next looks each key up again.
static void push_flat(lua_State *L, int from) {
  from = lua_absindex(L, from);
  int count = 0;
  lua_pushnil(L);
  while (lua_next(L, from)) {
    lua_pop(L, 1);
    count++;
  }
  lua_createtable(L, 2 * count, 0);  // its final size: no growing on the way
  int flat = lua_gettop(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, from)) {  // [flat, key, value]
    lua_pushvalue(L, -2);
    lua_rawseti(L, flat, ++n);  // the key
    lua_rawseti(L, flat, ++n);  // the value
  }
}

// Pushes a new table holding the fields of the flat list at `flat` (made by
// push_flat), sized for them at once.
static void push_copy(lua_State *L, int flat) {
  flat = lua_absindex(L, flat);
  lua_Integer n = (lua_Integer)lua_rawlen(L, flat);
  lua_createtable(L, 0, (int)(n / 2));
  for (lua_Integer i = 1; i < n; i += 2) {
    lua_rawgeti(L, flat, i);
    lua_rawgeti(L, flat, i + 1);  // [copy, key, value]
    lua_rawset(L, -3);
  }
}

static void build_masters(lua_State *L) {
  static const char *const base_names[] = {"assert", "error",  "getmetatable", "ipairs", "rawequal",
                                           "rawget", "rawlen", "rawset",       "select", "type",
                                           NULL};
  static const named_fn base_fns[] = {{"collectgarbage", sb_collectgarbage},
                                      {"next", sb_next},
                                      {"pairs", sb_pairs},
                                      {"pcall", sb_pcall},
                                      {"print", sb_print},
                                      {"setmetatable", sb_setmetatable},
                                      {"tostring", sb_tostring},
                                      {"warn", sb_warn},
                                      {"xpcall", sb_xpcall},
                                      {NULL, NULL}};
  static const char *const string_names[] = {"char", "len",   "lower", "reverse",
                                             "sub",  "upper", NULL};
  static const named_fn string_fns[] = {{"find", rp_pattern_find}, {"gmatch", rp_pattern_gmatch},
                                        {"gsub", rp_pattern_gsub}, {"match", rp_pattern_match},
                                        {"rep", sb_rep},           {NULL, NULL}};
  static const named_fn table_fns[] = {
      {"concat", tb_concat}, {"insert", tb_insert}, {"move", tb_move},     {"pack", tb_pack},
      {"remove", tb_remove}, {"sort", tb_sort},     {"unpack", tb_unpack}, {NULL, NULL}};
  static const char *const utf8_names[] = {"char", "charpattern", "codes", NULL};
  static const char *const co_names[] = {"isyieldable", "running", "status", "yield", NULL};
  static const named_fn co_fns[] = {
      {"create", sb_co_create}, {"resume", sb_co_resume}, {"wrap", sb_co_wrap}, {NULL, NULL}};
  static const named_fn os_fns[] = {{"clock", sb_clock}, {NULL, NULL}};

  lua_newtable(L);  // [masters]
  int masters = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);  // [masters, loaded]
  int loaded = masters + 1;

  lua_newtable(L);  // base
  lua_getfield(L, loaded, LUA_GNAME);
  copy_fields(L, -1, -2, base_names);
  set_guarded(L, -1, -2, "tonumber", G_CHARGE_STRING);
  lua_pop(L, 1);
  set_functions(L, -1, base_fns);
  lua_pushliteral(L, LUA_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_setfield(L, masters, "base");

  lua_newtable(L);  // string
  lua_getfield(L, loaded, LUA_STRLIBNAME);
  copy_fields(L, -1, -2, string_names);
  set_guarded(L, -1, -2, "byte", G_CHARGE_STRING);
  set_guarded(L, -1, -2, "format", G_FORMAT);
  lua_pop(L, 1);
  set_functions(L, -1, string_fns);
  lua_setfield(L, masters, LUA_STRLIBNAME);

  lua_newtable(L);  // table
  set_functions(L, -1, table_fns);
  lua_setfield(L, masters, LUA_TABLIBNAME);

  lua_newtable(L);  // math: all of it but the address-seeded generator
  lua_getfield(L, loaded, LUA_MATHLIBNAME);
  copy_all(L, -1, -2);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, "random");
  lua_pushnil(L);
  lua_setfield(L, -2, "randomseed");
  lua_setfield(L, masters, LUA_MATHLIBNAME);

  lua_newtable(L);  // utf8
  lua_getfield(L, loaded, LUA_UTF8LIBNAME);
  copy_fields(L, -1, -2, utf8_names);
  set_guarded(L, -1, -2, "codepoint", G_CHARGE_STRING);
  set_guarded(L, -1, -2, "len", G_CHARGE_STRING);
  set_guarded(L, -1, -2, "offset", G_CHARGE_STRING);
  lua_pop(L, 1);
  lua_setfield(L, masters, LUA_UTF8LIBNAME);

  lua_newtable(L);  // coroutine
  lua_getfield(L, loaded, LUA_COLIBNAME);
  copy_fields(L, -1, -2, co_names);
  lua_pop(L, 1);
  set_functions(L, -1, co_fns);
  lua_setfield(L, masters, LUA_COLIBNAME);

  lua_newtable(L);  // os
  lua_getfield(L, loaded, LUA_OSLIBNAME);
  set_guarded(L, -1, -2, "date", G_DATE);
  set_guarded(L, -1, -2, "time", G_TIME);
  lua_pop(L, 1);
  set_functions(L, -1, os_fns);
  lua_setfield(L, masters, LUA_OSLIBNAME);

  lua_pop(L, 1);  // [masters]
  // What the registry keeps: the base functions, then each library of
  // lib_names, each flattened for push_copy.
  lua_createtable(L, 7, 0);  // [masters, flats]
  lua_getfield(L, masters, "base");
  push_flat(L, -1);
  lua_rawseti(L, masters + 1, 1);
  lua_pop(L, 1);
  for (int i = 0; lib_names[i]; i++) {
    lua_getfield(L, masters, lib_names[i]);
    push_flat(L, -1);
    lua_rawseti(L, masters + 1, i + 2);
    lua_pop(L, 1);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &master_key);
  lua_pop(L, 1);
}

// Pushes a fresh sandbox environment built from the master tables.
void rp_sandbox_push_env(rp_lua *h) {
  lua_State *L = h->L;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &master_key);  // [flats]
  int flats = lua_gettop(L);
  lua_createtable(L, 0, 40);  // [flats, env]
  int env = flats + 1;
  lua_rawgeti(L, flats, 1);  // [flats, env, flat base]
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  for (lua_Integer i = 1; i < n; i += 2) {
    lua_rawgeti(L, -1, i);
    lua_rawgeti(L, -2, i + 1);  // [flats, env, flat base, key, value]
    lua_rawset(L, env);
  }
  lua_pop(L, 1);
  for (int i = 0; lib_names[i]; i++) {
    lua_rawgeti(L, flats, i + 2);  // [flats, env, flat lib]
    push_copy(L, -1);
    lua_setfield(L, env, lib_names[i]);
    lua_pop(L, 1);
  }
  lua_remove(L, flats);  // [env]
  env = lua_gettop(L);
  lua_pushvalue(L, env);
  lua_pushcclosure(L, sb_load, 1);
  lua_setfield(L, env, "load");
  lua_pushvalue(L, env);
  lua_pushcclosure(L, sb_require, 1);
  lua_setfield(L, env, "require");
  lua_pushvalue(L, env);
  lua_setfield(L, env, LUA_GNAME);
}

void rp_sandbox_init(rp_lua *h) {
  lua_State *L = h->L;
  rp_sandbox *sb = lua_newuserdatauv(L, sizeof *sb, 0);
  memset(sb, 0, sizeof *sb);
  sb->h = h;
  sb->time_limit_ms = TIME_LIMIT_MS;
  lua_rawsetp(L, LUA_REGISTRYINDEX, &sandbox_key);
  // Threads copy the main thread's extra space when they are created.
  *(rp_sandbox **)lua_getextraspace(L) = sb;

  // Opened into the registry's loaded table only, like the libraries
  // rp_lua_new opens: the names let Lua's messages say "os.date".
  luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 0);
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  lua_pop(L, 2);
  build_masters(L);

  // The string metatable is shared by every string of the state. Its
  // __index becomes a table no plugin can reach (getmetatable("") is
  // false, and setmetatable refuses non-tables), holding the sandbox's
  // string functions rather than the stock ones.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);  // ["", mt]
  lua_rawgetp(L, LUA_REGISTRYINDEX, &master_key);
  lua_rawgeti(L, -1, 2);  // ["", mt, flats, flat string]: lib_names[0]
  push_copy(L, -1);
  lua_replace(L, -3);  // ["", mt, index, flat string]
  lua_pop(L, 1);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
}
