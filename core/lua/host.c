// The Lua host of host.h: state, sandbox, budgets and the protected door.
#include "lua/host.h"

#include "lua/internal.h"
#include "util/file.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { RP_HOOK_EVERY = 1000 };

// --- the state's memory ----------------------------------------------------------
//
// Every byte of a state lives in one region of address space that the host
// reserves at creation, handed out by a small size-class allocator whose
// bookkeeping (the bump offset and the free lists, threaded through the free
// blocks) lives in the region or in rp_arena. So the whole state, from
// Lua's global and thread structures to every table, closure, upvalue,
// string and coroutine, is the prefix [0, top) of the region plus rp_arena,
// and copying that prefix back restores the state exactly as it was: that
// is how sessions are kept apart (rp_lua_snapshot, rp_lua_restore).
//
// Sizes up to 256 bytes come in steps of 16; above, four classes per power
// of two (at most a quarter wasted). A freed block goes on its class's free
// list, or back to the bump offset when it is the last block. Blocks are
// never split or merged: a state's life between two restores is short, and
// the region is reserved four times as large as the memory cap (untouched
// pages cost nothing).

enum {
  ARENA_SMALL_CLASSES = 16,  // 16, 32, ... 256 bytes
  ARENA_CLASSES = ARENA_SMALL_CLASSES + 4 * 56,
  ARENA_KEEP = 2 << 20,  // bytes above the snapshot a restore leaves mapped
};

struct rp_arena {
  char *base;
  size_t size;  // bytes reserved
  size_t top;   // bytes handed out from the start (the bump offset)
  size_t peak;  // the highest top since the last restore
  size_t hwm;   // the highest top ever (kept across restores)
  void *free[ARENA_CLASSES];
};

// In the sanitizer build, what is not handed out is poisoned, so that a
// read or write past a Lua block or into a freed one is caught as it would
// be with malloc. Blocks never handed out are not: nothing points there.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static void *free_next(void *p) {
  void *next;
  UNPOISON(p, sizeof next);
  memcpy(&next, p, sizeof next);
  return next;
}

// The class of an n-byte block (n > 0) and its size.
static unsigned size_class(size_t n, size_t *csize) {
  if (n <= 256) {
    size_t c = (n + 15) >> 4;
    *csize = c << 4;
    return (unsigned)c - 1;
  }
  unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));  // 2^k < n <= 2^(k+1)
  size_t step = (size_t)1 << (k - 2);
  size_t sub = (n - 1 - ((size_t)1 << k)) / step;  // 0..3
  *csize = ((size_t)1 << k) + (sub + 1) * step;
  return ARENA_SMALL_CLASSES + (k - 8) * 4 + (unsigned)sub;
}

static rp_arena *arena_new(size_t limit) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = (limit + limit / 8) * 4 + ((size_t)8 << 20);
  size = (size + page - 1) / page * page;
  void *base =
      mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return NULL;
  rp_arena *a = rp_xcalloc(1, sizeof *a);
  a->base = base;
  a->size = size;
  return a;
}

static void arena_free_all(rp_arena *a) {
  if (!a) return;
  UNPOISON(a->base, a->hwm > a->peak ? a->hwm : a->peak);
  munmap(a->base, a->size);
  free(a);
}

static void *arena_alloc(rp_arena *a, size_t n) {
  size_t cs;
  unsigned c = size_class(n, &cs);
  if (c >= ARENA_CLASSES) return NULL;
  void *p = a->free[c];
  if (p) {
    a->free[c] = free_next(p);
    UNPOISON(p, n);
    return p;
  }
  if (cs > a->size - a->top) return NULL;
  p = a->base + a->top;
  a->top += cs;
  if (a->top > a->peak) a->peak = a->top;
  UNPOISON(p, n);
  return p;
}

static void arena_release(rp_arena *a, void *p, size_t n) {
  size_t cs;
  unsigned c = size_class(n, &cs);
  if ((char *)p + cs == a->base + a->top) {
    a->top -= cs;
    POISON(p, cs);
    return;
  }
  UNPOISON(p, sizeof(void *));
  memcpy(p, &a->free[c], sizeof(void *));
  a->free[c] = p;
  POISON(p, cs);
}

