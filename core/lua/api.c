// The `rapport` table: plugin API v1.
//
//   rapport.api == 1
//   rapport.note_type{...}  rapport.checklist{...}  rapport.measure{...}
//   rapport.filter(name, fn)  rapport.lambda(name, fn)  rapport.on(event, fn)
//   rapport.test(name, fn)
//
// Option tables are strict: every key must be known and of the right type,
// checked with raw access (no metamethod of a plugin's table runs here), and
// a mistake is an error at the plugin's line naming the function and the key,
// so a typo never silently does nothing. Registration is refused outside the
// loading of a plugin. docs/plugins.md documents every option, and
// plugins/meta/rapport.lua gives editors the same as annotations.
#include <lauxlib.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"
#include "schema/schema.h"

enum {
  T_STRING = 1 << 0,
  T_NUMBER = 1 << 1,
  T_BOOLEAN = 1 << 2,
  T_TABLE = 1 << 3,
  T_FUNCTION = 1 << 4,
  T_INTEGER = 1 << 5,  // a number with an integer value
  T_LIST = 1 << 6,     // a sequence 1..n and nothing else
};

typedef struct optset optset;

typedef struct opt {
  const char *key;
  unsigned types;
  bool required;
  unsigned each;             // T_LIST: the type of each element
  const optset *sub;         // T_TABLE (or each table of a list): its own options
  const char *const *oneof;  // T_STRING: the allowed values
} opt;

struct optset {
  const opt *opts;
};

static const char *const field_types[] = {"text",    "string", "integer",  "number",
                                          "boolean", "date",   "datetime", "enum",
                                          "rating",  "list",   "object",   NULL};
static const char *const item_types[] = {"rating", "flag", "text", NULL};
static const char *const events[] = {"loaded", "session", "note", NULL};

static const opt field_opts[];
static const optset field_set = {field_opts};
static const opt list_item_opts[];
static const optset list_item_set = {list_item_opts};

#define FIELD_COMMON                                                                               \
  {"type", T_STRING, true, 0, NULL, field_types}, {"label", T_STRING, false, 0, NULL, NULL},       \
      {"description", T_STRING, false, 0, NULL, NULL},                                             \
      {"required", T_BOOLEAN, false, 0, NULL, NULL},                                               \
      {"default", T_STRING | T_NUMBER | T_BOOLEAN | T_TABLE, false, 0, NULL, NULL},                \
      {"values", T_LIST, false, T_STRING, NULL, NULL}, {"min", T_NUMBER, false, 0, NULL, NULL},    \
      {"max", T_NUMBER, false, 0, NULL, NULL}, {"items", T_TABLE, false, 0, &list_item_set, NULL}, \
      {"fields", T_LIST, false, T_TABLE, &field_set, NULL},                                        \
      {"example", T_STRING | T_NUMBER | T_BOOLEAN, false, 0, NULL, NULL},

static const opt field_opts[] = {
    {"id", T_STRING, true, 0, NULL, NULL},
    FIELD_COMMON{NULL, 0, false, 0, NULL, NULL},
};

// The element of a list field: a field without an id.
static const opt list_item_opts[] = {
    FIELD_COMMON{NULL, 0, false, 0, NULL, NULL},
};

static const opt note_type_opts[] = {
    {"id", T_STRING, true, 0, NULL, NULL},
    {"title", T_STRING, false, 0, NULL, NULL},
    {"description", T_STRING, false, 0, NULL, NULL},
    // Required unless the note type extends another (register_table).
    {"fields", T_LIST, false, T_TABLE, &field_set, NULL},
    {"checklists", T_LIST, false, T_STRING, NULL, NULL},
    {"measures", T_LIST, false, T_STRING, NULL, NULL},
    {"layout", T_STRING, false, 0, NULL, NULL},
    {"compute", T_FUNCTION, false, 0, NULL, NULL},
    {"validate", T_FUNCTION, false, 0, NULL, NULL},
    {"extends", T_STRING, false, 0, NULL, NULL},
    {NULL, 0, false, 0, NULL, NULL},
};

static const opt checklist_item_opts[] = {
    {"id", T_STRING, true, 0, NULL, NULL},           {"label", T_STRING, false, 0, NULL, NULL},
    {"description", T_STRING, false, 0, NULL, NULL}, {"type", T_STRING, false, 0, NULL, item_types},
    {"min", T_NUMBER, false, 0, NULL, NULL},         {"max", T_NUMBER, false, 0, NULL, NULL},
    {"note", T_BOOLEAN, false, 0, NULL, NULL},       {"suggest", T_STRING, false, 0, NULL, NULL},
    {"group", T_STRING, false, 0, NULL, NULL},       {NULL, 0, false, 0, NULL, NULL},
};
static const optset checklist_item_set = {checklist_item_opts};

static const opt checklist_opts[] = {
    {"id", T_STRING, true, 0, NULL, NULL},
    {"title", T_STRING, false, 0, NULL, NULL},
    {"description", T_STRING, false, 0, NULL, NULL},
    {"items", T_LIST, true, T_TABLE, &checklist_item_set, NULL},
    {"summarize", T_FUNCTION, false, 0, NULL, NULL},
    {NULL, 0, false, 0, NULL, NULL},
};

static const opt cutoff_opts[] = {
    {"below", T_NUMBER, false, 0, NULL, NULL},
    {"at_least", T_NUMBER, false, 0, NULL, NULL},
    {"flag", T_STRING, false, 0, NULL, NULL},
    {"label", T_STRING, false, 0, NULL, NULL},
    {"subscale", T_STRING, false, 0, NULL, NULL},
    {"item", T_INTEGER, false, 0, NULL, NULL},
    {"risk", T_BOOLEAN, false, 0, NULL, NULL},
    {"source", T_STRING, false, 0, NULL, NULL},
    {NULL, 0, false, 0, NULL, NULL},
};
static const optset cutoff_set = {cutoff_opts};

static const opt band_opts[] = {
    {"min", T_NUMBER, true, 0, NULL, NULL},
    {"max", T_NUMBER, true, 0, NULL, NULL},
    {"label", T_STRING, true, 0, NULL, NULL},
    {NULL, 0, false, 0, NULL, NULL},
};
static const optset band_set = {band_opts};

