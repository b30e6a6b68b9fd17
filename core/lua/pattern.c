// Lua patterns for the sandbox: string.find, match, gmatch and gsub.
//
// Same results as Lua 5.4's string library (tests/unit/lua/test_sandbox.c checks
// them against it on generated cases), with one difference: the matcher
// counts its steps and charges them to the call's instruction budget, so a
// backtracking pattern such as ("a"):rep(4000):find(".-.-b"), which runs for
// minutes in the stock library with no hook ever firing, stops with
// "instruction budget exceeded" like a Lua loop would.
//
// The matcher backtracks recursively, one level per capture, optional item
// or repetition tried, to at most MAX_DEPTH levels ("pattern too complex"),
// the depth Lua allows, so it needs no more C stack than the stock one.
#define _GNU_SOURCE  // memmem: a linear-time substring search
#include <ctype.h>
#include <lauxlib.h>
#include <stddef.h>
#include <string.h>

#include "lua/internal.h"

enum {
  MAX_CAPTURES = 32,  // LUA_MAXCAPTURES
  MAX_DEPTH = 200,    // recursion levels of one match (Lua's MAXCCALLS)
  CAP_UNFINISHED = -1,
  CAP_POSITION = -2,
  STEP_BATCH = 1024,  // steps between two charges to the budget
};

static const char SPECIALS[] = "^$*+?.([%-";

typedef struct matcher {
  lua_State *L;
  const char *src, *src_end;
  const char *pat_end;
  int depth;   // levels of recursion left
  int level;   // captures open or closed so far
  long steps;  // not yet charged
  struct {
    const char *init;
    ptrdiff_t len;  // or CAP_UNFINISHED, CAP_POSITION
  } cap[MAX_CAPTURES];
} matcher;

static void charge(matcher *m, long n) {
  m->steps += n;
  if (m->steps >= STEP_BATCH) {
    long s = m->steps;
    m->steps = 0;
    rp_sandbox_charge(m->L, s);
  }
}

static void flush(matcher *m) {
  if (m->steps > 0) {
    long s = m->steps;
    m->steps = 0;
    rp_sandbox_charge(m->L, s);
  }
}

static void start(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
  m->L = L;
  m->src = s;
  m->src_end = s + ls;
  m->pat_end = p + lp;
  m->steps = 0;
}

static void reset(matcher *m) {
  m->level = 0;
  m->depth = MAX_DEPTH;
}

// The pattern byte at p, or NUL past its end (Lua strings end in one, and
// the stock matcher reads it; reading it here keeps the same results).
static int at(const matcher *m, const char *p) {
  return p < m->pat_end ? (unsigned char)*p : '\0';
}

static int class_match(int c, int cl) {
  int r;
  switch (tolower(cl)) {
    case 'a':
      r = isalpha(c);
      break;
    case 'c':
      r = iscntrl(c);
      break;
    case 'd':
      r = isdigit(c);
      break;
    case 'g':
      r = isgraph(c);
      break;
    case 'l':
      r = islower(c);
      break;
    case 'p':
      r = ispunct(c);
      break;
    case 's':
      r = isspace(c);
      break;
    case 'u':
      r = isupper(c);
      break;
    case 'w':
      r = isalnum(c);
      break;
    case 'x':
      r = isxdigit(c);
      break;
    case 'z':  // deprecated, but still in 5.4: the NUL byte
      r = c == 0;
      break;
    default:
      return cl == c;  // %. for any non-alphanumeric: the character itself
  }
  return isupper(cl) ? !r : r != 0;
}

// Whether c is in the set [...] that starts at p ('[') and ends at last (']').
static int set_match(int c, const char *p, const char *last) {
  int in = 1;
  if (p[1] == '^') {
    in = 0;
    p++;
  }
  while (++p < last) {
    if (*p == '%') {
      p++;
      if (class_match(c, (unsigned char)*p)) return in;
    } else if (p[1] == '-' && p + 2 < last) {
      p += 2;
      if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p) return in;
    } else if ((unsigned char)*p == c) {
      return in;
    }
  }
  return !in;
}