// Poisons every block on the free lists and everything from top to peak:
// after a copy into the region, which cannot keep the poison of its bytes.
static void arena_poison_free(rp_arena *a) {
  (void)a;
#if defined(__SANITIZE_ADDRESS__)
  if (a->peak > a->top) POISON(a->base + a->top, a->peak - a->top);
  for (unsigned c = 0; c < ARENA_CLASSES; c++) {
    size_t cs = c < ARENA_SMALL_CLASSES
                    ? (size_t)(c + 1) << 4
                    : ((size_t)1 << ((c - ARENA_SMALL_CLASSES) / 4 + 8)) +
                          (((c - ARENA_SMALL_CLASSES) % 4) + 1) *
                              ((size_t)1 << ((c - ARENA_SMALL_CLASSES) / 4 + 6));
    for (void *p = a->free[c]; p;) {
      void *next = free_next(p);
      POISON(p, cs);
      p = next;
    }
  }
#endif
}

// Lua's realloc contract on the region: a block that shrinks stays where it
// is (Lua assumes shrinking cannot fail); the last block grows in place.
static void *arena_realloc(rp_arena *a, void *p, size_t osize, size_t nsize) {
  size_t ocs, ncs;
  unsigned oc = size_class(osize, &ocs);
  unsigned nc = size_class(nsize, &ncs);
  if (nc == oc) {
    if (nsize > osize)
      UNPOISON(p, nsize);
    else
      POISON((char *)p + nsize, osize - nsize);
    return p;
  }
  bool last = (char *)p + ocs == a->base + a->top;
  if (nsize < osize) {
    if (last) a->top -= ocs - ncs;
    POISON((char *)p + nsize, osize - nsize);
    return p;
  }
  if (last && nc < ARENA_CLASSES && ncs - ocs <= a->size - a->top) {
    a->top += ncs - ocs;
    if (a->top > a->peak) a->peak = a->top;
    UNPOISON(p, nsize);
    return p;
  }
  void *q = arena_alloc(a, nsize);
  if (!q) return NULL;
  memcpy(q, p, osize);
  arena_release(a, p, osize);
  return q;
}

static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  rp_lua *h = ud;
  h->dirty = true;
  if (ptr == NULL) osize = 0;
  if (nsize == 0) {
    if (ptr) arena_release(h->arena, ptr, osize);
    h->used -= osize;
    return NULL;
  }
  if (nsize > osize) {
    size_t grow = nsize - osize;
    // Outside plugin calls the host's own code gets an eighth more, so that
    // building a value for a call never meets the cap half-way (an error
    // there would have no protected call to go to).
    size_t limit = h->depth > 0 ? h->limit : h->limit + h->limit / 8;
    if (h->used > limit || grow > limit - h->used) {
      rp_sandbox_note_oom(h);  // sticky for the call, like the budget
      return NULL;
    }
    // Copying is work the count hook never sees (one concatenation can copy
    // megabytes): charge an instruction per 32 bytes.
    h->remaining -= (long)(grow / 32);
  }
  // A block that shrinks must not fail (Lua assumes it cannot), so only a
  // growing one asks the fault injector (util/buf.h).
  void *p;
  if (nsize > osize && rp_fault_alloc(true))
    p = NULL;
  else if (ptr)
    p = arena_realloc(h->arena, ptr, osize, nsize);
  else
    p = arena_alloc(h->arena, nsize);
  if (p) {
    h->used = h->used - osize + nsize;
  } else if (nsize > osize) {
    rp_sandbox_note_oom(h);  // the region is full before the cap: the same error
  }
  return p;
}

struct rp_lua_snapshot {
  rp_arena arena;  // the allocator as it was
  size_t used;
  char *bytes;  // a copy of the region's first arena.top bytes
};

void rp_lua_settle(rp_lua *h) {
  assert(h->depth == 0);
  // Only what is alive is worth keeping: collect first. Then let the
  // collector wait longer before its next cycle than it would by default:
  // a session's garbage is dropped wholesale by the next restore, and a
  // cycle would mark every object of the snapshot for nothing. It still
  // starts well before the memory cap (at most half of it), so a plugin
  // that makes much garbage in one session is collected as before.
  size_t live = h->used ? h->used : 1;
  size_t pause = h->limit / 2 / live * 100;
  if (pause > 1000) pause = 1000;
  if (pause < 200) pause = 200;
  lua_gc(h->main, LUA_GCINC, (int)pause, 0, 0);  // takes effect as the collection ends
  lua_gc(h->main, LUA_GCCOLLECT);
  h->spent = 0;  // os.clock() counts from here
}

