// The plugins' part of building a note (rp_plugins_compute): the note type's
// rules, the checklists' summaries, the measures' scores and the note type's
// compute, giving the note's data for its layout. This is the one door from
// the note pipeline (core/notes/) into Lua.
//
// The pipeline has validated the session against its note type's schema
// already (core/schema/); the typed session is handed to Lua as a fresh
// table, and the computed note comes back through rp_lua_to_doc (raw access,
// depth limit, no cycles). Every call into plugin code goes through the one
// protected call, under the budget.
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"
#include "schema/schema.h"
#include "util/names.h"
#include "util/number.h"

static const rp_item *find_item(const rp_plugins *p, rp_item_kind kind, const char *id) {
  for (size_t i = 0; i < p->nitems; i++)
    if (p->items[i].kind == kind && strcmp(p->items[i].id, id) == 0) return &p->items[i];
  return NULL;
}

// Where a path of the session was written, or the nearest place. The path
// is dotted (`risk.safety_plan`); a list element is `[n]` or a component
// `n`, counting from 1 (`diagnoses[2].code`, `measures.srs.3`).
static void pos_of(rp_doc *in, rp_value root, const char *dotted, int *line, int *col) {
  rp_value cur = root;
  rp_doc_pos(in, root, line, col);
  const char *p = dotted;
  while (*p) {
    size_t len = strcspn(p, ".[");
    rp_value next;
    bool found = false;
    rp_kind k = rp_doc_ops.kind(in, cur);
    if (len > 0 && k == RP_KIND_MAP) {
      found = rp_doc_ops.get(in, cur, p, len, &next);
    } else if (len > 0 && k == RP_KIND_LIST) {
      char *end = NULL;
      long n = strtol(p, &end, 10);
      found = end == p + len && n >= 1 && (size_t)n <= rp_doc_ops.len(in, cur);
      if (found) next = rp_doc_ops.at(in, cur, (size_t)n - 1);
    } else if (len == 0 && *p == '[' && k == RP_KIND_LIST) {
      char *end = NULL;
      long n = strtol(p + 1, &end, 10);
      found = end && *end == ']' && n >= 1 && (size_t)n <= rp_doc_ops.len(in, cur);
      if (found) next = rp_doc_ops.at(in, cur, (size_t)n - 1);
      len = found ? (size_t)(end + 1 - p) : 0;
    }
    if (!found) break;
    cur = next;
    int l, c;
    rp_doc_pos(in, cur, &l, &c);
    if (l > 0) *line = l, *col = c;
    p += len;
    if (*p == '.') p++;
  }
  if (*line <= 0) *line = 1, *col = 1;
}

// Calls the function on top of the stack with the value at `arg`, leaving
// one result. Reports a failure; returns false then (nothing left).
static bool call1(rp_plugins *p, int arg, const char *fallback, rp_diags *diags) {
  lua_State *L = p->lua->L;
  lua_pushvalue(L, arg);
  char *err = NULL;
  if (rp_lua_pcall(p->lua, 1, 1, &err) != RP_OK) {
    rp_plugins_report(p, diags, fallback, err ? err : "error");
    free(err);
    return false;
  }
  return true;
}

static int field(lua_State *L, int t, const char *key) {
  t = lua_absindex(L, t);
  lua_pushstring(L, key);
  return lua_rawget(L, t);
}

static void set_string(lua_State *L, int t, const char *key, const char *value) {
  t = lua_absindex(L, t);
  lua_pushstring(L, value);
  lua_setfield(L, t, key);
}

// Reports a problem with what a plugin's function returned at the line where
// the function (on top of the stack, popped) is defined, as a Lua error in it
// would be reported.
static void report_result(rp_plugins *p, const char *fallback, rp_diags *diags, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static void report_result(rp_plugins *p, const char *fallback, rp_diags *diags, const char *fmt,
                          ...) {
  lua_State *L = p->lua->L;
  lua_Debug ar;
  rp_buf msg = RP_BUF_INIT;
  if (lua_isfunction(L, -1) && lua_getinfo(L, ">S", &ar) && ar.source[0] == '@' &&
      ar.linedefined > 0)
    rp_buf_printf(&msg, "%s:%d: ", ar.source + 1, ar.linedefined);
  else
    lua_pop(L, 1);
  va_list ap;
  va_start(ap, fmt);
  rp_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  rp_plugins_report(p, diags, fallback, msg.data ? msg.data : "error");
  rp_buf_free(&msg);
}

// The note type's own rules: validate(note) returns a list of problems,
// each { field = "risk.safety_plan", message = "...", warning = true|nil }
// or a text. A warning is reported and the note is still made.
static void run_validate(rp_plugins *p, int nt, int note, const rp_item *it, rp_doc *in,
                         rp_value root, const char *path, rp_diags *diags) {
  lua_State *L = p->lua->L;
  if (field(L, nt, "validate") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, -1);
  int fn = lua_gettop(L) - 1;
  if (!call1(p, note, it->path, diags)) {
    lua_settop(L, fn - 1);
    return;
  }
  if (lua_istable(L, -1)) {
    size_t n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n && i <= 1000; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      const char *where = NULL, *msg = NULL;
      bool warning = false;
      if (lua_type(L, -1) == LUA_TSTRING) {
        msg = lua_tostring(L, -1);
      } else if (lua_istable(L, -1)) {
        if (field(L, -1, "field") == LUA_TSTRING) where = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (field(L, -1, "message") == LUA_TSTRING) msg = lua_tostring(L, -1);
        lua_pop(L, 1);
        warning = field(L, -1, "warning") == LUA_TBOOLEAN && lua_toboolean(L, -1);
        lua_pop(L, 1);
      }
      int line = 1, col = 1;
      if (where) pos_of(in, root, where, &line, &col);
      if (msg) {
        rp_diags_add(diags, warning ? RP_SEV_WARNING : RP_SEV_ERROR, path, line, col, "%s", msg);
      } else {
        lua_pushvalue(L, fn);
        report_result(p, it->path, diags,
                      "note type '%s': validate returned problems[%zu], which is neither a "
                      "text nor { field = \"...\", message = \"...\" }",
                      it->id, i);
      }
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    lua_pushvalue(L, fn);
    report_result(p, it->path, diags,
                  "note type '%s': validate must return a list of problems (or nothing), "
                  "not a %s",
                  it->id, luaL_typename(L, -2));
  }
  lua_settop(L, fn - 1);
}

static bool plain_name(const char *s) {
  return rp_name_is_plain(s, strlen(s));
}

// The name, of those the list at `list` gives, nearest to `key` (see
// rp_name_nearest), copied into `near` (65 bytes); false when none is near.
// Each element of the list is a name, or a table whose `group` (when it has
// one) or else `id` is the name.
static bool nearest_in(lua_State *L, int list, const char *key, char near[65]) {
  size_t n = lua_rawlen(L, list);
  if (n > 1000) n = 1000;
  char **names = rp_xcalloc(n + 1, sizeof *names);
  for (size_t i = 1; i <= n; i++) {
    int top = lua_gettop(L);
    lua_rawgeti(L, list, (lua_Integer)i);
    if (lua_istable(L, -1) && field(L, top + 1, "group") != LUA_TSTRING) {
      lua_pop(L, 1);
      field(L, top + 1, "id");
    }
    if (lua_type(L, -1) == LUA_TSTRING)
      names[i - 1] = rp_xstrndup(lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_settop(L, top);
  }
  const char *best = rp_name_nearest(key, strlen(key), (const char *const *)names, n);
  if (best) snprintf(near, 65, "%s", best);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return best != NULL;
}

// The keys an answer given as a table may have, besides its value's own key.
static bool answer_key_known(const char *type, const char *key) {
  if (strcmp(key, "note") == 0) return true;
  if (strcmp(type, "rating") == 0) return strcmp(key, "rating") == 0;
  if (strcmp(type, "flag") == 0) return strcmp(key, "noticed") == 0 || strcmp(key, "plan") == 0;
  return true;
}

// Reports every key of the answer table at v that its item does not know:
// an answer typed under a misspelt key would not reach the note.
static bool check_answer_keys(lua_State *L, int v, const char *type, const char *where, rp_doc *in,
                              rp_value root, const char *path, rp_diags *diags) {
  bool ok = true;
  lua_pushnil(L);
  while (lua_next(L, v)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (key && answer_key_known(type, key)) {
      if (strcmp(key, "note") == 0 || strcmp(key, "plan") == 0) {
        lua_pushvalue(L, -1);
        lua_rawget(L, v);
        bool text = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 1);
        if (!text) {
          char sub[300];
          if (snprintf(sub, sizeof sub, "%s.%s", where, key) < 0) sub[0] = 0;
          int line, col;
          pos_of(in, root, sub, &line, &col);
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "%s must be text", sub);
          ok = false;
        }
      }
      continue;
    }
    int line, col;
    pos_of(in, root, where, &line, &col);
    const char *allowed =
        strcmp(type, "rating") == 0 ? "rating and note" : "noticed, note and plan";
    if (key && plain_name(key)) {
      char sub[300];
      if (snprintf(sub, sizeof sub, "%s.%s", where, key) < 0) sub[0] = 0;
      pos_of(in, root, sub, &line, &col);
      rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "unknown field '%s' (%s has %s)", sub,
                   where, allowed);
    } else {
      rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "an unknown field in %s (it has %s)",
                   where, allowed);
    }
    ok = false;
  }
  return ok;
}