static const opt measure_opts[] = {
    {"id", T_STRING, true, 0, NULL, NULL},
    {"title", T_STRING, false, 0, NULL, NULL},
    {"description", T_STRING, false, 0, NULL, NULL},
    {"items", T_INTEGER, true, 0, NULL, NULL},
    {"min", T_NUMBER, true, 0, NULL, NULL},
    {"max", T_NUMBER, true, 0, NULL, NULL},
    {"subscales", T_TABLE, false, 0, NULL, NULL},
    {"cutoffs", T_LIST, false, T_TABLE, &cutoff_set, NULL},
    {"bands", T_LIST, false, T_TABLE, &band_set, NULL},
    {"precision", T_INTEGER, false, 0, NULL, NULL},
    {"rci", T_NUMBER, false, 0, NULL, NULL},
    {"sources", T_LIST, false, T_STRING, NULL, NULL},
    {"item_labels", T_LIST, false, T_STRING, NULL, NULL},
    {"score", T_FUNCTION, false, 0, NULL, NULL},
    {NULL, 0, false, 0, NULL, NULL},
};

static const optset note_type_set = {note_type_opts};
static const optset checklist_set = {checklist_opts};
static const optset measure_set = {measure_opts};

// --- checking option tables -------------------------------------------------------

static const char *type_words(unsigned types) {
  if (types & T_LIST) return "a list";
  if (types == T_STRING) return "text";
  if (types == T_NUMBER) return "a number";
  if (types == T_INTEGER) return "a whole number";
  if (types == T_BOOLEAN) return "true or false";
  if (types == T_TABLE) return "a table";
  if (types == T_FUNCTION) return "a function";
  return "text, a number, true/false or a table";
}

static bool has_type(lua_State *L, int idx, unsigned types) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
      return types & T_STRING;
    case LUA_TNUMBER:
      if (types & T_NUMBER) return true;
      if (types & T_INTEGER) {
        if (lua_isinteger(L, idx)) return true;
        lua_Number n = lua_tonumber(L, idx);
        return n == (lua_Number)(lua_Integer)n;
      }
      return false;
    case LUA_TBOOLEAN:
      return types & T_BOOLEAN;
    case LUA_TTABLE:
      return types & (T_TABLE | T_LIST);
    case LUA_TFUNCTION:
      return types & T_FUNCTION;
    default:
      return false;
  }
}

// Where an option sits, as a chain from the option table down. It becomes
// text ("fields[2] ('risk').values[1]") only for a message: validation runs
// every time a plugin's chunk runs, once per session, so it must not format
// paths it will almost never print.
typedef enum { W_ROOT, W_KEY, W_INDEX, W_FIELD } where_kind;
typedef struct where {
  const struct where *up;
  where_kind kind;
  const char *key;    // W_ROOT: the text; W_KEY: the key; W_FIELD: the field's id
  lua_Integer index;  // W_INDEX, W_FIELD
} where;

static void where_add(const where *w, rp_buf *b) {
  if (!w) return;
  where_add(w->up, b);
  bool sep = b->len > 0;
  switch (w->kind) {
    case W_ROOT:
      rp_buf_adds(b, w->key);
      break;
    case W_KEY:
      rp_buf_printf(b, "%s%s", sep ? "." : "", w->key);
      break;
    case W_INDEX:
      rp_buf_printf(b, "[%lld]", (long long)w->index);
      break;
    case W_FIELD:
      rp_buf_printf(b, "%sfields[%lld] ('%s')", sep ? "." : "", (long long)w->index,
                    w->key ? w->key : "?");
      break;
  }
}

// Pushes the text of `w` onto the Lua stack (where it lives until the error
// unwinds) and returns it.
static const char *where_text(lua_State *L, const where *w) {
  rp_buf b = RP_BUF_INIT;
  where_add(w, &b);
  lua_pushlstring(L, b.data ? b.data : "", b.len);
  rp_buf_free(&b);
  return lua_tostring(L, -1);
}

static void check_table(lua_State *L, int idx, const char *fn, const where *at, const optset *set,
                        int depth);

// Checks the list at idx: keys 1..n only, each element of type `each`.
static void check_list(lua_State *L, int idx, const char *fn, const where *at, unsigned each,
                       const optset *sub, int depth) {
  idx = lua_absindex(L, idx);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  rp_sandbox_charge(L, 1 + n);  // see OPTION_COST
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    count++;
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n) {
      luaL_error(L, "%s: %s must be a list (a table with keys 1..n only)", fn, where_text(L, at));
    }
    lua_pop(L, 1);
  }
  if (count != n) luaL_error(L, "%s: %s must be a list without holes", fn, where_text(L, at));
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    where item = {at, W_INDEX, NULL, i};
    if (!has_type(L, -1, each)) {
      const char *got = luaL_typename(L, -1);
      luaL_error(L, "%s: %s must be %s, not %s", fn, where_text(L, &item), type_words(each), got);
    }
    if (sub) check_table(L, -1, fn, &item, sub, depth + 1);
    lua_pop(L, 1);
  }
}

// What checking one option costs the calling plugin's budget: a walk in C
// of the tables it passes is work its instruction count never sees, and a
// table shared many times over at every level (a list holding the same
// table eight times, at each of twelve levels) would make that walk as
// long as the plugin likes. Charged, it ends in the budget's error at the
// plugin's line like any other endless work.
enum { OPTION_COST = 8 };