// The end of the single-character class that starts at p.
static const char *class_end(matcher *m, const char *p) {
  int c = (unsigned char)*p++;
  if (c == '%') {
    if (p >= m->pat_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c == '[') {
    if (at(m, p) == '^') p++;
    do {  // the first character of a set is never its end: "[]]" is a set of ']'
      if (p >= m->pat_end) luaL_error(m->L, "malformed pattern (missing ']')");
      c = (unsigned char)*p++;
      if (c == '%' && p < m->pat_end) p++;
    } while (at(m, p) != ']');
    return p + 1;
  }
  return p;
}

// Whether the subject character at s matches the class [p, ep).
static int single_match(matcher *m, const char *s, const char *p, const char *ep) {
  if (s >= m->src_end) return 0;
  int c = (unsigned char)*s;
  switch (*p) {
    case '.':
      return 1;
    case '%':
      return class_match(c, (unsigned char)p[1]);
    case '[':
      return set_match(c, p, ep - 1);
    default:
      return (unsigned char)*p == c;
  }
}

static const char *do_match(matcher *m, const char *s, const char *p);

// %bxy at s; p points at x.
static const char *match_balance(matcher *m, const char *s, const char *p) {
  if (p + 1 >= m->pat_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m->src_end || *s != *p) return NULL;
  char open = p[0], close = p[1];
  int depth = 1;
  const char *from = s;
  while (++s < m->src_end) {
    if (*s == close) {
      if (--depth == 0) {
        charge(m, s - from);
        return s + 1;
      }
    } else if (*s == open) {
      depth++;
    }
  }
  charge(m, s - from);
  return NULL;
}

// Greedy repetition of the class [p, ep) from s, then the rest after ep.
static const char *max_expand(matcher *m, const char *s, const char *p, const char *ep) {
  ptrdiff_t i = 0;
  while (single_match(m, s + i, p, ep))
    i++;
  charge(m, i);
  for (; i >= 0; i--) {  // try the longest first
    const char *r = do_match(m, s + i, ep + 1);
    if (r) return r;
  }
  return NULL;
}

// Lazy repetition: the rest after ep as early as possible.
static const char *min_expand(matcher *m, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *r = do_match(m, s, ep + 1);
    if (r) return r;
    if (!single_match(m, s, p, ep)) return NULL;
    s++;
  }
}

static const char *start_capture(matcher *m, const char *s, const char *p, ptrdiff_t what) {
  if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
  m->cap[m->level].init = s;
  m->cap[m->level].len = what;
  m->level++;
  const char *r = do_match(m, s, p);
  if (!r) m->level--;  // undo the capture
  return r;
}

static const char *end_capture(matcher *m, const char *s, const char *p) {
  int l = m->level - 1;
  while (l >= 0 && m->cap[l].len != CAP_UNFINISHED)
    l--;
  if (l < 0) luaL_error(m->L, "invalid pattern capture");
  m->cap[l].len = s - m->cap[l].init;
  const char *r = do_match(m, s, p);
  if (!r) m->cap[l].len = CAP_UNFINISHED;
  return r;
}

// A back-reference %1-%9 (c is the digit).
static const char *match_backref(matcher *m, const char *s, int c) {
  int l = c - '1';
  if (l < 0 || l >= m->level || m->cap[l].len == CAP_UNFINISHED)
    luaL_error(m->L, "invalid capture index %%%d", l + 1);
  ptrdiff_t len = m->cap[l].len;
  if (len < 0) return NULL;  // a position capture matches no text
  charge(m, 1 + len / 32);
  if ((size_t)(m->src_end - s) >= (size_t)len && memcmp(m->cap[l].init, s, (size_t)len) == 0)
    return s + len;
  return NULL;
}