// Checks a checklist's answers (the table at `answers`) against its items:
// every key names an item (or a group of them), ratings are numbers within
// the item's range (alone or as { rating = n, note = "..." }), flags are
// true or false (alone or as { noticed = true, note = "...", plan = "..." }),
// and an answer given as a table has no key its item does not know. Reports
// each problem at its place in the session; returns false when there was one.
static bool check_answers(rp_plugins *p, int cl, int answers, const char *id, rp_doc *in,
                          rp_value root, const char *path, rp_diags *diags) {
  lua_State *L = p->lua->L;
  int top = lua_gettop(L);
  bool ok = true;
  if (!lua_istable(L, answers)) {
    int line, col;
    pos_of(in, root, id, &line, &col);
    rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "%s must be a group of answers", id);
    return false;
  }
  field(L, cl, "items");
  int items = lua_gettop(L);
  size_t nitems = lua_rawlen(L, items);
  // Unknown keys: a typo must not drop an answer silently.
  lua_pushnil(L);
  while (lua_next(L, answers)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    bool known = false;
    for (size_t i = 1; key && i <= nitems && !known; i++) {
      lua_rawgeti(L, items, (lua_Integer)i);
      int it = lua_gettop(L);
      const char *iid = field(L, it, "id") == LUA_TSTRING ? lua_tostring(L, -1) : "";
      const char *grp = field(L, it, "group") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      known = grp ? strcmp(grp, key) == 0 : strcmp(iid, key) == 0;
      lua_settop(L, it - 1);
    }
    if (!known) {
      char where[200];
      if (snprintf(where, sizeof where, "%s.%s", id, key ? key : "") < 0) where[0] = 0;
      int line, col;
      pos_of(in, root, where, &line, &col);
      char near[65];
      if (key && plain_name(key) && nearest_in(L, items, key, near))
        rp_diags_add(diags, RP_SEV_ERROR, path, line, col,
                     "unknown field '%s' (did you mean '%s.%s'?)", where, id, near);
      else if (key && plain_name(key))
        rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "unknown field '%s'", where);
      else
        rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "an unknown field in %s", id);
      ok = false;
    }
  }
  for (size_t i = 1; i <= nitems; i++) {
    lua_settop(L, items);
    lua_rawgeti(L, items, (lua_Integer)i);
    int it = lua_gettop(L);
    const char *iid = field(L, it, "id") == LUA_TSTRING ? lua_tostring(L, -1) : "";
    const char *type = field(L, it, "type") == LUA_TSTRING ? lua_tostring(L, -1) : "rating";
    const char *grp = field(L, it, "group") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    char where[240];
    if (snprintf(where, sizeof where, "%s.%s%s%s", id, grp ? grp : "", grp ? "." : "", iid) < 0)
      where[0] = 0;
    int holder = answers;
    int line, col;
    if (grp) {
      int gt = field(L, answers, grp);
      if (gt == LUA_TNIL) continue;
      if (gt != LUA_TTABLE) {
        // Reported once per group, at its first item.
        bool first = true;
        for (size_t j = 1; j < i && first; j++) {
          lua_rawgeti(L, items, (lua_Integer)j);
          first = !(field(L, -1, "group") == LUA_TSTRING && strcmp(lua_tostring(L, -1), grp) == 0);
          lua_pop(L, 2);
        }
        if (first) {
          char gw[200];
          if (snprintf(gw, sizeof gw, "%s.%s", id, grp) < 0) gw[0] = 0;
          pos_of(in, root, gw, &line, &col);
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "%s must be a group of answers", gw);
          ok = false;
        }
        continue;
      }
      holder = lua_gettop(L);
    }
    if (field(L, holder, iid) == LUA_TNIL) continue;
    int v = lua_gettop(L);
    if (strcmp(type, "rating") == 0) {
      char sub[260];
      if (snprintf(sub, sizeof sub, "%s", where) < 0) sub[0] = 0;
      if (lua_istable(L, v)) {
        if (!check_answer_keys(L, v, type, where, in, root, path, diags)) ok = false;
        field(L, v, "rating");
        v = lua_gettop(L);
        if (snprintf(sub, sizeof sub, "%s.rating", where) < 0) sub[0] = 0;
      }
      field(L, it, "min");
      double min = lua_tonumber(L, -1);
      field(L, it, "max");
      double max = lua_tonumber(L, -1);
      if (lua_type(L, v) != LUA_TNUMBER || lua_tonumber(L, v) < min || lua_tonumber(L, v) > max ||
          lua_tonumber(L, v) != (double)(lua_Integer)lua_tonumber(L, v)) {
        pos_of(in, root, sub, &line, &col);
        if (lua_type(L, v) == LUA_TNUMBER)
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col,
                       "%s must be a rating from %g to %g (got %g)", sub, min, max,
                       lua_tonumber(L, v));
        else
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "%s must be a rating from %g to %g",
                       sub, min, max);
        ok = false;
      }
    } else if (strcmp(type, "flag") == 0) {
      char sub[260];
      if (snprintf(sub, sizeof sub, "%s", where) < 0) sub[0] = 0;
      if (lua_istable(L, v)) {
        if (!check_answer_keys(L, v, type, where, in, root, path, diags)) ok = false;
        field(L, v, "noticed");
        v = lua_gettop(L);
        if (snprintf(sub, sizeof sub, "%s.noticed", where) < 0) sub[0] = 0;
      }
      if (lua_type(L, v) != LUA_TBOOLEAN) {
        pos_of(in, root, sub, &line, &col);
        rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "%s must be true or false", sub);
        ok = false;
      }
    }
  }
  lua_settop(L, top);
  return ok;
}

// Appends the text of the scalar at idx to b: numbers as templates print
// them, true and false as "yes" and "no".
static void add_scalar_text(lua_State *L, int idx, rp_buf *b) {
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER: {
      char num[RP_NUMBER_BUF];
      size_t nlen = rp_number_format(lua_tonumber(L, idx), num);
      rp_buf_add(b, num, nlen);
      break;
    }
    case LUA_TBOOLEAN:
      rp_buf_adds(b, lua_toboolean(L, idx) ? "yes" : "no");
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      rp_buf_add(b, s, len);
      break;
    }
    default:
      break;
  }
}