static void check_table(lua_State *L, int idx, const char *fn, const where *at, const optset *set,
                        int depth) {
  if (depth > 16) luaL_error(L, "%s: %s is nested too deeply", fn, where_text(L, at));
  idx = lua_absindex(L, idx);
  rp_sandbox_charge(L, OPTION_COST);
  luaL_checkstack(L, 8, "option table nested too deeply");
  // The options met on the walk, by their place in set->opts: the required
  // ones are then known without looking each up again.
  uint64_t met = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      const char *got = luaL_typename(L, -2);
      luaL_error(L, "%s: %s has a key that is not a name (%s)", fn, where_text(L, at), got);
    }
    const char *key = lua_tostring(L, -2);
    const opt *o = set->opts;
    while (o->key && (o->key[0] != key[0] || strcmp(o->key, key) != 0))
      o++;
    if (!o->key) {
      // List what is allowed: the fix is usually a typo away.
      const char *w = where_text(L, at);
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (const opt *k = set->opts; k->key; k++) {
        if (k != set->opts) luaL_addstring(&b, ", ");
        luaL_addstring(&b, k->key);
      }
      luaL_pushresult(&b);
      luaL_error(L, "%s: unknown option '%s' in %s (options are: %s)", fn, key, w,
                 lua_tostring(L, -1));
    }
    // The option table's own keys are named alone ("fields", not "the
    // options.fields").
    where sub = {depth ? at : NULL, W_KEY, key, 0};
    if (!has_type(L, -1, o->types)) {
      const char *got = luaL_typename(L, -1);
      luaL_error(L, "%s: option '%s' must be %s, not %s", fn, where_text(L, &sub),
                 type_words(o->types), got);
    }
    if (o->oneof) {
      const char *v = lua_tostring(L, -1);
      const char *const *ok = o->oneof;
      while (*ok && strcmp(*ok, v) != 0)
        ok++;
      if (!*ok) {
        const char *w = where_text(L, &sub);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *const *k = o->oneof; *k; k++) {
          if (k != o->oneof) luaL_addstring(&b, ", ");
          luaL_addstring(&b, *k);
        }
        luaL_pushresult(&b);
        luaL_error(L, "%s: option '%s' must be one of %s (got '%s')", fn, w, lua_tostring(L, -1),
                   v);
      }
    }
    if (o->types & T_LIST) {
      check_list(L, -1, fn, &sub, o->each, o->sub, depth);
    } else if (o->sub && lua_istable(L, -1)) {
      check_table(L, -1, fn, &sub, o->sub, depth + 1);
    }
    size_t at_opt = (size_t)(o - set->opts);
    if (at_opt < 64) met |= (uint64_t)1 << at_opt;
    lua_pop(L, 1);
  }
  for (const opt *o = set->opts; o->key; o++) {
    if (!o->required) continue;
    size_t at_opt = (size_t)(o - set->opts);
    if (at_opt < 64) {
      if (met & ((uint64_t)1 << at_opt)) continue;
    } else {
      lua_pushstring(L, o->key);
      bool absent = lua_rawget(L, idx) == LUA_TNIL;
      lua_pop(L, 1);
      if (!absent) continue;
    }
    luaL_error(L, "%s: option '%s' is required%s%s", fn, o->key, depth ? " in " : "",
               depth ? where_text(L, at) : "");
  }
}

// --- registration -----------------------------------------------------------------

