// Building a note from a session file: validation against the note type,
// then the plugins' work (the note type's rules, the checklists' summaries,
// the measures' scores, the note type's compute), giving the note's data for
// its layout.
//
// The session is validated in C (notes/schema.c), handed to Lua as a fresh
// table, and the computed note comes back through rp_lua_to_doc (raw access,
// depth limit, no cycles). Every call into plugin code goes through the one
// protected call, under the budget.
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"
#include "schema/schema.h"

static const rp_item *find_item(const rp_plugins *p, rp_item_kind kind, const char *id) {
  for (size_t i = 0; i < p->nitems; i++)
    if (p->items[i].kind == kind && strcmp(p->items[i].id, id) == 0) return &p->items[i];
  return NULL;
}

// Where a dotted path of the session was written, or the nearest place.
static void pos_of(rp_doc *in, rp_value root, const char *dotted, int *line, int *col) {
  rp_value cur = root;
  rp_doc_pos(in, root, line, col);
  const char *p = dotted;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    rp_value next;
    if (rp_doc_ops.kind(in, cur) != RP_KIND_MAP || !rp_doc_ops.get(in, cur, p, len, &next)) break;
    cur = next;
    int l, c;
    rp_doc_pos(in, cur, &l, &c);
    if (l > 0) *line = l, *col = c;
    p = dot ? dot + 1 : p + len;
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

// The note type's own rules: validate(note) returns a list of problems,
// each { field = "risk.safety_plan", message = "..." } or a text.
static void run_validate(rp_plugins *p, int nt, int note, const rp_item *it, rp_doc *in,
                         rp_value root, const char *path, rp_diags *diags) {
  lua_State *L = p->lua->L;
  if (field(L, nt, "validate") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  if (!call1(p, note, it->path, diags)) return;
  if (lua_istable(L, -1)) {
    size_t n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n && i <= 1000; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      const char *where = NULL, *msg = NULL;
      if (lua_type(L, -1) == LUA_TSTRING) {
        msg = lua_tostring(L, -1);
      } else if (lua_istable(L, -1)) {
        if (field(L, -1, "field") == LUA_TSTRING) where = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (field(L, -1, "message") == LUA_TSTRING) msg = lua_tostring(L, -1);
        lua_pop(L, 1);
      }
      int line = 1, col = 1;
      if (where) pos_of(in, root, where, &line, &col);
      if (msg) rp_diags_add(diags, RP_SEV_ERROR, path, line, col, "%s", msg);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

static bool plain_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 40) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

// Checks a checklist's answers (the table at `answers`) against its items:
// every key names an item (or a group of them), ratings are numbers within
// the item's range (alone or as { rating = n, note = "..." }), flags are
// true or false (alone or as { noticed = true, ... }). Reports each problem
// at its place in the session; returns false when there was one.
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
      if (key && plain_name(key))
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
    if (grp) {
      if (field(L, answers, grp) != LUA_TTABLE) continue;
      holder = lua_gettop(L);
    }
    if (field(L, holder, iid) == LUA_TNIL) continue;
    int v = lua_gettop(L);
    int line, col;
    if (strcmp(type, "rating") == 0) {
      char sub[260];
      if (snprintf(sub, sizeof sub, "%s", where) < 0) sub[0] = 0;
      if (lua_istable(L, v)) {
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

// Each checklist of the note type with answers in the session is summarized
// into note.checklists[id].
static bool run_checklists(rp_plugins *p, int nt, int note, rp_doc *in, rp_value root,
                           const char *path, rp_diags *diags) {
  bool ok = true;
  lua_State *L = p->lua->L;
  lua_newtable(L);
  int out = lua_gettop(L);
  if (field(L, nt, "checklists") == LUA_TTABLE) {
    size_t n = lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      const char *id = lua_tostring(L, -1);
      const rp_item *cl = id ? find_item(p, RP_ITEM_CHECKLIST, id) : NULL;
      if (id && !cl && field(L, note, id) != LUA_TNIL) {
        // Its plugin failed to load: the note would lack the answers given.
        rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                     "no note: its note type needs the checklist '%s', which did not load", id);
        ok = false;
      }
      if (cl && field(L, note, id) != LUA_TNIL) {
        int answers = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, cl->ref);
        if (!check_answers(p, lua_gettop(L), answers, id, in, root, path, diags)) {
          ok = false;
        } else if (field(L, -1, "summarize") == LUA_TFUNCTION) {
          char *cid = rp_xstrndup(id, strlen(id));
          if (call1(p, answers, cl->path, diags)) {
            lua_setfield(L, out, cid);
          }
          free(cid);
        } else {
          lua_pop(L, 1);
        }
        lua_pop(L, 1);  // the checklist's table
      }
      lua_settop(L, out + 1);  // keep the checklists list
    }
  }
  lua_pop(L, 1);
  lua_setfield(L, note, "checklists");
  return ok;
}

// Each measure with item scores under note.measures[id] is checked (count
// and range) and scored into note.scores[id].
static bool run_measures(rp_plugins *p, int nt, int note, rp_doc *in, rp_value root,
                         const char *path, rp_diags *diags) {
  lua_State *L = p->lua->L;
  bool ok = true;
  lua_newtable(L);
  int out = lua_gettop(L);
  int measures = 0;
  if (field(L, note, "measures") == LUA_TTABLE) measures = lua_gettop(L);
  if (field(L, nt, "measures") == LUA_TTABLE && measures) {
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
        if (key && plain_name(key))
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
      if (id && !m) {
        rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                     "no note: its note type needs the measure '%s', which did not load", id);
        ok = false;
        continue;
      }
      if (field(L, measures, id) == LUA_TNIL) continue;
      int scores = lua_gettop(L);
      lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
      int def = lua_gettop(L);
      field(L, def, "items");
      lua_Integer items = lua_tointeger(L, -1);
      field(L, def, "min");
      double min = lua_tonumber(L, -1);
      field(L, def, "max");
      double max = lua_tonumber(L, -1);
      lua_pop(L, 3);
      char where[160];
      if (snprintf(where, sizeof where, "measures.%s", id) < 0) where[0] = 0;
      int line, col;
      pos_of(in, root, where, &line, &col);
      bool good = lua_istable(L, scores) && (lua_Integer)lua_rawlen(L, scores) == items;
      for (lua_Integer k = 1; good && k <= items; k++) {
        lua_rawgeti(L, scores, k);
        good = lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= min &&
               lua_tonumber(L, -1) <= max;
        lua_pop(L, 1);
      }
      if (!good) {
        rp_diags_add(diags, RP_SEV_ERROR, path, line, col,
                     "%s must list %lld item scores, each from %g to %g, in item order", where,
                     (long long)items, min, max);
        ok = false;
        continue;
      }
      if (field(L, def, "score") == LUA_TFUNCTION) {
        char *mid = rp_xstrndup(id, strlen(id));
        if (call1(p, scores, m->path, diags)) {
          if (lua_istable(L, -1) && m->title) {
            lua_pushstring(L, m->title);
            lua_setfield(L, -2, "title");
          }
          lua_setfield(L, out, mid);
        } else {
          ok = false;
        }
        free(mid);
      }
    }
  }
  lua_settop(L, out);
  lua_setfield(L, note, "scores");
  return ok;
}

