// Note types as C schemas: reads the table a plugin registered with
// rapport.note_type (already checked by api.c) into an rp_schema.
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"
#include "schema/schema.h"
#include "util/number.h"

// The text of the string at the top of the stack, or NULL for another value.
static char *top_str(lua_State *L) {
  if (lua_type(L, -1) != LUA_TSTRING) return NULL;
  size_t len;
  const char *v = lua_tolstring(L, -1, &len);
  return rp_xstrndup(v, len);
}

static char *raw_str(lua_State *L, int t, const char *key) {
  lua_pushstring(L, key);
  lua_rawget(L, t);
  char *s = top_str(L);
  lua_pop(L, 1);
  return s;
}

// The text of the scalar (string, number or boolean) at the top of the
// stack, or NULL.
static char *top_scalar_text(lua_State *L) {
  char *text = NULL;
  int type = lua_type(L, -1);
  if (type == LUA_TSTRING) {
    text = rp_xstrndup(lua_tostring(L, -1), lua_rawlen(L, -1));
  } else if (type == LUA_TBOOLEAN) {
    text = rp_xstrndup(lua_toboolean(L, -1) ? "true" : "false", lua_toboolean(L, -1) ? 4 : 5);
  } else if (type == LUA_TNUMBER) {
    char buf[RP_NUMBER_BUF];
    size_t n = lua_isinteger(L, -1)
                   ? (size_t)snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, -1))
                   : rp_number_format(lua_tonumber(L, -1), buf);
    text = rp_xstrndup(buf, n);
  }
  return text;
}

static bool top_num(lua_State *L, double *out) {
  bool ok = lua_type(L, -1) == LUA_TNUMBER;
  if (ok) *out = lua_tonumber(L, -1);
  return ok;
}

// A field's options that the schema keeps; the others (description) are
// the plugin's own.
typedef enum field_key {
  K_OTHER,
  K_ID,
  K_TYPE,
  K_LABEL,
  K_REQUIRED,
  K_MIN,
  K_MAX,
  K_DEFAULT,
  K_EXAMPLE,
  K_VALUES,
  K_ITEMS,
  K_FIELDS,
} field_key;

static field_key key_of(const char *s, size_t len) {
#define IS(name) (memcmp(s, name, len) == 0)
  switch (len) {
    case 2:
      return IS("id") ? K_ID : K_OTHER;
    case 3:
      return IS("min") ? K_MIN : IS("max") ? K_MAX : K_OTHER;
    case 4:
      return IS("type") ? K_TYPE : K_OTHER;
    case 5:
      return IS("label") ? K_LABEL : IS("items") ? K_ITEMS : K_OTHER;
    case 6:
      return IS("values") ? K_VALUES : IS("fields") ? K_FIELDS : K_OTHER;
    case 7:
      return IS("default") ? K_DEFAULT : IS("example") ? K_EXAMPLE : K_OTHER;
    case 8:
      return IS("required") ? K_REQUIRED : K_OTHER;
    default:
      return K_OTHER;
  }
#undef IS
}

// Reads the field table at index t into f (depth-bounded: api.c allows 16).
// The table is walked once, each option read as it comes: it was checked
// when it was registered, but its plugin may have changed it since, so
// every value is taken only when it has the type the option needs.
// At most this many field tables are read into one schema. The tables are
// the plugin's own, and it may change them after registering them: one
// table held eight times at each of twelve levels is 8^12 fields to read,
// with no plugin call running whose budget could end it. Past the limit a
// field is read as empty (no id), and left out like one whose id was taken
// away; no honest note type comes near it.
enum { SCHEMA_MAX_FIELDS = 1 << 16 };

static void read_field(lua_State *L, int t, rp_field *f, int depth, size_t *left) {
  t = lua_absindex(L, t);
  memset(f, 0, sizeof *f);
  if (*left == 0) return;
  (*left)--;
  f->type = RP_FIELD_TEXT;
  lua_pushnil(L);
  while (lua_next(L, t)) {  // [key, value]
    size_t len = 0;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
    switch (k ? key_of(k, len) : K_OTHER) {
      case K_ID:
        f->id = top_str(L);
        break;
      case K_TYPE: {
        int ty = lua_type(L, -1) == LUA_TSTRING ? rp_field_type_parse(lua_tostring(L, -1)) : -1;
        f->type = ty < 0 ? RP_FIELD_TEXT : (rp_field_type)ty;
        break;
      }
      case K_LABEL:
        f->label = top_str(L);
        break;
      case K_REQUIRED:
        f->required = lua_toboolean(L, -1);
        break;
      case K_MIN:
        f->has_min = top_num(L, &f->min);
        break;
      case K_MAX:
        f->has_max = top_num(L, &f->max);
        break;
      case K_DEFAULT:
        f->default_text = top_scalar_text(L);
        break;
      case K_EXAMPLE:
        f->example_text = top_scalar_text(L);
        break;
      case K_VALUES:
        if (lua_type(L, -1) == LUA_TTABLE) {
          size_t n = lua_rawlen(L, -1);
          f->values = rp_xcalloc(n ? n : 1, sizeof *f->values);
          for (size_t i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TSTRING)
              f->values[f->nvalues++] = rp_xstrndup(lua_tostring(L, -1), lua_rawlen(L, -1));
            lua_pop(L, 1);
          }
        }
        break;
      case K_ITEMS:
        if (depth < 16 && lua_type(L, -1) == LUA_TTABLE) {
          f->items = rp_xcalloc(1, sizeof *f->items);
          read_field(L, -1, f->items, depth + 1, left);
        }
        break;
      case K_FIELDS:
        if (depth < 16 && lua_type(L, -1) == LUA_TTABLE) {
          size_t n = lua_rawlen(L, -1);
          f->fields = rp_xcalloc(n ? n : 1, sizeof *f->fields);
          for (size_t i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, (lua_Integer)i) == LUA_TTABLE) {
              // A field without an id (taken away after registration) is
              // left out, as rp_plugins_schema leaves one out at the top.
              rp_field *sub = &f->fields[f->nfields];
              read_field(L, -1, sub, depth + 1, left);
              if (sub->id)
                f->nfields++;
              else
                rp_field_clear(sub);
            }
            lua_pop(L, 1);
          }
        }
        break;
      case K_OTHER:
        break;
    }
    lua_pop(L, 1);  // [key]
  }
}