static rp_plugins *plugins_of(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

static void require_loading(lua_State *L, rp_plugins *p, const char *fn) {
  if (p->loading < 0)
    luaL_error(L, "%s can only be called while a plugin loads (at the top level of its file)", fn);
}

static bool valid_id(const char *s, bool allow_upper) {
  if (!s[0] || strlen(s) > 64) return false;
  for (const char *c = s; *c; c++) {
    bool ok = (*c >= 'a' && *c <= 'z') || *c == '_' || (c != s && *c >= '0' && *c <= '9') ||
              (allow_upper && *c >= 'A' && *c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

// Where the calling plugin code is: its file and line.
static void caller_pos(lua_State *L, char *path, size_t pathlen, int *line) {
  lua_Debug ar;
  *line = 0;
  snprintf(path, pathlen, "?");
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
    snprintf(path, pathlen, "%s", ar.source[0] == '@' ? ar.source + 1 : ar.short_src);
    *line = ar.currentline > 0 ? ar.currentline : 0;
  }
}

static void do_register(lua_State *L, rp_plugins *p, rp_item_kind kind, const char *fn,
                        const char *id, const char *title, int value_idx) {
  char path[512];
  int line;
  caller_pos(L, path, sizeof path, &line);
  lua_pushvalue(L, value_idx);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rp_buf err = RP_BUF_INIT;
  // The registry releases references through the host's thread: this one
  // (a plugin may register from inside a coroutine).
  lua_State *prev = rp_lua_enter(p->lua, L);
  bool registered = rp_plugins_register(p, kind, id, title, path, line, ref, &err);
  rp_lua_leave(p->lua, prev);
  if (!registered) {
    luaL_where(L, 1);
    lua_pushfstring(L, "%s: %s", fn, err.data);
    lua_concat(L, 2);
    rp_buf_free(&err);
    lua_error(L);
  }
  rp_buf_free(&err);
}

static const char *raw_string(lua_State *L, int t, const char *key) {
  lua_pushstring(L, key);
  lua_rawget(L, t);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);  // the string stays alive: the table holds it
  return s;
}

static void check_fields(lua_State *L, int t, const char *fn, const where *at, int depth);

// Checks what the option structure cannot: the per-type requirements of the
// field table at f, called `w` in messages, and of the fields and list items
// inside it.
static void check_field_rules(lua_State *L, int f, const char *fn, const where *w, int depth) {
  f = lua_absindex(L, f);
  const char *type = raw_string(L, f, "type");
  if (!type) return;
  if (strcmp(type, "enum") == 0) {
    lua_pushstring(L, "values");
    if (lua_rawget(L, f) != LUA_TTABLE || lua_rawlen(L, -1) == 0)
      luaL_error(L, "%s: %s is an enum and needs 'values'", fn, where_text(L, w));
    lua_pop(L, 1);
  }
  if (strcmp(type, "rating") == 0) {
    lua_pushstring(L, "min");
    int tmin = lua_rawget(L, f);
    lua_pushstring(L, "max");
    int tmax = lua_rawget(L, f);
    if (tmin != LUA_TNUMBER || tmax != LUA_TNUMBER || lua_tonumber(L, -2) > lua_tonumber(L, -1))
      luaL_error(L, "%s: %s is a rating and needs 'min' and 'max' (min <= max)", fn,
                 where_text(L, w));
    lua_pop(L, 2);
  }
  if (strcmp(type, "list") == 0) {
    lua_pushstring(L, "items");
    if (lua_rawget(L, f) != LUA_TTABLE)
      luaL_error(L, "%s: %s is a list and needs 'items'", fn, where_text(L, w));
    where items = {w, W_KEY, "items", 0};
    if (depth < 8) check_field_rules(L, -1, fn, &items, depth + 1);
    lua_pop(L, 1);
  }
  if (strcmp(type, "object") == 0) {
    lua_pushstring(L, "fields");
    if (lua_rawget(L, f) != LUA_TTABLE)
      luaL_error(L, "%s: %s is an object and needs 'fields'", fn, where_text(L, w));
    lua_pop(L, 1);
    if (depth < 8) check_fields(L, f, fn, w, depth + 1);
  }
}

// The note pipeline (core/lua/notes.c) puts these into every note, over a
// session value of the same name: a field there would be silently lost.
static const char *const reserved_fields[] = {"scores",         "score_list", "checklists",
                                              "checklist_list", "risk_flags", "note_type",
                                              "signature",      NULL};

// Refuses a top-level field whose id, or the first component of its dotted
// id ("scores.total"), is a reserved name.
static void check_reserved(lua_State *L, const char *id, const char *fn, const where *w) {
  size_t len = strcspn(id, ".");
  for (const char *const *r = reserved_fields; *r; r++) {
    if (strlen(*r) == len && strncmp(*r, id, len) == 0)
      luaL_error(L,
                 "%s: %s uses the reserved name '%s' (Rapport fills in scores, checklists, "
                 "note_type and signature for every note); give the field another id",
                 fn, where_text(L, w), *r);
  }
}

// Records that entry i of a list (`list`: "fields", "items") has `id`, or
// raises "WHAT 'ID' is defined twice" naming the entry that had it first.
// `seen` is the table of the ids met so far (id -> index), keyed by the
// id's text up to a NUL, as the C side reads it: "a\0x" and "a\0y" are
// both 'a' there.
static void note_unique(lua_State *L, int seen, const char *id, lua_Integer i, const char *fn,
                        const char *what, const char *list) {
  lua_pushstring(L, id);
  if (lua_rawget(L, seen) != LUA_TNIL)
    luaL_error(L, "%s: %s '%s' is defined twice (%s[%I] and %s[%I])", fn, what, id, list,
               lua_tointeger(L, -1), list, i);
  lua_pop(L, 1);
  lua_pushstring(L, id);
  lua_pushinteger(L, i);
  lua_rawset(L, seen);
}

// Checks each field of the `fields` list of the table at t, and that their
// ids are unique within the list. The ids seen so far are kept in a table
// (id -> the index of its first field), so that a long list costs one
// lookup per field rather than a comparison with every field before it.
static void check_fields(lua_State *L, int t, const char *fn, const where *at, int depth) {
  lua_pushstring(L, "fields");
  lua_rawget(L, t);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  int fields = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, fields);
  luaL_checkstack(L, 8, "fields nested too deeply");
  lua_createtable(L, 0, n < 4096 ? (int)n : 4096);
  int seen = fields + 1;  // [fields, seen]
  for (lua_Integer i = 1; i <= n; i++) {
    rp_sandbox_charge(L, OPTION_COST);
    lua_rawgeti(L, fields, i);
    int f = lua_gettop(L);
    lua_pushstring(L, "id");
    bool has_id = lua_rawget(L, f) == LUA_TSTRING;  // [fields, seen, field, id]
    // The field table holds the id, which keeps the string alive.
    const char *id = has_id ? lua_tostring(L, -1) : NULL;
    where w = {at, W_FIELD, id, i};
    if (!at && id) check_reserved(L, id, fn, &w);
    check_field_rules(L, f, fn, &w, depth);
    if (id) note_unique(L, seen, id, i, fn, "field", "fields");
    lua_settop(L, seen);
  }
  lua_settop(L, fields - 1);
}

// Checklist items: unique ids (found as check_fields finds them); a rating
// (the default type) needs min <= max.
static void check_checklist_items(lua_State *L, int t, const char *fn) {
  lua_pushstring(L, "items");
  lua_rawget(L, t);
  int items = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, items);
  luaL_checkstack(L, 8, "too many checklist items");
  lua_createtable(L, 0, n < 4096 ? (int)n : 4096);
  int seen = items + 1;  // [items, seen]
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, items, i);
    int it = lua_gettop(L);
    lua_pushstring(L, "id");
    lua_rawget(L, it);  // [items, seen, item, id]: required, and text (check_table)
    const char *id = lua_tostring(L, -1);
    const char *type = raw_string(L, it, "type");
    if (!type || strcmp(type, "rating") == 0) {
      lua_pushstring(L, "min");
      int tmin = lua_rawget(L, it);
      lua_pushstring(L, "max");
      int tmax = lua_rawget(L, it);
      if (tmin != LUA_TNUMBER || tmax != LUA_TNUMBER || lua_tonumber(L, -2) > lua_tonumber(L, -1))
        luaL_error(L, "%s: item '%s' is rated and needs 'min' and 'max' (min <= max)", fn, id);
      lua_pop(L, 2);
    }
    note_unique(L, seen, id, i, fn, "item", "items");
    lua_settop(L, seen);
  }
  lua_settop(L, items - 1);
}

