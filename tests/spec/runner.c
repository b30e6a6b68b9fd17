// Runs the official Mustache spec files against the engine.
//
//   spec_runner [--lua] LAMBDAS.lua SPEC.json...
//
// Each test's template is compiled with its partials in a library and
// rendered against its data; the output must equal `expected` byte for byte.
// The runner brings its own context: the C data tree, except that a map
// tagged `__tag__: code` (the spec's portable lambdas) reads as a lambda and
// calls the Lua function of the same test name from LAMBDAS.lua. A failure
// names the file and test and shows expected and actual output with a diff.
// With --lua the data is first copied into Lua tables (the lambda being the
// Lua function itself) and rendered through the Lua layer's context instead,
// so both implementations of the context interface meet the whole spec.
// The last line is "N passed, N failed"; the exit status is 1 on failures.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "lua/host.h"
#include "template/template.h"

typedef struct spec_ctx {
  rp_doc *doc;
  rp_lua *lua;
  rp_lua_ref fn;  // this test's lambda, 0 if none
} spec_ctx;

static bool get_str(rp_doc *doc, rp_value map, const char *key, const char **s, size_t *len) {
  rp_value v;
  if (!rp_doc_ops.get(doc, map, key, strlen(key), &v) || rp_doc_ops.kind(doc, v) != RP_KIND_STRING)
    return false;
  *s = rp_doc_ops.str(doc, v, len);
  return true;
}

static bool is_code(rp_doc *doc, rp_value v) {
  const char *s;
  size_t len;
  return rp_doc_ops.kind(doc, v) == RP_KIND_MAP && get_str(doc, v, "__tag__", &s, &len) &&
         len == 4 && memcmp(s, "code", 4) == 0;
}

static rp_kind spec_kind(void *ud, rp_value v) {
  spec_ctx *c = ud;
  return is_code(c->doc, v) ? RP_KIND_LAMBDA : rp_doc_ops.kind(c->doc, v);
}
static bool spec_get(void *ud, rp_value m, const char *k, size_t n, rp_value *out) {
  return rp_doc_ops.get(((spec_ctx *)ud)->doc, m, k, n, out);
}
static size_t spec_len(void *ud, rp_value v) {
  return rp_doc_ops.len(((spec_ctx *)ud)->doc, v);
}
static rp_value spec_at(void *ud, rp_value v, size_t i) {
  return rp_doc_ops.at(((spec_ctx *)ud)->doc, v, i);
}
static const char *spec_str(void *ud, rp_value v, size_t *len) {
  return rp_doc_ops.str(((spec_ctx *)ud)->doc, v, len);
}
static double spec_number(void *ud, rp_value v) {
  return rp_doc_ops.number(((spec_ctx *)ud)->doc, v);
}
static bool spec_boolean(void *ud, rp_value v) {
  return rp_doc_ops.boolean(((spec_ctx *)ud)->doc, v);
}
static int spec_call(void *ud, rp_value fn, const char *text, size_t len, rp_buf *out,
                     char **errmsg) {
  spec_ctx *c = ud;
  if (!c->fn) {
    *errmsg = strdup("no Lua lambda for this test in the lambdas file");
    return RP_ELAMBDA;
  }
  return rp_lua_call_lambda(c->lua, c->fn, text, len, out, errmsg);
}

static const rp_ctx_ops spec_ops = {
    spec_kind,   spec_get,     spec_len,  spec_at, spec_str,
    spec_number, spec_boolean, spec_call, NULL,    NULL,
};

typedef struct partials {
  rp_doc *doc;
  rp_value map;
  bool present;
} partials;

static int load_partial(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                        char **path, rp_diags *diags) {
  partials *p = ud;
  rp_value v;
  if (!p->present || !rp_doc_ops.get(p->doc, p->map, name, namelen, &v) ||
      rp_doc_ops.kind(p->doc, v) != RP_KIND_STRING)
    return 0;
  size_t len;
  const char *s = rp_doc_ops.str(p->doc, v, &len);
  *src = malloc(len + 1);
  memcpy(*src, s, len);
  (*src)[len] = '\0';
  *srclen = len;
  *path = malloc(namelen + 16);
  snprintf(*path, namelen + 16, "%.*s.mustache", (int)namelen, name);
  return 1;
}

static void show(const char *label, const char *s, size_t len) {
  printf("    %s \"", label);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '\n')
      printf("\\n");
    else if (ch == '\r')
      printf("\\r");
    else if (ch == '\t')
      printf("\\t");
    else if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\x%02x", ch);
    else
      putchar(ch);
  }
  printf("\"\n");
}