void rp_lua_snapshot(rp_lua *h) {
  rp_lua_settle(h);
  rp_lua_snapshot_t *s = h->snap;
  if (!s) s = h->snap = rp_xcalloc(1, sizeof *s);
  free(s->bytes);
  s->arena = *h->arena;
  s->used = h->used;
  s->bytes = rp_xmalloc(s->arena.top ? s->arena.top : 1);
  UNPOISON(h->arena->base, s->arena.top);
  memcpy(s->bytes, h->arena->base, s->arena.top);
  arena_poison_free(h->arena);
  h->dirty = false;
}

bool rp_lua_restore(rp_lua *h) {
  assert(h->depth == 0);
  rp_lua_snapshot_t *s = h->snap;
  if (!s || !h->dirty) return false;
  rp_arena *a = h->arena;
  size_t peak = a->peak;
  size_t hwm = a->hwm > peak ? a->hwm : peak;
  UNPOISON(a->base, peak > s->arena.top ? peak : s->arena.top);
  memcpy(a->base, s->bytes, s->arena.top);
  *a = s->arena;
  a->hwm = hwm;
  a->peak = peak > a->top ? peak : a->top;
  arena_poison_free(a);
  a->peak = a->top;
  h->used = s->used;
  h->dirty = false;
  h->spent = 0;
  h->L = h->main;  // between calls the host acts on the main thread
  // Give back the pages a large session touched above the snapshot.
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t keep = (a->top + ARENA_KEEP + page - 1) / page * page;
  if (peak > keep && keep < a->size) madvise(a->base + keep, peak - keep, MADV_DONTNEED);
  return true;
}

uintptr_t rp_lua_region_base(const rp_lua *h) {
  return (uintptr_t)h->arena->base;
}

size_t rp_lua_snapshot_size(const rp_lua *h) {
  return h->snap ? h->snap->arena.top : 0;
}

// An error raised outside every protected call lands here. The host's own
// code calls no metamethod outside one, so only a failed allocation can
// raise it: end the run as every failed allocation of the core does, rather
// than with Lua's abort().
static int host_panic(lua_State *L) {
  if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "not enough memory") == 0)
    rp_oom();
  fputs("rapport: internal error: a Lua error outside a protected call\n", stderr);
  abort();
}

// Every RP_HOOK_EVERY instructions (coroutines: their own count). The
// sandbox raises the error: budget, memory or time, with the line to blame.
static void budget_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  rp_sandbox_charge(L, lua_gethookcount(L));
}