static void check_measure(lua_State *L, int t, const char *fn) {
  lua_pushstring(L, "items");
  lua_rawget(L, t);
  lua_Integer items = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (items < 1 || items > 1000) luaL_error(L, "%s: 'items' must be from 1 to 1000", fn);
  double min = 0, max = 0;
  lua_pushstring(L, "min");
  lua_rawget(L, t);
  min = lua_tonumber(L, -1);
  lua_pushstring(L, "max");
  lua_rawget(L, t);
  max = lua_tonumber(L, -1);
  lua_pop(L, 2);
  if (min > max) luaL_error(L, "%s: 'min' must not be above 'max'", fn);
  lua_pushstring(L, "precision");
  if (lua_rawget(L, t) == LUA_TNUMBER && (lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 6))
    luaL_error(L, "%s: 'precision' is a number of decimals from 0 to 6", fn);
  lua_pop(L, 1);
  lua_pushstring(L, "item_labels");
  if (lua_rawget(L, t) == LUA_TTABLE && (lua_Integer)lua_rawlen(L, -1) != items)
    luaL_error(L, "%s: 'item_labels' must have one label for each of the %I items", fn, items);
  lua_pop(L, 1);
  // A cutoff looks at the total, one subscale or one item, and needs a bound.
  lua_pushstring(L, "cutoffs");
  if (lua_rawget(L, t) == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      int c = lua_gettop(L);
      lua_pushstring(L, "below");
      int below = lua_rawget(L, c);
      lua_pushstring(L, "at_least");
      int at_least = lua_rawget(L, c);
      if (below == LUA_TNIL && at_least == LUA_TNIL)
        luaL_error(L, "%s: cutoffs[%I] needs 'below' or 'at_least'", fn, i);
      lua_pushstring(L, "item");
      if (lua_rawget(L, c) == LUA_TNUMBER &&
          (lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > items))
        luaL_error(L, "%s: cutoffs[%I].item must be an item number from 1 to %I", fn, i, items);
      lua_pushstring(L, "subscale");
      if (lua_rawget(L, c) == LUA_TSTRING) {
        lua_pushstring(L, "subscales");
        bool known = lua_rawget(L, t) == LUA_TTABLE;
        if (known) {
          lua_pushvalue(L, -2);
          known = lua_rawget(L, -2) != LUA_TNIL;
          lua_pop(L, 1);
        }
        if (!known)
          luaL_error(L, "%s: cutoffs[%I].subscale '%s' is not one of the measure's subscales", fn,
                     i, lua_tostring(L, -2));
        lua_pop(L, 1);
      }
      lua_settop(L, c - 1);
    }
  }
  lua_pop(L, 1);
  // Subscales: name -> list of item numbers within 1..items.
  lua_pushstring(L, "subscales");
  if (lua_rawget(L, t) == LUA_TTABLE) {
    int sub = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, sub)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "%s: 'subscales' maps names to lists of item numbers", fn);
      lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
      for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_Integer k = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
        if (k < 1 || k > items)
          luaL_error(L, "%s: subscale '%s' lists an item that is not from 1 to %I", fn,
                     lua_tostring(L, -3), items);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

// --- extends -------------------------------------------------------------------------

// The base's function and the extension's, called in turn (upvalues 1 and
// 2). validate: the problems of both, the base's first. compute: the base's
// note (or the one it returns) handed to the extension's.
static int chained_validate(lua_State *L) {
  lua_settop(L, 1);
  lua_newtable(L);  // [note, problems]
  lua_Integer n = 0;
  for (int k = 1; k <= 2; k++) {
    lua_pushvalue(L, lua_upvalueindex(k));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1)) {
      lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
      for (lua_Integer i = 1; i <= m; i++) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, 2, ++n);
      }
    } else if (!lua_isnil(L, -1)) {
      return 1;  // not a list: what it is, for the host's message
    }
    lua_pop(L, 1);
  }
  return 1;
}

static int chained_compute(lua_State *L) {
  lua_settop(L, 1);
  for (int k = 1; k <= 2; k++) {
    lua_pushvalue(L, lua_upvalueindex(k));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1))
      lua_replace(L, 1);
    else
      lua_pop(L, 1);
  }
  return 1;
}

// Sets key of the table at m to the base's value (at b) and the extension's
// (at t) combined: the extension's alone when the base has none, and the
// chain of both when both are functions.
static void merge_function(lua_State *L, int m, int b, int t, const char *key,
                           lua_CFunction chain) {
  lua_pushstring(L, key);
  int tb = lua_rawget(L, b);
  lua_pushstring(L, key);
  int tt = lua_rawget(L, t);  // [base fn, own fn]
  if (tb == LUA_TFUNCTION && tt == LUA_TFUNCTION)
    lua_pushcclosure(L, chain, 2);
  else if (tt == LUA_TFUNCTION)
    lua_remove(L, -2);
  else
    lua_pop(L, 1);
  lua_setfield(L, m, key);
}

// Appends to the list at `to` the elements of the list key of the table at
// `from` (`unique`: only names `to` does not hold yet).
static void append_list(lua_State *L, int to, int from, const char *key, bool unique) {
  lua_pushstring(L, key);
  if (lua_rawget(L, from) == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      bool seen = false;
      lua_Integer m = (lua_Integer)lua_rawlen(L, to);
      for (lua_Integer j = 1; unique && j <= m && !seen; j++) {
        lua_rawgeti(L, to, j);
        seen = lua_rawequal(L, -1, -2);
        lua_pop(L, 1);
      }
      if (seen)
        lua_pop(L, 1);
      else
        lua_rawseti(L, to, m + 1);
    }
  }
  lua_pop(L, 1);
}