static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Appends "key: value" texts for every value in the table at t (keys in
// sorted order, nested tables as "key.sub: value") to the list at list.
static void add_details(lua_State *L, int t, const char *prefix, int list, int depth) {
  if (depth > 8 || !lua_checkstack(L, 8)) return;
  t = lua_absindex(L, t);
  size_t n = 0, cap = 8;
  const char **keys = rp_xcalloc(cap, sizeof *keys);
  bool is_list = lua_rawlen(L, t) > 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    if (n == cap) keys = rp_xrealloc(keys, (cap *= 2) * sizeof *keys);
    keys[n++] = lua_tostring(L, -1);
  }
  qsort(keys, n, sizeof *keys, cmp_cstr);
  for (size_t i = 0; i < n; i++) {
    rp_buf name = RP_BUF_INIT;
    rp_buf_printf(&name, "%s%s%s", prefix, prefix[0] ? "." : "", keys[i]);
    field(L, t, keys[i]);
    if (lua_istable(L, -1)) {
      add_details(L, -1, name.data, list, depth + 1);
    } else {
      rp_buf text = RP_BUF_INIT;
      rp_buf_printf(&text, "%s: ", name.data);
      add_scalar_text(L, -1, &text);
      lua_pushlstring(L, text.data, text.len);
      lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
      rp_buf_free(&text);
    }
    lua_pop(L, 1);
    rp_buf_free(&name);
  }
  free(keys);
  if (is_list) {
    // A list answer: its elements, in order, as one text.
    rp_buf text = RP_BUF_INIT;
    rp_buf_printf(&text, "%s%s", prefix, prefix[0] ? ": " : "");
    size_t len = lua_rawlen(L, t);
    for (size_t i = 1; i <= len; i++) {
      lua_rawgeti(L, t, (lua_Integer)i);
      if (i > 1) rp_buf_adds(&text, ", ");
      add_scalar_text(L, -1, &text);
      lua_pop(L, 1);
    }
    lua_pushlstring(L, text.data, text.len);
    lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
    rp_buf_free(&text);
  }
}

// Pushes the list of a checklist's answers in item order, for layouts to
// show every answer given: each { id, label, group, value, note, plan,
// details }, where value is the answer in words ("4 of 5", "noticed", "not
// noticed", a text) and details lists any other values of an answer given as
// a group ("noticed: withdrawal", "addressed: no").
static void push_answers(lua_State *L, int cl, int answers) {
  int top = lua_gettop(L);
  lua_newtable(L);
  int list = lua_gettop(L);
  field(L, cl, "items");
  int items = lua_gettop(L);
  size_t nitems = lua_rawlen(L, items);
  for (size_t i = 1; i <= nitems; i++) {
    lua_settop(L, items);
    lua_rawgeti(L, items, (lua_Integer)i);
    int it = lua_gettop(L);
    const char *iid = field(L, it, "id") == LUA_TSTRING ? lua_tostring(L, -1) : "";
    const char *type = field(L, it, "type") == LUA_TSTRING ? lua_tostring(L, -1) : "rating";
    const char *grp = field(L, it, "group") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    const char *label = field(L, it, "label") == LUA_TSTRING ? lua_tostring(L, -1) : iid;
    int holder = answers;
    if (grp) {
      if (field(L, answers, grp) != LUA_TTABLE) continue;
      holder = lua_gettop(L);
    }
    if (field(L, holder, iid) == LUA_TNIL) continue;
    int v = lua_gettop(L);
    lua_newtable(L);
    int a = lua_gettop(L);
    set_string(L, a, "id", iid);
    set_string(L, a, "label", label);
    if (grp) set_string(L, a, "group", grp);
    rp_buf value = RP_BUF_INIT;
    int scalar = v;
    if (lua_istable(L, v)) {
      const char *key = strcmp(type, "rating") == 0 ? "rating"
                        : strcmp(type, "flag") == 0 ? "noticed"
                                                    : NULL;
      if (key) {
        field(L, v, key);
        scalar = lua_gettop(L);
      } else {
        scalar = 0;
      }
      for (const char *const *k = (const char *const[]){"note", "plan", NULL}; *k; k++) {
        if (field(L, v, *k) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
          rp_buf t = RP_BUF_INIT;
          add_scalar_text(L, -1, &t);
          lua_pushlstring(L, t.data ? t.data : "", t.len);
          lua_setfield(L, a, *k);
          rp_buf_free(&t);
        }
        lua_pop(L, 1);
      }
      if (!key) {
        // A text item answered with a group: every value of it.
        lua_newtable(L);
        add_details(L, v, "", lua_gettop(L), 0);
        lua_setfield(L, a, "details");
      }
    }
    if (scalar) {
      if (strcmp(type, "rating") == 0 && lua_type(L, scalar) == LUA_TNUMBER) {
        add_scalar_text(L, scalar, &value);
        field(L, it, "max");
        rp_buf_adds(&value, " of ");
        add_scalar_text(L, -1, &value);
        lua_pop(L, 1);
      } else if (strcmp(type, "flag") == 0 && lua_type(L, scalar) == LUA_TBOOLEAN) {
        rp_buf_adds(&value, lua_toboolean(L, scalar) ? "noticed" : "not noticed");
      } else {
        add_scalar_text(L, scalar, &value);
      }
    }
    if (value.len) {
      lua_pushlstring(L, value.data, value.len);
      lua_setfield(L, a, "value");
    }
    // Everything in one text, for layouts: a missing key would make a
    // template look the name up in the note around the answer (its `plan`).
    rp_buf text = RP_BUF_INIT;
    rp_buf_add(&text, value.data ? value.data : "", value.len);
    static const char *const parts[] = {"note", "plan"};
    for (size_t k = 0; k < 2; k++) {
      if (field(L, a, parts[k]) == LUA_TSTRING)
        rp_buf_printf(&text, "%s%s: %s", text.len ? "; " : "", parts[k], lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    if (field(L, a, "details") == LUA_TTABLE) {
      size_t nd = lua_rawlen(L, -1);
      for (size_t k = 1; k <= nd; k++) {
        lua_rawgeti(L, -1, (lua_Integer)k);
        rp_buf_printf(&text, "%s%s", text.len ? "; " : "", lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    lua_pushlstring(L, text.data ? text.data : "", text.len);
    lua_setfield(L, a, "text");
    rp_buf_free(&text);
    rp_buf_free(&value);
    lua_pushvalue(L, a);
    lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
  }
  lua_settop(L, list);
  (void)top;
}

// Pops the list on top into note.note_type[key] (a table the pipeline makes
// for every note; made here if it is missing).
static void note_type_list(lua_State *L, int note, const char *key) {
  if (field(L, note, "note_type") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, note, "note_type");
  }
  lua_insert(L, -2);
  lua_setfield(L, -2, key);
  lua_pop(L, 1);
}

// Each checklist of the note type with answers in the session is summarized
// into note.checklists[id], which also holds its id, title and answers (see
// push_answers); note.note_type.checklists holds the same tables in the
// note type's order, for layouts that show every checklist.
static bool run_checklists(rp_plugins *p, int nt, int note, rp_doc *in, rp_value root,
                           const char *path, rp_diags *diags) {
  bool ok = true;
  lua_State *L = p->lua->L;
  lua_newtable(L);
  int out = lua_gettop(L);
  rp_lua_mark_map(L, out);  // checklist id -> summary
  lua_newtable(L);
  int ordered = lua_gettop(L);
  if (field(L, nt, "checklists") == LUA_TTABLE) {
    int list = lua_gettop(L);
    size_t n = lua_rawlen(L, list);
    for (size_t i = 1; i <= n; i++) {
      lua_settop(L, list);
      lua_rawgeti(L, list, (lua_Integer)i);
      const char *id = lua_tostring(L, -1);
      const rp_item *cl = id ? find_item(p, RP_ITEM_CHECKLIST, id) : NULL;
      if (!id || field(L, note, id) == LUA_TNIL) continue;
      int answers = lua_gettop(L);
      if (!cl) {
        // Its plugin failed to load: the note would lack the answers given.
        rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                     "no note: its note type needs the checklist '%s', which did not load", id);
        ok = false;
        continue;
      }
      lua_rawgeti(L, LUA_REGISTRYINDEX, cl->ref);
      int def = lua_gettop(L);
      if (!check_answers(p, def, answers, id, in, root, path, diags)) {
        ok = false;
        continue;
      }
      if (field(L, def, "summarize") == LUA_TFUNCTION) {
        lua_pushvalue(L, -1);
        int fn = lua_gettop(L) - 1;
        if (!call1(p, answers, cl->path, diags)) {
          ok = false;
          continue;
        }
        if (!lua_istable(L, -1)) {
          lua_pushvalue(L, fn);
          report_result(p, cl->path, diags,
                        "checklist '%s': summarize must return a table of what the note shows, "
                        "not a %s",
                        id, luaL_typename(L, -2));
          ok = false;
          continue;
        }
      } else {
        lua_pop(L, 1);
        lua_newtable(L);
      }
      int summary = lua_gettop(L);
      set_string(L, summary, "id", id);
      set_string(L, summary, "title", cl->title ? cl->title : id);
      push_answers(L, def, answers);
      lua_setfield(L, summary, "answers");
      lua_pushvalue(L, summary);
      lua_setfield(L, out, id);
      lua_pushvalue(L, summary);
      lua_rawseti(L, ordered, (lua_Integer)lua_rawlen(L, ordered) + 1);
    }
  }
  lua_settop(L, ordered);
  note_type_list(L, note, "checklists");
  lua_setfield(L, note, "checklists");
  return ok;
}

// x rounded to `places` decimals, as a clinician writes it (22.7, never
// 22.700000000000003): the decimal text read back.
static double round_to(double x, int places) {
  char buf[64];
  if (!isfinite(x) || fabs(x) > 1e15) return x;
  // A whole number is its own rounding (most totals are): no printf.
  if (x == floor(x)) return x == 0 ? 0 : x;
  snprintf(buf, sizeof buf, "%.*f", places, x);
  double r = strtod(buf, NULL);
  return r == 0 ? 0 : r;
}

// Rounds the number at key of the table at t, when there is one.
static void round_field(lua_State *L, int t, const char *key, int places) {
  t = lua_absindex(L, t);
  if (field(L, t, key) == LUA_TNUMBER) {
    double r = round_to(lua_tonumber(L, -1), places);
    lua_pop(L, 1);
    if (r == floor(r) && fabs(r) < 1e15)
      lua_pushinteger(L, (lua_Integer)r);
    else
      lua_pushnumber(L, r);
    lua_setfield(L, t, key);
  } else {
    lua_pop(L, 1);
  }
}

// Checks the shape of what a measure's score function returned (on top):
// { total = number, subscales = { name = number }?, flags = { "text" }? }.
// Returns NULL, or what is wrong.
static const char *score_shape(lua_State *L) {
  int r = lua_gettop(L);
  if (!lua_istable(L, r)) return "a table";
  const char *bad = NULL;
  if (field(L, r, "total") != LUA_TNUMBER) bad = "a number 'total'";
  lua_pop(L, 1);
  int t = field(L, r, "subscales");
  if (t == LUA_TTABLE) {
    lua_pushnil(L);
    while (!bad && lua_next(L, r + 1)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TNUMBER)
        bad = "'subscales' mapping each name to a number";
      lua_pop(L, 1);
    }
    if (bad) lua_pop(L, 1);
  } else if (t != LUA_TNIL && !bad) {
    bad = "'subscales' mapping each name to a number";
  }
  lua_pop(L, 1);
  t = field(L, r, "flags");
  if (t == LUA_TTABLE) {
    size_t n = lua_rawlen(L, -1), count = 0;
    lua_pushnil(L);
    while (lua_next(L, r + 1)) {
      count++;
      if (!bad && lua_type(L, -1) != LUA_TSTRING) bad = "'flags' as a list of texts";
      lua_pop(L, 1);
    }
    if (!bad && count != n) bad = "'flags' as a list of texts";
  } else if (t != LUA_TNIL && !bad) {
    bad = "'flags' as a list of texts";
  }
  lua_settop(L, r);
  return bad;
}

// The sum of the item scores at `scores` (1..n).
static double sum_items(lua_State *L, int scores, lua_Integer n) {
  double total = 0;
  for (lua_Integer k = 1; k <= n; k++) {
    lua_rawgeti(L, scores, k);
    total += lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return total;
}

// Pushes the default score of a measure without a score function: the sum
// of the items, and of each subscale's items.
static void push_default_score(lua_State *L, int def, int scores, lua_Integer items) {
  lua_newtable(L);
  int r = lua_gettop(L);
  lua_pushnumber(L, sum_items(L, scores, items));
  lua_setfield(L, r, "total");
  lua_newtable(L);
  int out = lua_gettop(L);
  if (field(L, def, "subscales") == LUA_TTABLE) {
    int subs = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, subs)) {  // [name, item numbers]
      double s = 0;
      size_t n = lua_rawlen(L, -1);
      for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        lua_Integer k = lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, scores, k);
        s += lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);  // [name]
      lua_pushvalue(L, -1);
      lua_pushnumber(L, s);
      lua_rawset(L, out);
    }
  }
  lua_settop(L, out);
  lua_setfield(L, r, "subscales");
}