rp_lua *rp_lua_new(const rp_lua_opts *opts) {
  rp_lua *h = rp_xcalloc(1, sizeof *h);
  h->limit = opts && opts->memory_limit ? opts->memory_limit : 16u << 20;
  h->budget = opts && opts->instruction_budget ? opts->instruction_budget : 10000000L;
  h->now = time(NULL);
  h->arena = arena_new(h->limit);
  if (!h->arena) {
    free(h);
    return NULL;
  }
  h->L = h->main = lua_newstate(host_alloc, h);
  if (!h->L) {
    arena_free_all(h->arena);
    free(h);
    return NULL;
  }
  lua_atpanic(h->L, host_panic);
  // Libraries are opened into the registry's loaded table only, to copy the
  // safe functions from; the sandbox never sees these tables themselves.
  luaL_requiref(h->L, LUA_GNAME, luaopen_base, 0);
  luaL_requiref(h->L, LUA_STRLIBNAME, luaopen_string, 0);
  luaL_requiref(h->L, LUA_TABLIBNAME, luaopen_table, 0);
  luaL_requiref(h->L, LUA_MATHLIBNAME, luaopen_math, 0);
  luaL_requiref(h->L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
  lua_settop(h->L, 0);
  rp_sandbox_init(h);
  return h;
}

void rp_lua_set_print(rp_lua *h, rp_lua_print_fn fn, void *ud) {
  h->print = fn;
  h->print_ud = ud;
}

void rp_lua_set_time(rp_lua *h, long long now) {
  h->now = now;
}

void rp_lua_set_require(rp_lua *h, rp_lua_require_fn fn, void *ud) {
  h->require = fn;
  h->require_ud = ud;
}

void rp_lua_free(rp_lua *h) {
  if (!h) return;
  // Every byte of the state is in the region, and nothing in it holds
  // anything outside: no finalizer can be set (the sandbox refuses __gc,
  // the host sets none) and to-be-closed variables are closed within their
  // call. So the region goes as a whole; lua_close would only walk every
  // object to free it into memory that is about to be unmapped.
  arena_free_all(h->arena);
  if (h->snap) free(h->snap->bytes);
  free(h->snap);
  free(h);
}

enum { RP_POSITION_LEVELS = 32 };  // frames msgh looks at (lua_getstack is linear)

// Whether msg starts with "SOURCE:LINE:" for the chunk of a Lua function
// among the innermost frames: a position Lua, the sandbox or the plugin's
// own error() gave it.
static bool has_position(lua_State *L, const char *msg) {
  lua_Debug ar;
  for (int level = 1; level <= RP_POSITION_LEVELS && lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "S", &ar) || ar.what[0] == 'C') continue;
    size_t n = strlen(ar.short_src);
    if (strncmp(msg, ar.short_src, n) == 0 && msg[n] == ':' && msg[n + 1] >= '0' &&
        msg[n + 1] <= '9')
      return true;
  }
  return false;
}

// Message handler: any error object becomes a string with a traceback, and
// starts with the plugin's file and line. Errors raised in C below every
// Lua function (a C stack overflow in a gsub callback), error objects that
// are not text, and error(msg, 0) carry no position of their own: they get
// the innermost Lua function's, as every other plugin error has one. A
// table's __tostring is not called: it would run outside the budget.
static int msgh(lua_State *L) {
  const char *msg = NULL;
  if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER)
    msg = lua_tostring(L, 1);
  else
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  if (!has_position(L, msg)) {
    lua_Debug ar;
    for (int level = 1; level <= RP_POSITION_LEVELS && lua_getstack(L, level, &ar); level++) {
      if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
        msg = lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg);
        break;
      }
    }
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

// The one protected call: [fn, args...] -> [results...] or an error string.
int rp_lua_pcall(rp_lua *h, int nargs, int nresults, char **errmsg) {
  lua_State *L = h->L;
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msgh);
  lua_insert(L, base);
  // Only the outermost call starts a budget: a call made from inside plugin
  // code (a filter run by t.render, a module run by require) spends the
  // budget of the call it is part of.
  bool outer = h->depth == 0;
  // Plugin code can change the state without allocating (an integer in an
  // upvalue): any call means the next restore must copy.
  h->dirty = true;
  if (outer) {
    h->remaining = h->budget;
    h->exhausted = false;
    rp_sandbox_call_begin(h);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, RP_HOOK_EVERY);
  }
  h->depth++;
  int rc = lua_pcall(L, nargs, nresults, base);
  h->depth--;
  h->L = L;  // an entry on another thread that raised past rp_lua_leave
  if (outer) {
    lua_sethook(L, NULL, 0, 0);
    rp_sandbox_call_end(h);
    h->spent += h->budget - (h->remaining > 0 ? h->remaining : 0);
  }
  lua_remove(L, base);
  // An exhausted call fails even when nothing raised (an allocation refused
  // and then served after an emergency collection), and its message says
  // what ran out and where, whatever error the plugin's code last saw.
  bool memory = false;
  char *spent = rp_sandbox_failure(h, rc != LUA_OK ? lua_tostring(L, -1) : NULL, &memory);
  if (rc == LUA_OK && spent) {
    lua_settop(L, base - 1);
    rc = LUA_ERRRUN;
  } else if (rc != LUA_OK) {
    if (!spent) {
      size_t len = 0;
      const char *s = lua_tolstring(L, -1, &len);
      spent = rp_xstrndup(s ? s : "error", s ? len : 5);
    }
    lua_pop(L, 1);
  }
  if (rc != LUA_OK) {
    if (errmsg)
      *errmsg = spent;
    else
      free(spent);
    if (rc == LUA_ERRMEM || memory) return RP_ENOMEM;
    return h->exhausted ? RP_ELIMIT : RP_ELAMBDA;
  }
  return RP_OK;
}