// For rapport.note_type{ extends = "soap", ... } (options at t): pushes the
// note type it registers, the base note type as it is registered now with
// the extension's fields after the base's, its checklists and measures
// added to the base's, its validate and compute run after the base's, and
// its id, title, description and layout in place of the base's (the base's
// layout when it names none). `added` keeps the extension's own fields, which
// the base's layout does not know: the host lists them in the note
// (note_type.added_fields) so that nothing typed is left out.
static void push_extended(lua_State *L, rp_plugins *p, int t, const char *fn, const char *base) {
  const rp_item *b = NULL;
  for (size_t i = 0; i < p->nitems; i++)
    if (p->items[i].kind == RP_ITEM_NOTE_TYPE && strcmp(p->items[i].id, base) == 0)
      b = &p->items[i];
  if (!b)
    luaL_error(L,
               "%s: extends '%s', which is not a note type registered before this one (the "
               "built-in ones and those of plugins loaded earlier can be extended)",
               fn, base);
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  int bt = lua_gettop(L);
  lua_newtable(L);
  int m = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, bt)) {  // a shallow copy of the base
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, m);
  }
  static const char *const own[] = {"id", "title", "description", "layout", "extends", NULL};
  for (const char *const *k = own; *k; k++) {
    lua_pushstring(L, *k);
    if (lua_rawget(L, t) != LUA_TNIL || strcmp(*k, "layout") == 0)
      lua_setfield(L, m, *k);
    else
      lua_pop(L, 1);
  }
  // The base's layout, or its id when it names none.
  if (lua_getfield(L, m, "layout") == LUA_TNIL) {
    lua_pushstring(L, "layout");
    if (lua_rawget(L, bt) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushstring(L, b->id);
    }
    lua_setfield(L, m, "layout");
  }
  lua_pop(L, 1);
  static const char *const lists[] = {"fields", "checklists", "measures"};
  for (int k = 0; k < 3; k++) {
    lua_newtable(L);
    int l = lua_gettop(L);
    append_list(L, l, bt, lists[k], k > 0);
    append_list(L, l, t, lists[k], k > 0);
    lua_setfield(L, m, lists[k]);
  }
  lua_newtable(L);
  append_list(L, lua_gettop(L), bt, "added", false);
  append_list(L, lua_gettop(L), t, "fields", false);
  lua_setfield(L, m, "added");
  merge_function(L, m, bt, t, "validate", chained_validate);
  merge_function(L, m, bt, t, "compute", chained_compute);
  lua_remove(L, bt);
}

static int register_table(lua_State *L, rp_item_kind kind, const char *fn, const optset *set) {
  rp_plugins *p = plugins_of(L);
  require_loading(L, p, fn);
  if (lua_gettop(L) != 1 || !lua_istable(L, 1))
    luaL_error(L, "%s takes one table of options: %s{ id = \"...\", ... }", fn, fn);
  where options = {NULL, W_ROOT, "the options", 0};
  check_table(L, 1, fn, &options, set, 0);
  const char *id = raw_string(L, 1, "id");
  if (!valid_id(id, false))
    luaL_error(L,
               "%s: id '%s' must be 1 to 64 lowercase letters, digits and '_', starting "
               "with a letter",
               fn, id);
  int table = 1;
  if (kind == RP_ITEM_NOTE_TYPE) {
    const char *base = raw_string(L, 1, "extends");
    if (base) {
      push_extended(L, p, 1, fn, base);
      table = lua_gettop(L);
    } else {
      lua_pushstring(L, "fields");
      if (lua_rawget(L, 1) == LUA_TNIL) luaL_error(L, "%s: option 'fields' is required", fn);
      lua_pop(L, 1);
    }
    // The extension's fields with the base's: an id in both is an error.
    check_fields(L, table, fn, NULL, 0);
  }
  if (kind == RP_ITEM_CHECKLIST) check_checklist_items(L, 1, fn);
  if (kind == RP_ITEM_MEASURE) check_measure(L, 1, fn);
  do_register(L, p, kind, fn, id, raw_string(L, table, "title"), table);
  return 0;
}

static int api_note_type(lua_State *L) {
  return register_table(L, RP_ITEM_NOTE_TYPE, "rapport.note_type", &note_type_set);
}

static int api_checklist(lua_State *L) {
  return register_table(L, RP_ITEM_CHECKLIST, "rapport.checklist", &checklist_set);
}

static int api_measure(lua_State *L) {
  return register_table(L, RP_ITEM_MEASURE, "rapport.measure", &measure_set);
}

// name, fn pairs: filter, lambda, test, on.
static int register_function(lua_State *L, rp_item_kind kind, const char *fn) {
  rp_plugins *p = plugins_of(L);
  require_loading(L, p, fn);
  if (lua_gettop(L) != 2) luaL_error(L, "%s takes two arguments: a name and a function", fn);
  if (lua_type(L, 1) != LUA_TSTRING)
    luaL_error(L, "%s: the name must be text, not %s", fn, luaL_typename(L, 1));
  if (lua_type(L, 2) != LUA_TFUNCTION)
    luaL_error(L, "%s: the second argument must be a function, not %s", fn, luaL_typename(L, 2));
  const char *name = lua_tostring(L, 1);
  if (kind == RP_ITEM_FILTER || kind == RP_ITEM_LAMBDA) {
    if (!valid_id(name, true))
      luaL_error(L, "%s: name '%s' must be 1 to 64 letters, digits and '_', starting with a letter",
                 fn, name);
  } else if (kind == RP_ITEM_HOOK) {
    const char *const *e = events;
    while (*e && strcmp(*e, name) != 0)
      e++;
    if (!*e) luaL_error(L, "%s: unknown event '%s' (events are: loaded, session, note)", fn, name);
  } else if (!name[0] || strlen(name) > 200) {
    luaL_error(L, "%s: the name must be 1 to 200 characters", fn);
  }
  do_register(L, p, kind, fn, name, NULL, 2);
  return 0;
}

static int api_filter(lua_State *L) {
  return register_function(L, RP_ITEM_FILTER, "rapport.filter");
}

static int api_lambda(lua_State *L) {
  return register_function(L, RP_ITEM_LAMBDA, "rapport.lambda");
}

static int api_on(lua_State *L) {
  return register_function(L, RP_ITEM_HOOK, "rapport.on");
}

static int api_test(lua_State *L) {
  return register_function(L, RP_ITEM_TEST, "rapport.test");
}

// rapport.map([t]): t (or a new table) marked as a map, so that it is `{}`
// and not `[]` in a note's JSON when it is empty. Allowed at any time.
static int api_map(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    if (lua_getmetatable(L, 1)) {
      lua_pop(L, 1);
      if (!rp_lua_is_map(L, 1))
        return luaL_error(L, "rapport.map: the table has a metatable of its own");
    }
  }
  rp_lua_mark_map(L, 1);
  return 1;
}