// Calls every handler of `event` with the table at `arg`; a handler that
// returns a table replaces it for the handlers after it and for the rest of
// the pipeline. Returns false when one failed (reported).
static bool run_hooks(rp_plugins *p, const char *event, int arg, rp_diags *diags) {
  lua_State *L = p->lua->L;
  for (size_t i = 0; i < p->nitems; i++) {
    const rp_item *it = &p->items[i];
    if (it->kind != RP_ITEM_HOOK || strcmp(it->id, event) != 0) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, it->ref);
    if (!call1(p, arg, it->path, diags)) return false;
    if (lua_istable(L, -1))
      lua_replace(L, arg);
    else
      lua_pop(L, 1);
  }
  return true;
}

int rp_note_build(rp_plugins *p, const char *path, rp_doc *out, rp_value *note_out, char **layout,
                  rp_diags *diags) {
  rp_doc *in = rp_doc_new();
  rp_value root;
  size_t first_diag = diags->n;
  int status = rp_session_load(in, path, &root, diags);
  if (status == RP_OK) {
    status = rp_note_build_doc(p, path, in, root, out, note_out, layout, diags);
  } else {
    *layout = NULL;
    *note_out = rp_doc_null(out);
    rp_diags_sort(diags, first_diag);
    status = RP_EDATA;
  }
  rp_doc_free(in);
  return status;
}