// Lua messages start with "path:LINE: "; report them at that line.
static void add_lua_error(rp_diags *diags, const char *path, const char *msg) {
  size_t plen = strlen(path);
  int line = 0;
  const char *rest = msg;
  if (strncmp(msg, path, plen) == 0 && msg[plen] == ':') {
    char *end = NULL;
    long l = strtol(msg + plen + 1, &end, 10);
    if (end && *end == ':' && l > 0 && l < 1000000000L) {
      line = (int)l;
      rest = end + 1;
      while (*rest == ' ')
        rest++;
    }
  }
  rp_diags_add(diags, RP_SEV_ERROR, path, line, line ? 1 : 0, "%s", rest);
}

static int run_loaded(rp_lua *h, int loadrc, const char *path, rp_diags *diags,
                      rp_lua_ref *result) {
  lua_State *L = h->L;
  *result = 0;
  if (loadrc != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    add_lua_error(diags, path, msg ? msg : "cannot load");
    lua_pop(L, 1);
    return RP_ESYNTAX;
  }
  rp_sandbox_push_env(h);
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);  // _ENV is the chunk's first upvalue
  char *err = NULL;
  int rc = rp_lua_pcall(h, 0, 1, &err);
  if (rc != RP_OK) {
    add_lua_error(diags, path, err);
    free(err);
    return rc;
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
  } else {
    *result = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return RP_OK;
}

int rp_lua_run_string(rp_lua *h, const char *chunkname, const char *src, size_t len,
                      rp_diags *diags, rp_lua_ref *result) {
  int rc = luaL_loadbufferx(h->L, src, len, chunkname, "t");
  const char *path = chunkname[0] == '@' || chunkname[0] == '=' ? chunkname + 1 : chunkname;
  return run_loaded(h, rc, path, diags, result);
}

int rp_lua_run_file(rp_lua *h, const char *path, rp_diags *diags, rp_lua_ref *result) {
  rp_buf b = RP_BUF_INIT;
  int rc = rp_read_file(path, (size_t)64 << 20, &b, diags);
  if (rc == RP_OK) {
    rp_buf name = RP_BUF_INIT;
    rp_buf_printf(&name, "@%s", path);
    rc = rp_lua_run_string(h, name.data, b.data ? b.data : "", b.len, diags, result);
    rp_buf_free(&name);
  }
  rp_buf_free(&b);
  return rc;
}

bool rp_lua_get_function(rp_lua *h, rp_lua_ref table, const char *key, rp_lua_ref *out) {
  lua_State *L = h->L;
  *out = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, table);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  lua_pushstring(L, key);
  lua_rawget(L, -2);  // raw: no metamethod runs outside a protected call
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 2);
    return false;
  }
  *out = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);
  return true;
}

void rp_lua_strip_traceback(char *msg) {
  char *tb = msg ? strstr(msg, "\nstack traceback:") : NULL;
  if (tb) *tb = '\0';
}

void rp_lua_unref(rp_lua *h, rp_lua_ref ref) {
  if (ref > 0) luaL_unref(h->L, LUA_REGISTRYINDEX, ref);
}

int rp_lua_call_lambda(rp_lua *h, rp_lua_ref fn, const char *text, size_t len, rp_buf *out,
                       char **errmsg) {
  lua_State *L = h->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
  int nargs = 0;
  if (text) {
    lua_pushlstring(L, text, len);
    nargs = 1;
  }
  int rc = rp_lua_pcall(h, nargs, 1, errmsg);
  if (rc != RP_OK) {
    lua_settop(L, top);
    return rc;
  }
  int t = lua_type(L, -1);
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    size_t n = 0;
    const char *s = lua_tolstring(L, -1, &n);
    rp_buf_add(out, s, n);
  } else if (t != LUA_TNIL && !(t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
    *errmsg = rp_xstrndup("a lambda must return text, a number or nil", 43);
    lua_settop(L, top);
    return RP_ELAMBDA;
  }
  lua_settop(L, top);
  return RP_OK;
}