// Matches the pattern from p against the subject from s; returns the end of
// the match or NULL.
static const char *do_match(matcher *m, const char *s, const char *p) {
  if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
  for (;;) {
    charge(m, 1);
    if (p >= m->pat_end) break;
    switch (*p) {
      case '(':
        if (at(m, p + 1) == ')')
          s = start_capture(m, s, p + 2, CAP_POSITION);
        else
          s = start_capture(m, s, p + 1, CAP_UNFINISHED);
        goto done;
      case ')':
        s = end_capture(m, s, p + 1);
        goto done;
      case '$':
        if (p + 1 == m->pat_end) {  // an anchor only at the very end
          if (s != m->src_end) s = NULL;
          goto done;
        }
        goto single;
      case '%':
        switch (at(m, p + 1)) {
          case 'b':
            s = match_balance(m, s, p + 2);
            if (s) {
              p += 4;
              continue;
            }
            goto done;
          case 'f': {
            p += 2;
            if (at(m, p) != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
            const char *ep = class_end(m, p);
            int prev = s == m->src ? '\0' : (unsigned char)s[-1];
            int cur = s < m->src_end ? (unsigned char)*s : '\0';
            if (!set_match(prev, p, ep - 1) && set_match(cur, p, ep - 1)) {
              p = ep;
              continue;
            }
            s = NULL;
            goto done;
          }
          case '0':
          case '1':
          case '2':
          case '3':
          case '4':
          case '5':
          case '6':
          case '7':
          case '8':
          case '9':
            s = match_backref(m, s, at(m, p + 1));
            if (s) {
              p += 2;
              continue;
            }
            goto done;
          default:
            goto single;
        }
      default:
      single : {
        const char *ep = class_end(m, p);
        int q = at(m, ep);
        if (!single_match(m, s, p, ep)) {
          if (q == '*' || q == '?' || q == '-') {  // zero repetitions are fine
            p = ep + 1;
            continue;
          }
          s = NULL;
          goto done;
        }
        switch (q) {
          case '?': {
            const char *r = do_match(m, s + 1, ep + 1);
            if (r) {
              s = r;
              goto done;
            }
            p = ep + 1;
            continue;
          }
          case '+':
            s = max_expand(m, s + 1, p, ep);
            goto done;
          case '*':
            s = max_expand(m, s, p, ep);
            goto done;
          case '-':
            s = min_expand(m, s, p, ep);
            goto done;
          default:
            s++;
            p = ep;
            continue;
        }
      }
    }
  }
done:
  m->depth++;
  return s;
}

// --- captures ------------------------------------------------------------------------

// Capture i of the match [s, e): its text in *cap and its length, or
// CAP_POSITION after pushing the position. Capture 0 of a pattern without
// captures is the whole match.
static ptrdiff_t get_capture(matcher *m, int i, const char *s, const char *e, const char **cap) {
  if (i >= m->level) {
    if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
    *cap = s;
    return e - s;
  }
  ptrdiff_t len = m->cap[i].len;
  *cap = m->cap[i].init;
  if (len == CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
  if (len == CAP_POSITION) lua_pushinteger(m->L, (m->cap[i].init - m->src) + 1);
  return len;
}

static void push_capture(matcher *m, int i, const char *s, const char *e) {
  const char *cap;
  ptrdiff_t len = get_capture(m, i, s, e, &cap);
  if (len != CAP_POSITION) lua_pushlstring(m->L, cap, (size_t)len);
}

// Pushes every capture (the whole match when there are none and s is not
// NULL); returns how many.
static int push_captures(matcher *m, const char *s, const char *e) {
  int n = (m->level == 0 && s) ? 1 : m->level;
  luaL_checkstack(m->L, n, "too many captures");
  for (int i = 0; i < n; i++)
    push_capture(m, i, s, e);
  return n;
}

// --- find, match, gmatch, gsub ------------------------------------------------------

// A 1-based position that may count from the end, clipped to 1.
static size_t start_position(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos;
  if (pos == 0 || pos < -(lua_Integer)len) return 1;
  return len + (size_t)pos + 1;
}

static int no_specials(const char *p, size_t lp) {
  for (size_t i = 0; i < lp; i++)
    if (p[i] && strchr(SPECIALS, p[i])) return 0;
  return 1;
}

static int find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
  if (init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
    rp_sandbox_charge(L, (lua_Integer)(1 + (ls - init) / 32));
    const char *f = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
    if (f) {
      lua_pushinteger(L, (f - s) + 1);
      lua_pushinteger(L, (lua_Integer)((size_t)(f - s) + lp));
      return 2;
    }
  } else {
    matcher m;
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
      p++;
      lp--;
    }
    start(&m, L, s, ls, p, lp);
    const char *s1 = s + init;
    do {
      reset(&m);
      const char *e = do_match(&m, s1, p);
      if (e) {
        flush(&m);
        if (find) {
          lua_pushinteger(L, (s1 - s) + 1);
          lua_pushinteger(L, e - s);
          return push_captures(&m, NULL, NULL) + 2;
        }
        return push_captures(&m, s1, e);
      }
    } while (s1++ < m.src_end && !anchor);
    flush(&m);
  }
  luaL_pushfail(L);
  return 1;
}

int rp_pattern_find(lua_State *L) {
  return find_aux(L, 1);
}