int rp_note_build_doc(rp_plugins *p, const char *path, rp_doc *in, rp_value root, rp_doc *out,
                      rp_value *note_out, char **layout, rp_diags *diags) {
  lua_State *L = p->lua->L;
  int top = lua_gettop(L);
  *layout = NULL;
  *note_out = rp_doc_null(out);
  rp_doc *typed_doc = rp_doc_new();
  const rp_schema *schema = NULL;
  int status = RP_EDATA;
  size_t errors = diags->errors;
  size_t first_diag = diags->n;
  rp_value typed;
  rp_value type;
  if (rp_doc_ops.kind(in, root) != RP_KIND_MAP || !rp_doc_ops.get(in, root, "type", 4, &type) ||
      rp_doc_ops.kind(in, type) != RP_KIND_STRING) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 1, 1,
                 "the session has no 'type' line naming its note type (e.g. type: soap)");
    goto done;
  }
  size_t len;
  const char *tname = rp_doc_ops.str(in, type, &len);
  char *id = rp_xstrndup(tname, len);
  rp_item *nt_item = (rp_item *)find_item(p, RP_ITEM_NOTE_TYPE, id);
  // Built once per registration: a note type's table does not change while
  // it is registered (reset registers it anew).
  if (nt_item && !nt_item->schema) nt_item->schema = rp_plugins_schema(p, id);
  schema = nt_item ? nt_item->schema : NULL;
  if (!schema) {
    int line, col;
    rp_doc_pos(in, type, &line, &col);
    rp_buf known = RP_BUF_INIT;
    for (size_t i = 0, k = 0; i < p->nitems; i++)
      if (p->items[i].kind == RP_ITEM_NOTE_TYPE)
        rp_buf_printf(&known, "%s%s", k++ ? ", " : "", p->items[i].id);
    rp_diags_add(diags, RP_SEV_ERROR, path, line > 0 ? line : 1, col > 0 ? col : 1,
                 "unknown note type '%s' (note types: %s)", id, known.data ? known.data : "none");
    rp_buf_free(&known);
    free(id);
    goto done;
  }
  free(id);
  if (rp_schema_validate(schema, in, root, path, typed_doc, &typed, diags) != RP_OK) goto done;

  luaL_checkstack(L, 16, "note");
  if (rp_lua_push_note(p->lua, typed_doc, typed, path, diags) != RP_OK) goto done;
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
  if (!run_hooks(p, "session", note, diags)) goto done;
  run_validate(p, nt, note, nt_item, in, root, path, diags);
  bool measures_ok = run_measures(p, nt, note, in, root, path, diags);
  bool checklists_ok = run_checklists(p, nt, note, in, root, path, diags);
  if (diags->errors > errors || !measures_ok || !checklists_ok) goto done;
  if (field(L, nt, "compute") == LUA_TFUNCTION) {
    if (!call1(p, note, nt_item->path, diags)) goto done;
    if (lua_istable(L, -1)) lua_replace(L, note);
    lua_settop(L, nt);
  } else {
    lua_pop(L, 1);
  }
  if (!run_hooks(p, "note", note, diags)) goto done;
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
  // The session's problems from top to bottom, whichever step found them.
  rp_diags_sort(diags, first_diag);
  lua_settop(L, top);
  rp_doc_free(typed_doc);
  return status;
}