// A line diff: lines only in expected start with '-', only in actual '+'.
static void diff(const char *a, size_t alen, const char *b, size_t blen) {
  size_t i = 0;
  while (i < alen && i < blen && a[i] == b[i])
    i++;
  printf("    first difference at byte %zu\n", i);
  size_t line_start = i;
  while (line_start > 0 && a[line_start - 1] != '\n')
    line_start--;
  const char *ae = memchr(a + line_start, '\n', alen - line_start);
  const char *be = memchr(b + line_start, '\n', blen - line_start);
  size_t al = ae ? (size_t)(ae - (a + line_start)) : alen - line_start;
  size_t bl = be ? (size_t)(be - (b + line_start)) : blen - line_start;
  show("- expected line:", a + line_start, al);
  show("+ actual line:  ", b + line_start, bl);
}

int main(int argc, char **argv) {
  bool use_lua = argc > 1 && strcmp(argv[1], "--lua") == 0;
  if (use_lua) {
    argv++;
    argc--;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: spec_runner [--lua] LAMBDAS.lua SPEC.json...\n");
    return 2;
  }
  rp_lua *lua = rp_lua_new(NULL);
  rp_diags diags = RP_DIAGS_INIT;
  rp_lua_ref lambdas = 0;
  if (rp_lua_run_file(lua, argv[1], &diags, &lambdas) != RP_OK) {
    rp_diags_print(&diags, stderr);
    return 2;
  }
  rp_filters *filters = rp_filters_new();
  rp_filters_add_builtins(filters);
  int passed = 0, failed = 0;
  for (int a = 2; a < argc; a++) {
    const char *file = argv[a];
    rp_doc *doc = rp_doc_new();
    rp_value root;
    if (rp_data_load_file(doc, file, &diags, &root) != RP_OK) {
      rp_diags_print(&diags, stderr);
      rp_diags_clear(&diags);
      failed++;
      rp_doc_free(doc);
      continue;
    }
    rp_value tests;
    if (!rp_doc_ops.get(doc, root, "tests", 5, &tests)) {
      fprintf(stderr, "%s: no tests\n", file);
      failed++;
      rp_doc_free(doc);
      continue;
    }
    size_t n = rp_doc_ops.len(doc, tests);
    for (size_t i = 0; i < n; i++) {
      rp_value test = rp_doc_ops.at(doc, tests, i);
      const char *name = "", *tmpl = "", *expected = "";
      size_t namelen = 0, tmpllen = 0, explen = 0;
      get_str(doc, test, "name", &name, &namelen);
      get_str(doc, test, "template", &tmpl, &tmpllen);
      get_str(doc, test, "expected", &expected, &explen);
      rp_value data = {0};
      rp_doc_ops.get(doc, test, "data", 4, &data);
      partials p = {doc, {0}, false};
      p.present = rp_doc_ops.get(doc, test, "partials", 8, &p.map);

      char *cname = strndup(name, namelen);
      spec_ctx sc = {doc, lua, 0};
      rp_lua_get_function(lua, lambdas, cname, &sc.fn);
      rp_library_opts lo = {.loader = load_partial, .loader_ud = &p, .filters = filters};
      rp_library *lib = rp_library_new(&lo);
      char path[512];
      snprintf(path, sizeof path, "%s[%s]", file, cname);
      rp_template *t = rp_template_compile(lib, path, tmpl, tmpllen, &diags);
      rp_buf out = RP_BUF_INIT;
      int rc = RP_ESYNTAX;
      if (t && use_lua) {
        if (rp_lua_push_doc(lua, doc, data, file, &diags) != RP_OK) abort();
        if (sc.fn) {
          rp_lua_push_ref(lua, sc.fn);
          rp_lua_set_field(lua, "lambda");
        }
        rp_lua_ctx *lc = rp_lua_ctx_begin(lua);
        rp_ctx ctx = rp_lua_ctx_get(lc);
        rc = rp_template_render(t, &ctx, NULL, &out, &diags);
        rp_lua_ctx_end(lc);
      } else if (t) {
        rp_ctx ctx = {&spec_ops, &sc, data};
        rc = rp_template_render(t, &ctx, NULL, &out, &diags);
      }
      bool ok = rc == RP_OK && out.len == explen && memcmp(out.data, expected, explen) == 0;
      if (ok) {
        passed++;
      } else {
        failed++;
        printf("FAIL %s: %s\n", file, cname);
        show("template:", tmpl, tmpllen);
        show("expected:", expected, explen);
        show("actual:  ", out.data ? out.data : "", out.len);
        diff(expected, explen, out.data ? out.data : "", out.len);
        rp_diags_print(&diags, stdout);
      }
      rp_diags_clear(&diags);
      rp_buf_free(&out);
      rp_template_free(t);
      rp_library_free(lib);
      rp_lua_unref(lua, sc.fn);
      free(cname);
    }
    rp_doc_free(doc);
  }
  printf("%d passed, %d failed\n", passed, failed);
  rp_diags_free(&diags);
  rp_filters_free(filters);
  rp_lua_unref(lua, lambdas);
  rp_lua_free(lua);
  return failed ? 1 : 0;
}