// Whether the text at idx is already in the list at list.
static bool list_has(lua_State *L, int list, int idx) {
  size_t n = lua_rawlen(L, list);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, list, (lua_Integer)i);
    bool same = lua_rawequal(L, -1, idx);
    lua_pop(L, 1);
    if (same) return true;
  }
  return false;
}

static void list_push_top(lua_State *L, int list) {
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

// Applies the measure's cutoffs (def) to the score table r: a cutoff that is
// met adds its flag to r.flags (once), and a `risk` cutoff adds it to the
// list at risk as well.
static void apply_cutoffs(lua_State *L, int def, int r, int scores, const char *title, int risk) {
  if (field(L, def, "cutoffs") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setfield(L, r, "risk_flags");
    return;
  }
  int cuts = lua_gettop(L);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, r, "risk_flags");
  int own = lua_gettop(L);
  if (field(L, r, "flags") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, r, "flags");
  }
  int flags = lua_gettop(L);
  size_t n = lua_rawlen(L, cuts);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, cuts, (lua_Integer)i);
    int c = lua_gettop(L);
    // The value the cutoff looks at: an item, a subscale, or the total.
    bool have = false;
    double x = 0;
    if (field(L, c, "item") == LUA_TNUMBER) {
      lua_rawgeti(L, scores, lua_tointeger(L, -1));
      have = lua_type(L, -1) == LUA_TNUMBER;
      x = lua_tonumber(L, -1);
      lua_pop(L, 1);
    } else if (field(L, c, "subscale") == LUA_TSTRING) {  // [name]
      if (field(L, r, "subscales") == LUA_TTABLE) {       // [name, subscales]
        lua_pushvalue(L, -2);
        lua_rawget(L, -2);
        have = lua_type(L, -1) == LUA_TNUMBER;
        x = lua_tonumber(L, -1);
      }
    } else {
      have = field(L, r, "total") == LUA_TNUMBER;
      x = lua_tonumber(L, -1);
    }
    lua_settop(L, c);
    bool met = false;
    if (have && field(L, c, "below") == LUA_TNUMBER) met = x < lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (have && field(L, c, "at_least") == LUA_TNUMBER) met = met || x >= lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (met) {
      if (field(L, c, "flag") != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushfstring(L, "%s: cutoff %d met", title, (int)i);
      }
      int text = lua_gettop(L);
      if (!list_has(L, flags, text)) {
        lua_pushvalue(L, text);
        list_push_top(L, flags);
      }
      if (field(L, c, "risk") == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
        lua_pushvalue(L, text);
        list_push_top(L, own);
        if (!list_has(L, risk, text)) {
          lua_pushvalue(L, text);
          list_push_top(L, risk);
        }
      }
    }
    lua_settop(L, flags);
  }
  lua_settop(L, cuts - 1);
}