rp_schema *rp_plugins_schema(rp_plugins *p, const char *id) {
  lua_State *L = p->lua->L;
  for (size_t i = 0; i < rp_plugins_item_count(p, RP_ITEM_NOTE_TYPE); i++) {
    rp_item_info it;
    rp_plugins_item(p, RP_ITEM_NOTE_TYPE, i, &it);
    if (strcmp(it.id, id) != 0) continue;
    int top = lua_gettop(L);
    luaL_checkstack(L, 64, "schema nested too deeply");  // read_field: 3 a level
    const rp_item *item = NULL;
    for (size_t k = 0; k < p->nitems; k++)
      if (p->items[k].kind == RP_ITEM_NOTE_TYPE && strcmp(p->items[k].id, id) == 0)
        item = &p->items[k];
    if (!item) break;
    lua_rawgeti(L, LUA_REGISTRYINDEX, item->ref);
    int t = lua_gettop(L);
    rp_schema *s = rp_schema_new(id, it.title);
    size_t left = SCHEMA_MAX_FIELDS;
    lua_pushstring(L, "fields");
    if (lua_rawget(L, t) == LUA_TTABLE) {
      size_t n = lua_rawlen(L, -1);
      for (size_t k = 1; k <= n; k++) {
        if (lua_rawgeti(L, -1, (lua_Integer)k) == LUA_TTABLE) {
          rp_field f;
          read_field(L, -1, &f, 0, &left);
          // Registration required an id; a plugin that took it away
          // afterwards leaves a field the schema cannot place (and would
          // have crashed the process).
          if (f.id)
            rp_schema_take_field(s, &f);
          else
            rp_field_clear(&f);
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    // A checklist's data lives under its id; measures under `measures`.
    lua_pushstring(L, "checklists");
    if (lua_rawget(L, t) == LUA_TTABLE) {
      size_t n = lua_rawlen(L, -1);
      for (size_t k = 1; k <= n; k++) {
        if (lua_rawgeti(L, -1, (lua_Integer)k) == LUA_TSTRING)
          rp_schema_add_passthrough(s, lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    lua_pushstring(L, "measures");
    if (lua_rawget(L, t) == LUA_TTABLE && lua_rawlen(L, -1) > 0)
      rp_schema_add_passthrough(s, "measures");
    lua_settop(L, top);
    return s;
  }
  return NULL;
}

// Every note type's checklists and measures must exist: a typo in an id
// would otherwise drop a whole section from every note of that type.
void rp_plugins_check_references(rp_plugins *p, rp_diags *diags) {
  lua_State *L = p->lua->L;
  static const struct {
    const char *key;
    rp_item_kind kind;
  } refs[] = {{"checklists", RP_ITEM_CHECKLIST}, {"measures", RP_ITEM_MEASURE}};
  for (size_t i = 0; i < p->nitems; i++) {
    const rp_item *nt = &p->items[i];
    if (nt->kind != RP_ITEM_NOTE_TYPE) continue;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, nt->ref);
    for (size_t r = 0; r < 2; r++) {
      lua_pushstring(L, refs[r].key);
      if (lua_rawget(L, -2) == LUA_TTABLE) {
        size_t n = lua_rawlen(L, -1);
        for (size_t k = 1; k <= n; k++) {
          if (lua_rawgeti(L, -1, (lua_Integer)k) == LUA_TSTRING) {
            const char *id = lua_tostring(L, -1);
            bool found = false;
            for (size_t j = 0; j < p->nitems && !found; j++)
              found = p->items[j].kind == refs[r].kind && strcmp(p->items[j].id, id) == 0;
            if (!found)
              rp_diags_add(diags, RP_SEV_ERROR, nt->path, nt->line, 1,
                           "note type '%s' uses the %s '%s', which no plugin defines", nt->id,
                           rp_item_kind_name(refs[r].kind), id);
          }
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
    }
    lua_settop(L, top);
  }
}

char *rp_plugins_layout(rp_plugins *p, const char *id) {
  lua_State *L = p->lua->L;
  for (size_t k = 0; k < p->nitems; k++) {
    const rp_item *it = &p->items[k];
    if (it->kind != RP_ITEM_NOTE_TYPE || strcmp(it->id, id) != 0) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, it->ref);
    char *layout = raw_str(L, lua_gettop(L), "layout");
    lua_pop(L, 1);
    return layout ? layout : rp_xstrndup(id, strlen(id));
  }
  return NULL;
}