void rp_api_push(rp_plugins *p) {
  lua_State *L = p->lua->L;
  static const luaL_Reg fns[] = {
      {"note_type", api_note_type},
      {"checklist", api_checklist},
      {"measure", api_measure},
      {"filter", api_filter},
      {"lambda", api_lambda},
      {"on", api_on},
      {"test", api_test},
      {"map", api_map},
      {NULL, NULL},
  };
  lua_createtable(L, 0, 10);
  lua_pushlightuserdata(L, p);
  luaL_setfuncs(L, fns, 1);
  lua_pushinteger(L, 1);
  lua_setfield(L, -2, "api");
  lua_pushliteral(L, RP_VERSION);
  lua_setfield(L, -2, "version");
}

// --- test helpers -------------------------------------------------------------------

// A short, address-free description of a value for assertion messages.
static void describe(lua_State *L, int idx, rp_buf *b, int depth) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      rp_buf_printf(b, "\"%.*s%s\"", (int)(len > 200 ? 200 : len), s, len > 200 ? "..." : "");
      return;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx))
        rp_buf_printf(b, "%lld", (long long)lua_tointeger(L, idx));
      else
        rp_buf_printf(b, "%.17g", (double)lua_tonumber(L, idx));
      return;
    case LUA_TBOOLEAN:
      rp_buf_adds(b, lua_toboolean(L, idx) ? "true" : "false");
      return;
    case LUA_TNIL:
      rp_buf_adds(b, "nil");
      return;
    case LUA_TTABLE: {
      if (depth > 2) {
        rp_buf_adds(b, "{...}");
        return;
      }
      luaL_checkstack(L, 4, "tables nested too deeply");
      rp_buf_addc(b, '{');
      int n = 0;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (n++ == 8) {
          rp_buf_adds(b, ", ...");
          lua_pop(L, 2);
          break;
        }
        if (n > 1) rp_buf_adds(b, ", ");
        if (lua_type(L, -2) == LUA_TSTRING) {
          rp_buf_printf(b, "%s=", lua_tostring(L, -2));
        } else if (lua_isinteger(L, -2)) {
          rp_buf_printf(b, "[%lld]=", (long long)lua_tointeger(L, -2));
        }
        describe(L, -1, b, depth + 1);
        lua_pop(L, 1);
      }
      rp_buf_addc(b, '}');
      return;
    }
    default:
      rp_buf_adds(b, luaL_typename(L, idx));
      return;
  }
}

static bool deep_equal(lua_State *L, int a, int b, int depth) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_type(L, a) != lua_type(L, b)) return false;
  if (lua_type(L, a) != LUA_TTABLE) return lua_rawequal(L, a, b);
  if (lua_rawequal(L, a, b)) return true;
  if (depth > 64) return false;
  luaL_checkstack(L, 6, "tables nested too deeply");
  // Every key of a is in b with an equal value, and b has no other keys.
  lua_pushnil(L);
  while (lua_next(L, a)) {
    lua_pushvalue(L, -2);
    lua_rawget(L, b);
    bool eq = deep_equal(L, -2, -1, depth + 1);
    lua_pop(L, 2);
    if (!eq) {
      lua_pop(L, 1);
      return false;
    }
  }
  lua_pushnil(L);
  while (lua_next(L, b)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, a) == LUA_TNIL) {
      lua_pop(L, 2);
      return false;
    }
    lua_pop(L, 1);
  }
  return true;
}

static int t_eq(lua_State *L) {
  luaL_checkany(L, 2);
  if (deep_equal(L, 1, 2, 0)) return 0;
  rp_buf b = RP_BUF_INIT;
  if (lua_type(L, 3) == LUA_TSTRING) rp_buf_printf(&b, "%s: ", lua_tostring(L, 3));
  rp_buf_adds(&b, "expected ");
  describe(L, 2, &b, 0);
  rp_buf_adds(&b, ", got ");
  describe(L, 1, &b, 0);
  luaL_where(L, 1);
  lua_pushlstring(L, b.data, b.len);
  rp_buf_free(&b);
  lua_concat(L, 2);
  return lua_error(L);
}

static int t_ok(lua_State *L) {
  if (lua_toboolean(L, 1)) return 0;
  if (lua_type(L, 2) == LUA_TSTRING) return luaL_error(L, "%s", lua_tostring(L, 2));
  return luaL_error(L, "expected a true value, got %s", luaL_typename(L, 1));
}

static int t_fails(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  rp_plugins *p = plugins_of(L);
  lua_pushvalue(L, 1);
  char *err = NULL;
  // On this thread: t.fails may be called from a coroutine.
  lua_State *prev = rp_lua_enter(p->lua, L);
  int rc = rp_lua_pcall(p->lua, 0, 0, &err);
  rp_lua_leave(p->lua, prev);
  if (rc == RP_OK) return luaL_error(L, "expected an error, and the function returned normally");
  bool matched = true;
  if (lua_type(L, 2) == LUA_TSTRING) matched = err && strstr(err, lua_tostring(L, 2)) != NULL;
  if (!matched) {
    // The other error, on one line, without its own traceback.
    rp_lua_strip_traceback(err);
    luaL_where(L, 1);
    lua_pushfstring(L, "expected an error containing \"%s\", got: %s", lua_tostring(L, 2),
                    err ? err : "?");
    lua_concat(L, 2);
    free(err);
    return lua_error(L);
  }
  free(err);
  return 0;
}

// t.render(template, data): renders a Mustache template with the built-in
// and the plugins' filters, against a Lua table.
static int render_on(lua_State *L);

static int t_render(lua_State *L) {
  // The data, the render's values and the filters' and lambdas' calls all
  // live on this thread's stack: t.render may be called from a coroutine.
  rp_plugins *p = plugins_of(L);
  lua_State *prev = rp_lua_enter(p->lua, L);
  int n = render_on(L);
  rp_lua_leave(p->lua, prev);
  return n;
}