// Copies the value at key of the table at from to the table at to.
static void copy_key(lua_State *L, int from, int to, const char *key, const char *as) {
  field(L, from, key);
  lua_setfield(L, to, as ? as : key);
}

// Adds to the score table r what a layout needs to show every measure the
// same way: id, title, items (the item scores as given), item_list ({ n,
// score, label }), min_total, max_total, precision, band, cutoffs, rci and
// sources, and subscale_list ({ name, score, max }).
static void describe_score(rp_lua *h, const rp_item *m, int def, int r, int scores,
                           lua_Integer items, double min, double max) {
  lua_State *L = h->L;
  set_string(L, r, "id", m->id);
  set_string(L, r, "title", m->title ? m->title : m->id);
  lua_pushvalue(L, scores);
  lua_setfield(L, r, "items");
  field(L, def, "item_labels");
  int labels = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_createtable(L, (int)items, 0);
  for (lua_Integer k = 1; k <= items; k++) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, k);
    lua_setfield(L, -2, "n");
    lua_rawgeti(L, scores, k);
    lua_setfield(L, -2, "score");
    // Every item has a label, null when the measure ships no wording.
    if (!labels || lua_rawgeti(L, labels, k) != LUA_TSTRING) {
      if (labels) lua_pop(L, 1);
      rp_lua_push_null(h);
    }
    lua_setfield(L, -2, "label");
    lua_rawseti(L, -2, k);
  }
  lua_setfield(L, r, "item_list");
  lua_pop(L, 1);
  lua_pushnumber(L, min * (double)items);
  lua_setfield(L, r, "min_total");
  lua_pushnumber(L, max * (double)items);
  lua_setfield(L, r, "max_total");
  round_field(L, r, "min_total", 6);
  round_field(L, r, "max_total", 6);
  copy_key(L, def, r, "rci", NULL);
  copy_key(L, def, r, "sources", NULL);
  copy_key(L, def, r, "cutoffs", NULL);
  // The band the total falls in.
  int top = lua_gettop(L);
  if (field(L, def, "bands") == LUA_TTABLE && field(L, r, "total") == LUA_TNUMBER) {
    double total = lua_tonumber(L, -1);
    int bands = top + 1;
    size_t n = lua_rawlen(L, bands);
    for (size_t i = 1; i <= n; i++) {
      lua_settop(L, bands);
      lua_rawgeti(L, bands, (lua_Integer)i);
      field(L, -1, "min");
      field(L, -2, "max");
      if (total >= lua_tonumber(L, -2) && total <= lua_tonumber(L, -1)) {
        copy_key(L, bands + 1, r, "label", "band");
        break;
      }
    }
  }
  lua_settop(L, top);
  // Every score has a band, null when no band holds the total (or the
  // measure has none), so layouts may test it under --strict.
  if (field(L, r, "band") == LUA_TNIL) {
    rp_lua_push_null(h);
    lua_setfield(L, r, "band");
  }
  lua_settop(L, top);
  // Subscales in name order, each with its highest possible score.
  lua_newtable(L);
  int list = lua_gettop(L);
  if (field(L, r, "subscales") == LUA_TTABLE) {
    int subs = lua_gettop(L);
    field(L, def, "subscales");
    int defsubs = lua_istable(L, -1) ? lua_gettop(L) : 0;
    size_t n = 0, cap = 8;
    const char **names = rp_xcalloc(cap, sizeof *names);
    lua_pushnil(L);
    while (lua_next(L, subs)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING) continue;
      if (n == cap) names = rp_xrealloc(names, (cap *= 2) * sizeof *names);
      names[n++] = lua_tostring(L, -1);
    }
    qsort(names, n, sizeof *names, cmp_cstr);
    for (size_t i = 0; i < n; i++) {
      lua_createtable(L, 0, 3);
      set_string(L, -1, "name", names[i]);
      field(L, subs, names[i]);
      lua_setfield(L, -2, "score");
      if (defsubs && field(L, defsubs, names[i]) == LUA_TTABLE) {
        lua_pushnumber(L, max * (double)lua_rawlen(L, -1));
        lua_setfield(L, -3, "max");
        round_field(L, -2, "max", 6);
      } else {
        // A subscale the score made up has no known highest score.
        rp_lua_push_null(h);
        lua_setfield(L, -2 - (defsubs != 0), "max");
      }
      if (defsubs) lua_pop(L, 1);
      list_push_top(L, list);
    }
    free(names);
  }
  lua_settop(L, list);
  lua_setfield(L, r, "subscale_list");
}

// Checks the item scores at `scores` of the measure m (count and range,
// naming the item at fault, at its place in the session) and scores them:
// by the measure's score function, or as the sum of its items and of each
// subscale's. The host then checks the result's shape, rounds the total and
// subscales to the measure's precision, applies its cutoffs and bands, and
// adds what layouts show (describe_score). Flags of `risk` cutoffs also go
// to the list at risk. Pushes the score table and returns true, or reports
// and returns false with the stack as it was.
static bool score_measure(rp_plugins *p, const rp_item *m, int scores, rp_doc *in, rp_value root,
                          const char *path, int risk, rp_diags *diags) {
  lua_State *L = p->lua->L;
  const char *id = m->id;
  lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
  int def = lua_gettop(L);
  field(L, def, "items");
  lua_Integer items = lua_tointeger(L, -1);
  field(L, def, "min");
  double min = lua_tonumber(L, -1);
  field(L, def, "max");
  double max = lua_tonumber(L, -1);
  lua_Integer places = 2;
  if (field(L, def, "precision") == LUA_TNUMBER) places = lua_tointeger(L, -1);
  lua_settop(L, def);
  char where[160];
  if (snprintf(where, sizeof where, "measures.%s", id) < 0) where[0] = 0;
  int line, col;
  pos_of(in, root, where, &line, &col);
  char lo[RP_NUMBER_BUF], hi[RP_NUMBER_BUF];
  rp_number_format(min, lo);
  rp_number_format(max, hi);
  if (!lua_istable(L, scores) || lua_rawlen(L, scores) == 0) {
    rp_diags_add(diags, RP_SEV_ERROR, path, line, col,
                 "%s must list %lld item scores, each from %s to %s, in item order", where,
                 (long long)items, lo, hi);
    lua_settop(L, scores);
    return false;
  }
  bool good = true;
  for (lua_Integer k = 1; k <= (lua_Integer)lua_rawlen(L, scores) && k <= items; k++) {
    lua_rawgeti(L, scores, k);
    if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < min || lua_tonumber(L, -1) > max) {
      char at[200];
      int il, ic;
      if (snprintf(at, sizeof at, "%s[%lld]", where, (long long)k) < 0) at[0] = 0;
      pos_of(in, root, at, &il, &ic);
      if (lua_type(L, -1) == LUA_TNUMBER) {
        char got[RP_NUMBER_BUF];
        rp_number_format(lua_tonumber(L, -1), got);
        rp_diags_add(diags, RP_SEV_ERROR, path, il, ic,
                     "%s item %lld must be a score from %s to %s (got %s)", where, (long long)k, lo,
                     hi, got);
      } else {
        rp_diags_add(diags, RP_SEV_ERROR, path, il, ic,
                     "%s item %lld must be a score from %s to %s", where, (long long)k, lo, hi);
      }
      good = false;
    }
    lua_pop(L, 1);
  }
  lua_Integer given = (lua_Integer)lua_rawlen(L, scores);
  if (given != items) {
    rp_diags_add(diags, RP_SEV_ERROR, path, line, col,
                 "%s must list %lld item scores in item order (got %lld)", where, (long long)items,
                 (long long)given);
    good = false;
  }
  if (!good) {
    lua_settop(L, scores);
    return false;
  }
  if (field(L, def, "score") == LUA_TFUNCTION) {
    lua_pushvalue(L, -1);
    int fn = lua_gettop(L) - 1;
    if (!call1(p, scores, m->path, diags)) {
      lua_settop(L, scores);
      return false;
    }
    const char *bad = score_shape(L);
    if (bad) {
      const char *got = luaL_typename(L, -1);
      lua_pushvalue(L, fn);
      report_result(p, m->path, diags,
                    "measure '%s': score must return a table with %s, such as { total = 12, "
                    "subscales = { task = 6 }, flags = {} } (it returned %s%s)",
                    id, bad, lua_istable(L, -2) ? "a table without it" : "a ",
                    lua_istable(L, -2) ? "" : got);
      lua_settop(L, scores);
      return false;
    }
  } else {
    lua_pop(L, 1);
    push_default_score(L, def, scores, items);
  }
  int r = lua_gettop(L);
  round_field(L, r, "total", (int)places);
  // Subscales are a map (name to score), `{}` in JSON when there are none.
  if (field(L, r, "subscales") == LUA_TTABLE) {
    int subs = lua_gettop(L);
    rp_lua_mark_map(L, subs);
    lua_pushnil(L);
    while (lua_next(L, subs)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING) continue;
      round_field(L, subs, lua_tostring(L, -1), (int)places);
    }
  } else {
    lua_newtable(L);
    rp_lua_mark_map(L, -1);
    lua_setfield(L, r, "subscales");
  }
  lua_settop(L, r);
  lua_pushinteger(L, places);
  lua_setfield(L, r, "precision");
  apply_cutoffs(L, def, r, scores, m->title ? m->title : m->id, risk);
  if (field(L, r, "flags") != LUA_TTABLE) {
    lua_newtable(L);
    lua_setfield(L, r, "flags");
  }
  lua_settop(L, r);
  describe_score(p->lua, m, def, r, scores, items, min, max);
  lua_settop(L, r);
  // The score table replaces what was pushed for it.
  lua_replace(L, scores + 1);
  lua_settop(L, scores + 1);
  return true;
}