int rp_pattern_match(lua_State *L) {
  return find_aux(L, 0);
}

// gmatch's state between calls, as offsets into the subject (upvalue 1).
typedef struct gmatch_state {
  size_t pos;
  size_t last;  // end of the last match, or SIZE_MAX
} gmatch_state;

static int gmatch_next(lua_State *L) {
  size_t ls, lp;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  gmatch_state *st = lua_touserdata(L, lua_upvalueindex(3));
  matcher m;
  start(&m, L, s, ls, p, lp);
  for (const char *src = s + st->pos; src <= m.src_end; src++) {
    reset(&m);
    const char *e = do_match(&m, src, p);
    // An empty match right where the last one ended is no new match.
    if (e && (st->last == SIZE_MAX || e != s + st->last)) {
      st->pos = st->last = (size_t)(e - s);
      flush(&m);
      return push_captures(&m, src, e);
    }
  }
  st->pos = ls + 1;
  flush(&m);
  return 0;
}

int rp_pattern_gmatch(lua_State *L) {
  size_t ls;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
  if (init > ls) init = ls + 1;  // past the end: no match at all
  lua_settop(L, 2);
  gmatch_state *st = lua_newuserdatauv(L, sizeof *st, 0);
  st->pos = init;
  st->last = SIZE_MAX;
  lua_pushcclosure(L, gmatch_next, 3);
  return 1;
}

// Appends the replacement string (argument 3) for the match [s, e).
static void add_string(matcher *m, luaL_Buffer *b, const char *s, const char *e) {
  lua_State *L = m->L;
  size_t l;
  const char *r = lua_tolstring(L, 3, &l);
  const char *p;
  while ((p = memchr(r, '%', l)) != NULL) {
    luaL_addlstring(b, r, (size_t)(p - r));
    p++;
    int c = p < r + l ? (unsigned char)*p : '\0';
    if (c == '%') {
      luaL_addchar(b, '%');
    } else if (c == '0') {
      luaL_addlstring(b, s, (size_t)(e - s));
    } else if (isdigit(c)) {
      const char *cap;
      ptrdiff_t len = get_capture(m, c - '1', s, e, &cap);
      if (len == CAP_POSITION)
        luaL_addvalue(b);  // the position get_capture pushed
      else
        luaL_addlstring(b, cap, (size_t)len);
    } else {
      luaL_error(L, "invalid use of '%c' in replacement string", '%');
    }
    l -= (size_t)(p + 1 - r);
    r = p + 1;
  }
  luaL_addlstring(b, r, l);
}

// Appends the replacement for the match [s, e); returns whether the text
// changed (a function or table that gives false or nil keeps the match).
static int add_value(matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr) {
  lua_State *L = m->L;
  switch (tr) {
    case LUA_TFUNCTION: {
      lua_pushvalue(L, 3);
      int n = push_captures(m, s, e);
      lua_call(L, n, 1);
      break;
    }
    case LUA_TTABLE:
      push_capture(m, 0, s, e);
      lua_gettable(L, 3);
      break;
    default:
      add_string(m, b, s, e);
      return 1;
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, s, (size_t)(e - s));
    return 0;
  }
  if (!lua_isstring(L, -1))
    return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}

int rp_pattern_gsub(lua_State *L) {
  size_t ls, lp;
  const char *src = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  int tr = lua_type(L, 3);
  lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
  luaL_argexpected(
      L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
      "string/function/table");
  int anchor = lp > 0 && *p == '^';
  if (anchor) {
    p++;
    lp--;
  }
  matcher m;
  start(&m, L, src, ls, p, lp);
  const char *lastmatch = NULL;
  lua_Integer n = 0;
  int changed = 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (n < max) {
    reset(&m);
    const char *e = do_match(&m, src, p);
    if (e && e != lastmatch) {
      n++;
      flush(&m);  // the replacement may call back into Lua
      changed = add_value(&m, &b, src, e, tr) | changed;
      src = lastmatch = e;
    } else if (src < m.src_end) {
      luaL_addchar(&b, *src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  flush(&m);
  if (!changed) {
    lua_pushvalue(L, 1);  // nothing replaced: the subject itself
  } else {
    luaL_addlstring(&b, src, (size_t)(m.src_end - src));
    luaL_pushresult(&b);
  }
  lua_pushinteger(L, n);
  return 2;
}