static int render_on(lua_State *L) {
  rp_plugins *p = plugins_of(L);
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  rp_filters *filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  rp_plugins_add_filters(p, filters);
  rp_library_opts lo = {.filters = filters};
  rp_library *lib = rp_library_new(&lo);
  rp_diags d = RP_DIAGS_INIT;
  char path[512];
  int line;
  caller_pos(L, path, sizeof path, &line);
  rp_template *t = rp_template_compile(lib, "t.render", src, len, &d);
  rp_buf out = RP_BUF_INIT;
  int rc = RP_ESYNTAX;
  if (t) {
    // The plugins' lambdas are names below the data, as when rendering notes.
    lua_newtable(L);
    int globals = lua_gettop(L);
    for (size_t i = 0; i < p->nitems; i++) {
      if (p->items[i].kind != RP_ITEM_LAMBDA) continue;
      lua_rawgeti(L, LUA_REGISTRYINDEX, p->items[i].ref);
      lua_setfield(L, globals, p->items[i].id);
    }
    if (lua_isnoneornil(L, 2))
      lua_newtable(L);
    else
      lua_pushvalue(L, 2);
    rp_lua_ctx *c = rp_lua_ctx_begin(p->lua);
    rp_ctx ctx = rp_lua_ctx_get(c);
    rp_render_opts ro = {.escape = RP_ESCAPE_HTML, .user = p};
    ro.has_globals = true;
    ro.globals = (rp_value){NULL, (uintptr_t)globals};
    rc = rp_template_render(t, &ctx, &ro, &out, &d);
    rp_lua_ctx_end(c);
    lua_settop(L, globals - 1);
  }
  if (rc != RP_OK) {
    // "line L:C" of the template string, and the first problem only.
    luaL_where(L, 1);
    if (d.n && d.items[0].line > 0)
      lua_pushfstring(L, "t.render: template line %d:%d: %s", d.items[0].line, d.items[0].col,
                      d.items[0].msg);
    else
      lua_pushfstring(L, "t.render: %s", d.n ? d.items[0].msg : "render failed");
    lua_concat(L, 2);
    // A plugin error inside ends with its own traceback: one line here.
    const char *m = lua_tostring(L, -1);
    const char *tb = strstr(m, "\nstack traceback:");
    if (tb) {
      lua_pushlstring(L, m, (size_t)(tb - m));
      lua_remove(L, -2);
    }
  } else {
    lua_pushlstring(L, out.data ? out.data : "", out.len);
  }
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_template_free(t);
  rp_library_free(lib);
  rp_filters_free(filters);
  if (rc != RP_OK) return lua_error(L);
  return 1;
}

// t.validate(type, session): the problems that `rapport check` finds in a
// session given as a Lua table (its `type` set to `type`), through the same
// code: fields, checklist answers, measures and the note type's rules. A list
// of messages, warnings starting with "warning: " ({} when it is valid).
static int validate_on(lua_State *L);

static int t_validate(lua_State *L) {
  // The session is read from this thread's stack, which may be a coroutine's.
  rp_plugins *p = plugins_of(L);
  lua_State *prev = rp_lua_enter(p->lua, L);
  int n = validate_on(L);
  rp_lua_leave(p->lua, prev);
  return n;
}

static int validate_on(lua_State *L) {
  rp_plugins *p = plugins_of(L);
  const char *type = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  bool known = false;
  for (size_t i = 0; i < p->nitems && !known; i++)
    known = p->items[i].kind == RP_ITEM_NOTE_TYPE && strcmp(p->items[i].id, type) == 0;
  if (!known) return luaL_error(L, "t.validate: no note type '%s'", type);
  rp_doc *in = rp_doc_new(), *out = rp_doc_new();
  rp_value root, note;
  char *err = NULL;
  if (rp_lua_to_doc(p->lua, 2, in, &root, &err) != RP_OK ||
      rp_doc_ops.kind(in, root) != RP_KIND_MAP) {
    rp_doc_free(in);
    rp_doc_free(out);
    lua_pushfstring(L, "t.validate: the session is not a table of fields%s%s", err ? ": " : "",
                    err ? err : "");
    free(err);
    return lua_error(L);
  }
  rp_doc_map_set(in, root, "type", 4, rp_doc_string(in, type, strlen(type)));
  rp_diags d = RP_DIAGS_INIT;
  char *layout = NULL;
  rp_plugins_build_note(p, "session", in, root, out, &note, &layout, &d);
  free(layout);
  lua_createtable(L, (int)d.n, 0);
  lua_Integer k = 0;
  for (size_t i = 0; i < d.n; i++) {
    if (d.items[i].sev == RP_SEV_WARNING)
      lua_pushfstring(L, "warning: %s", d.items[i].msg);
    else if (d.items[i].sev == RP_SEV_ERROR)
      lua_pushstring(L, d.items[i].msg);
    else
      continue;
    lua_rawseti(L, -2, ++k);
  }
  rp_diags_free(&d);
  rp_doc_free(in);
  rp_doc_free(out);
  return 1;
}

// t.score(id, items): the score table of measure `id` for the item scores
// `items`, as a note gets it (scores.ID); an error when the items do not fit.
static int score_on(lua_State *L);

static int t_score(lua_State *L) {
  // The items are read from this thread's stack, which may be a coroutine's.
  rp_plugins *p = plugins_of(L);
  lua_State *prev = rp_lua_enter(p->lua, L);
  int n = score_on(L);
  rp_lua_leave(p->lua, prev);
  return n;
}

static int score_on(lua_State *L) {
  rp_plugins *p = plugins_of(L);
  const char *id = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  rp_diags d = RP_DIAGS_INIT;
  if (rp_measure_score(p, id, 2, &d) != RP_OK) {
    luaL_where(L, 1);
    lua_pushfstring(L, "t.score: %s", d.n ? d.items[0].msg : "cannot score");
    lua_concat(L, 2);
    rp_diags_free(&d);
    return lua_error(L);
  }
  rp_diags_free(&d);
  return 1;
}

void rp_api_push_test_helpers(rp_plugins *p) {
  lua_State *L = p->lua->L;
  static const luaL_Reg fns[] = {
      {"eq", t_eq},
      {"ok", t_ok},
      {"fails", t_fails},
      {"render", t_render},
      {"validate", t_validate},
      {"score", t_score},
      {NULL, NULL},
  };
  lua_createtable(L, 0, 5);
  lua_pushlightuserdata(L, p);
  luaL_setfuncs(L, fns, 1);
}