int rp_measure_score(rp_plugins *p, const char *id, int scores, rp_diags *diags) {
  lua_State *L = p->lua->L;
  scores = lua_absindex(L, scores);
  const rp_item *m = find_item(p, RP_ITEM_MEASURE, id);
  if (!m) {
    rp_diags_add(diags, RP_SEV_ERROR, "t.score", 0, 0, "no measure '%s'", id);
    return RP_ENOTFOUND;
  }
  rp_doc *in = rp_doc_new();
  lua_newtable(L);
  int risk = lua_gettop(L);
  lua_pushvalue(L, scores);
  bool ok = score_measure(p, m, lua_gettop(L), in, rp_doc_null(in), "measures", risk, diags);
  rp_doc_free(in);
  if (!ok) {
    lua_settop(L, risk - 1);
    return RP_EDATA;
  }
  lua_replace(L, risk);
  lua_settop(L, risk);
  return RP_OK;
}

// Each measure with item scores under note.measures[id] is checked and
// scored into note.scores[id] (score_measure). note.note_type.measures
// holds the same tables in the note type's order, and
// note.note_type.risk_flags the flags of their cutoffs marked `risk`, for
// layouts that show every measure. (Names under note_type, which the host
// fills in, cannot clash with a session's fields.)
static bool run_measures(rp_plugins *p, int nt, int note, rp_doc *in, rp_value root,
                         const char *path, rp_diags *diags) {
  lua_State *L = p->lua->L;
  bool ok = true;
  lua_newtable(L);
  int out = lua_gettop(L);
  rp_lua_mark_map(L, out);  // measure id -> score
  lua_newtable(L);
  int ordered = lua_gettop(L);
  lua_newtable(L);
  int risk = lua_gettop(L);
  int measures = 0;
  if (field(L, note, "measures") == LUA_TTABLE)
    measures = lua_gettop(L);
  else
    lua_pop(L, 1);
  if (measures && field(L, nt, "measures") == LUA_TTABLE) {
    int list = lua_gettop(L);
    // A measure the note type does not use is a typo more often than not
    // (sr: for srs:): report it rather than drop its scores silently.
    lua_pushnil(L);
    while (lua_next(L, measures)) {
      lua_pop(L, 1);
      const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      bool used = false;
      size_t nm = lua_rawlen(L, list);
      for (size_t i = 1; key && i <= nm && !used; i++) {
        lua_rawgeti(L, list, (lua_Integer)i);
        used = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), key) == 0;
        lua_pop(L, 1);
      }
      if (!used) {
        char where[200];
        if (snprintf(where, sizeof where, "measures.%s", key ? key : "") < 0) where[0] = 0;
        int line, col;
        pos_of(in, root, where, &line, &col);
        rp_buf names = RP_BUF_INIT;
        for (size_t i = 1; i <= nm; i++) {
          lua_rawgeti(L, list, (lua_Integer)i);
          if (lua_type(L, -1) == LUA_TSTRING)
            rp_buf_printf(&names, "%s%s", i > 1 ? ", " : "", lua_tostring(L, -1));
          lua_pop(L, 1);
        }
        char near[65];
        if (key && plain_name(key) && nearest_in(L, list, key, near))
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col,
                       "unknown field '%s' (did you mean 'measures.%s'?)", where, near);
        else if (key && plain_name(key))
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "unknown field '%s' (measures: %s)",
                       where, names.data ? names.data : "none");
        else
          rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "an unknown field in measures");
        rp_buf_free(&names);
        ok = false;
      }
    }
    size_t n = lua_rawlen(L, list);
    for (size_t i = 1; i <= n; i++) {
      lua_settop(L, list);
      lua_rawgeti(L, list, (lua_Integer)i);
      const char *id = lua_tostring(L, -1);
      const rp_item *m = id ? find_item(p, RP_ITEM_MEASURE, id) : NULL;
      if (!id || field(L, measures, id) == LUA_TNIL) continue;
      if (!m) {
        rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                     "no note: its note type needs the measure '%s', which did not load", id);
        ok = false;
        continue;
      }
      if (!score_measure(p, m, lua_gettop(L), in, root, path, risk, diags)) {
        ok = false;
        continue;
      }
      int r = lua_gettop(L);
      lua_pushvalue(L, r);
      lua_setfield(L, out, id);
      lua_pushvalue(L, r);
      list_push_top(L, ordered);
    }
  }
  // [scores, ordered, risk]: the lists go with the note type's id and title.
  lua_settop(L, risk);
  note_type_list(L, note, "risk_flags");
  note_type_list(L, note, "measures");
  lua_setfield(L, note, "scores");
  return ok;
}

// Calls every handler of `event` with the table at `arg`; a handler that
// returns a table replaces it for the handlers after it and for the rest of
// the pipeline, and anything else but nothing is reported at the handler's
// line. Returns false when one failed (reported).
static bool run_hooks(rp_plugins *p, const char *event, int arg, rp_diags *diags) {
  lua_State *L = p->lua->L;
  for (size_t i = 0; i < p->nitems; i++) {
    const rp_item *it = &p->items[i];
    if (it->kind != RP_ITEM_HOOK || strcmp(it->id, event) != 0) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, it->ref);
    lua_pushvalue(L, -1);
    int fn = lua_gettop(L) - 1;
    if (!call1(p, arg, it->path, diags)) {
      lua_settop(L, fn - 1);
      return false;
    }
    if (lua_istable(L, -1)) {
      lua_replace(L, arg);
    } else if (!lua_isnil(L, -1)) {
      lua_pushvalue(L, fn);
      report_result(p, it->path, diags,
                    "the '%s' handler must return the %s table (changed or new) or nothing, "
                    "not a %s",
                    event, strcmp(event, "session") == 0 ? "session" : "note",
                    luaL_typename(L, -2));
      lua_settop(L, fn - 1);
      return false;
    }
    lua_settop(L, fn - 1);
  }
  return true;
}

const rp_schema *rp_plugins_note_type(rp_plugins *p, const char *id, const char **title) {
  rp_item *it = (rp_item *)find_item(p, RP_ITEM_NOTE_TYPE, id);
  if (!it) return NULL;
  // Built once per registration: a note type's table does not change while
  // it is registered (a reset registers it anew).
  if (!it->schema) it->schema = rp_plugins_schema(p, id);
  if (title) *title = it->title;
  return it->schema;
}

// The session typed by its note type's schema, and what the plugins make
// of it.
typedef struct compute_in {
  const char *path;  // names the session in messages
  rp_doc *src;       // the session as read, for the positions of problems
  rp_value root;
  const rp_schema *schema;  // the note type's
  rp_doc *typed_doc;        // the session typed by that schema
  rp_value typed;
  // The fields have problems already: run only the stages that report
  // problems (rules, checklist answers, measures), so every problem shows
  // at once; no note is made.
  bool check_only;
} compute_in;

static int cmp_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Appends the value at idx in words: text as it is, numbers as JavaScript
// prints them, booleans yes or no, a list's items joined with ", ", a
// group's fields as "name: value" joined with "; " in name order.
static void value_words(lua_State *L, int idx, rp_buf *b, int depth) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) {
    add_scalar_text(L, idx, b);
    return;
  }
  if (depth > 8 || !lua_checkstack(L, 4)) return;
  size_t n = lua_rawlen(L, idx);
  if (n > 0) {
    for (size_t i = 1; i <= n; i++) {
      if (i > 1) rp_buf_adds(b, ", ");
      lua_rawgeti(L, idx, (lua_Integer)i);
      value_words(L, -1, b, depth + 1);
      lua_pop(L, 1);
    }
    return;
  }
  // A group: its string keys in order.
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) count++;
  }
  const char **keys = rp_xcalloc(count ? count : 1, sizeof *keys);
  size_t k = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && k < count) keys[k++] = lua_tostring(L, -1);
  }
  qsort(keys, k, sizeof *keys, cmp_strings);
  for (size_t i = 0; i < k; i++) {
    rp_buf_printf(b, "%s%s: ", i ? "; " : "", keys[i]);
    lua_getfield(L, idx, keys[i]);
    value_words(L, -1, b, depth + 1);
    lua_pop(L, 1);
  }
  free(keys);
}

// note.note_type.added_fields: for a note type that extends another, each
// of the extension's own fields the session gives, as { id, label, text },
// so that a layout written for the base (which knows nothing of them) still
// shows them (the built-in layouts' note-tail partial does).
static void push_added_fields(lua_State *L, int nt, int note) {
  int top = lua_gettop(L);
  field(L, nt, "added");
  if (field(L, note, "note_type") != LUA_TTABLE) {
    lua_settop(L, top);
    return;
  }
  int added = top + 1, ntt = top + 2;
  lua_newtable(L);
  int list = lua_gettop(L);
  // A note type that extends none has an empty list, so that every note has
  // the same shape.
  size_t n = lua_istable(L, added) ? lua_rawlen(L, added) : 0, k = 0;
  for (size_t i = 1; i <= n && i <= 1000; i++) {
    lua_settop(L, list);
    lua_rawgeti(L, added, (lua_Integer)i);
    int f = lua_gettop(L);
    if (field(L, f, "id") != LUA_TSTRING) continue;
    const char *id = lua_tostring(L, -1);
    // The value at the dotted id.
    lua_pushvalue(L, note);
    for (const char *part = id;;) {
      const char *dot = strchr(part, '.');
      size_t len = dot ? (size_t)(dot - part) : strlen(part);
      if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        break;
      }
      lua_pushlstring(L, part, len);
      lua_rawget(L, -2);
      lua_remove(L, -2);
      if (!dot) break;
      part = dot + 1;
    }
    int v = lua_gettop(L);
    if (lua_isnil(L, v) || lua_islightuserdata(L, v)) continue;
    rp_buf text = RP_BUF_INIT;
    value_words(L, v, &text, 0);
    if (text.len == 0) {
      rp_buf_free(&text);
      continue;
    }
    const char *label = field(L, f, "label") == LUA_TSTRING ? lua_tostring(L, -1) : id;
    lua_createtable(L, 0, 3);
    int a = lua_gettop(L);
    set_string(L, a, "id", id);
    set_string(L, a, "label", label);
    lua_pushlstring(L, text.data, text.len);
    lua_setfield(L, a, "text");
    rp_buf_free(&text);
    lua_rawseti(L, list, (lua_Integer)++k);
  }
  lua_settop(L, list);
  lua_setfield(L, ntt, "added_fields");
  lua_settop(L, top);
}

// Tables and values the host looks at while completing one note: a plugin
// can build a table that holds one table many times over, which a walk
// would visit an exponential number of times.
enum { COMPLETE_BUDGET = 1 << 20 };

// Whether the table at idx holds anything but nulls and empty tables. Deep,
// cyclic or very large tables count as content (rp_lua_to_doc reports a
// cycle); every value looked at spends one of *budget.
static bool has_content(lua_State *L, int idx, int depth, size_t *budget) {
  if (depth > 32 || !lua_checkstack(L, 3)) return true;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (*budget == 0) {
      lua_pop(L, 2);
      return true;
    }
    --*budget;
    int type = lua_type(L, -1);
    bool empty = type == LUA_TLIGHTUSERDATA || type == LUA_TNIL ||
                 (type == LUA_TTABLE && !has_content(L, lua_gettop(L), depth + 1, budget));
    lua_pop(L, 1);
    if (!empty) {
      lua_pop(L, 1);
      return true;
    }
  }
  return false;
}

static bool has_required(const rp_field *f) {
  for (size_t i = 0; i < f->nfields; i++)
    if (f->fields[i].required) return true;
  return false;
}

// Gives the note table at t every field that it lacks, so that a note has one
// shape whatever the session left out (Lua has no null in a table: what the
// session left out is not there): a layout may test any field of its note
// type, under --strict too, and JSON shows every field. An absent list
// becomes an empty list and any other absent field null, including a group
// of dotted ids that the session left out entirely (`service` for
// service.code), so that `{{#mse}}` still tells whether the session has a
// mental status exam. Groups that are there, and the groups a list holds,
// are filled in the same way, and a group with no required field that ends
// up holding nothing but nulls and empty lists (a skeleton's `mse:` left
// blank) becomes null as if it were absent. Any other value is kept as it is.
static void complete_fields(rp_lua *h, const rp_field *fields, size_t nfields, int t, int depth,
                            size_t *budget) {
  lua_State *L = h->L;
  if (depth > 64) return;
  luaL_checkstack(L, 4, "note");
  for (size_t j = 0; j < nfields; j++) {
    const rp_field *f = &fields[j];
    lua_pushstring(L, f->id);
    int type = lua_rawget(L, t);
    int v = lua_gettop(L);
    if (type == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushstring(L, f->id);
      if (f->type == RP_FIELD_LIST)
        lua_newtable(L);  // a table with no map mark: `[]`
      else
        rp_lua_push_null(h);
      lua_rawset(L, t);
      continue;
    }
    if (type == LUA_TTABLE && f->type == RP_FIELD_OBJECT) {
      complete_fields(h, f->fields, f->nfields, v, depth + 1, budget);
      if (!has_content(L, v, 0, budget) && !has_required(f)) {
        lua_pushstring(L, f->id);
        rp_lua_push_null(h);
        lua_rawset(L, t);
      }
    } else if (type == LUA_TTABLE && f->type == RP_FIELD_LIST && f->items &&
               f->items->type == RP_FIELD_OBJECT) {
      lua_Integer n = (lua_Integer)lua_rawlen(L, v);
      for (lua_Integer i = 1; i <= n && *budget; i++, --*budget) {
        if (lua_rawgeti(L, v, i) == LUA_TTABLE)
          complete_fields(h, f->items->fields, f->items->nfields, lua_gettop(L), depth + 1, budget);
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
}

typedef struct complete_args {
  rp_lua *h;
  const rp_schema *schema;
} complete_args;

// [args, note] -> []: completes the note (complete_fields) and marks it
// unsigned until the record says otherwise (rp_note_set_signature). It adds
// to the session's tables, so it runs protected (rp_lua_call_checked).
static int complete_protected(lua_State *L) {
  const complete_args *a = lua_touserdata(L, 1);
  if (!lua_istable(L, 2)) return 0;
  size_t budget = COMPLETE_BUDGET;
  complete_fields(a->h, a->schema->fields, a->schema->nfields, 2, 0, &budget);
  lua_pushliteral(L, "signature");
  rp_lua_push_null(a->h);
  lua_rawset(L, 2);
  return 0;
}

static int compute(rp_plugins *p, const char *note_type, const compute_in *in, rp_doc *out,
                   rp_value *note_out, char **layout, rp_diags *diags) {
  lua_State *L = p->lua->L;
  int top = lua_gettop(L);
  *layout = NULL;
  *note_out = rp_doc_null(out);
  const rp_item *nt_item = find_item(p, RP_ITEM_NOTE_TYPE, note_type);
  if (!nt_item) return RP_ENOTFOUND;
  const char *path = in->path;
  int status = RP_EDATA;
  size_t errors = diags->errors;
  luaL_checkstack(L, 16, "note");
  if (rp_lua_push_note(p->lua, in->typed_doc, in->typed, path, diags) != RP_OK) goto done;
  int note = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, nt_item->ref);
  int nt = lua_gettop(L);
  // The note knows its type, for layouts shared between types.
  lua_createtable(L, 0, 2);
  lua_pushstring(L, nt_item->id);
  lua_setfield(L, -2, "id");
  if (nt_item->title) {
    lua_pushstring(L, nt_item->title);
    lua_setfield(L, -2, "title");
  }
  lua_setfield(L, note, "note_type");
  push_added_fields(L, nt, note);
  // A session whose fields have problems still has its rules, checklist
  // answers and measures checked, so that every problem shows at once; it
  // gets no note, so the handlers and compute do not run for it.
  if (!in->check_only && !run_hooks(p, "session", note, diags)) goto done;
  run_validate(p, nt, note, nt_item, in->src, in->root, path, diags);
  bool measures_ok = run_measures(p, nt, note, in->src, in->root, path, diags);
  bool checklists_ok = run_checklists(p, nt, note, in->src, in->root, path, diags);
  if (in->check_only || diags->errors > errors || !measures_ok || !checklists_ok) goto done;
  if (field(L, nt, "compute") == LUA_TFUNCTION) {
    if (!call1(p, note, nt_item->path, diags)) goto done;
    if (lua_istable(L, -1)) lua_replace(L, note);
    lua_settop(L, nt);
  } else {
    lua_pop(L, 1);
  }
  if (!run_hooks(p, "note", note, diags)) goto done;
  complete_args ca = {p->lua, in->schema};
  lua_pushvalue(L, note);
  if (rp_lua_call_checked(p->lua, complete_protected, &ca, 1, 0, path, diags) != RP_OK) goto done;
  char *err = NULL;
  if (rp_lua_to_doc(p->lua, note, out, note_out, &err) != RP_OK) {
    rp_diags_add(diags, RP_SEV_ERROR, nt_item->path, nt_item->line, 1,
                 "the note computed for %s is not data: %s", path, err);
    free(err);
    goto done;
  }
  if (field(L, nt, "layout") == LUA_TSTRING)
    *layout = rp_xstrndup(lua_tostring(L, -1), lua_rawlen(L, -1));
  else
    *layout = rp_xstrndup(nt_item->id, strlen(nt_item->id));
  status = diags->errors > errors ? RP_EDATA : RP_OK;
done:
  lua_settop(L, top);
  return status;
}

// The note type the session names; NULL after reporting.
static const rp_item *note_type_of(rp_plugins *p, const char *path, rp_doc *in, rp_value root,
                                   rp_diags *diags) {
  rp_value type;
  if (rp_doc_ops.kind(in, root) != RP_KIND_MAP || !rp_doc_ops.get(in, root, "type", 4, &type) ||
      rp_doc_ops.kind(in, type) != RP_KIND_STRING) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 1, 1,
                 "the session has no 'type' line naming its note type (e.g. type: soap)");
    return NULL;
  }
  size_t len;
  const char *tname = rp_doc_ops.str(in, type, &len);
  char *id = rp_xstrndup(tname, len);
  const rp_item *it = find_item(p, RP_ITEM_NOTE_TYPE, id);
  if (!it) {
    int line, col;
    rp_doc_pos(in, type, &line, &col);
    rp_buf known = RP_BUF_INIT;
    for (size_t i = 0, k = 0; i < p->nitems; i++)
      if (p->items[i].kind == RP_ITEM_NOTE_TYPE)
        rp_buf_printf(&known, "%s%s", k++ ? ", " : "", p->items[i].id);
    rp_diags_add(diags, RP_SEV_ERROR, path, line > 0 ? line : 1, col > 0 ? col : 1,
                 "unknown note type '%s' (note types: %s)", id, known.data ? known.data : "none");
    rp_buf_free(&known);
  }
  free(id);
  return it;
}

int rp_plugins_build_note(rp_plugins *p, const char *path, rp_doc *in, rp_value root, rp_doc *out,
                          rp_value *note, char **layout, rp_diags *diags) {
  *layout = NULL;
  *note = rp_doc_null(out);
  const rp_item *it = note_type_of(p, path, in, root, diags);
  if (!it) return RP_EDATA;
  const rp_schema *schema = rp_plugins_note_type(p, it->id, NULL);
  if (!schema) return RP_EDATA;
  char *type = rp_xstrndup(it->id, strlen(it->id));
  rp_doc *typed_doc = rp_doc_new();
  compute_in ci = {.path = path, .src = in, .root = root, .schema = schema, .typed_doc = typed_doc};
  ci.check_only = rp_schema_validate(schema, in, root, path, typed_doc, &ci.typed, diags) != RP_OK;
  int rc = RP_EDATA;
  // A session that is not a group of fields has nothing for the plugins.
  if (rp_doc_ops.kind(typed_doc, ci.typed) == RP_KIND_MAP)
    rc = compute(p, type, &ci, out, note, layout, diags);
  if (ci.check_only) rc = RP_EDATA;
  rp_doc_free(typed_doc);
  free(type);
  return rc;
}

void rp_plugins_note_type_parts(rp_plugins *p, const char *id,
                                void (*fn)(void *ud, rp_item_kind kind, const char *part),
                                void *ud) {
  const rp_item *it = find_item(p, RP_ITEM_NOTE_TYPE, id);
  if (!it) return;
  lua_State *L = p->lua->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, it->ref);
  int nt = lua_gettop(L);
  static const char *const keys[] = {"checklists", "measures"};
  for (int k = 0; k < 2; k++) {
    if (field(L, nt, keys[k]) == LUA_TTABLE) {
      size_t n = lua_rawlen(L, -1);
      for (size_t i = 1; i <= n && i <= 1000; i++) {
        if (lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TSTRING)
          fn(ud, k == 0 ? RP_ITEM_CHECKLIST : RP_ITEM_MEASURE, lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    }
    lua_settop(L, nt);
  }
  lua_settop(L, top);
}
