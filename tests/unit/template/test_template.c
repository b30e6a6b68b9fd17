// Tests of the template engine (core/template) through its public API only:
// compile errors and their positions, strict mode, the JavaScript-like
// reading of values, partials and libraries, whitespace rules beyond the
// spec files, inheritance, thread safety and the diagnostics limit.
//
// Data comes from the C data tree (core/data), built with rp_json_parse or
// the rp_doc builders. Every expected output is written by hand from the
// Mustache spec or the documented semantics in template.h.
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers.h"
#include "render_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "template/template.h"

#define TPATH "t.mustache"

// --- helpers -------------------------------------------------------------------

#define assert_diag(d, path, line, col, needle)                                          \
  do {                                                                                   \
    if (!has_diag((d), (path), (line), (col), (needle))) {                               \
      fprintf(stderr, "expected %s:%d:%d: ...%s...\n", (path), (line), (col), (needle)); \
      dump_diags(d);                                                                     \
      fail();                                                                            \
    }                                                                                    \
  } while (0)

#define assert_errors(d, count)                        \
  do {                                                 \
    if ((d)->errors != (size_t)(count)) dump_diags(d); \
    assert_int_equal((d)->errors, (count));            \
    assert_int_equal((d)->n, (count));                 \
  } while (0)

static rp_value parse_json(rp_doc *doc, const char *json) {
  return test_json(doc, json);
}

static int render_tpl(const rp_template *t, const char *json, rp_escape esc, rp_buf *out,
                      rp_diags *diags) {
  rp_render_opts opts = {.escape = esc};
  return test_render_tpl(t, json, &opts, out, diags);
}

static int render_src(rp_library *lib, const char *src, const char *json, rp_escape esc,
                      rp_buf *out, rp_diags *diags) {
  rp_render_opts opts = {.escape = esc};
  return test_render(lib, TPATH, src, json, &opts, out, diags);
}

static void check_out(const char *src, const char *got, size_t gotlen, const char *want) {
  test_check_out(src, NULL, got, gotlen, want);
}

static void expect_lib(rp_library *lib, const char *src, const char *json, const char *want) {
  test_expect(lib, TPATH, src, json, NULL, want);
}

static void expect(const char *src, const char *json, const char *want) {
  rp_library *lib = rp_library_new(NULL);
  expect_lib(lib, src, json, want);
  rp_library_free(lib);
}

static void expect_compile_fails(rp_library *lib, const char *src, rp_diags *d) {
  rp_template *t = rp_template_compile(lib, TPATH, src, strlen(src), d);
  if (t) fprintf(stderr, "template compiled but should not: %s\n", src);
  assert_null(t);
}

static rp_template *add(rp_library *lib, const char *name, const char *src) {
  char path[128];
  snprintf(path, sizeof path, "%s.mustache", name);
  rp_diags d = RP_DIAGS_INIT;
  rp_template *t = rp_library_add(lib, name, path, src, strlen(src), &d);
  if (!t) dump_diags(&d);
  assert_non_null(t);
  rp_diags_free(&d);
  return t;
}

// A loader over a fixed table; counts how often each name is loaded.
typedef struct table_entry {
  const char *name;
  const char *src;
  atomic_int loads;
} table_entry;

typedef struct table {
  table_entry *items;
  size_t n;
  atomic_int misses;
} table;

static int table_loader(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                        char **path, rp_diags *diags) {
  table *tb = ud;
  for (size_t i = 0; i < tb->n; i++) {
    table_entry *e = &tb->items[i];
    if (strlen(e->name) == namelen && memcmp(e->name, name, namelen) == 0) {
      atomic_fetch_add(&e->loads, 1);
      *srclen = strlen(e->src);
      *src = malloc(*srclen + 1);
      memcpy(*src, e->src, *srclen + 1);
      char buf[128];
      snprintf(buf, sizeof buf, "partials/%s.mustache", e->name);
      *path = strdup(buf);
      return 1;
    }
  }
  atomic_fetch_add(&tb->misses, 1);
  return 0;
}

// --- compile errors --------------------------------------------------------------

static void test_compile_ok_has_no_diags(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *src = "Hi {{name}}\n{{#a}}{{/a}}";
  rp_template *t = rp_template_compile(lib, "ok.mustache", src, strlen(src), &d);
  assert_non_null(t);
  assert_int_equal(d.n, 0);
  assert_string_equal(rp_template_path(t), "ok.mustache");
  rp_template_free(t);
  rp_library_free(lib);
}

static void test_error_unclosed_section(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  expect_compile_fails(lib, "a\n  {{#items}}\nx {{y}}\n", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 2, 3, "'items'");
  assert_diag(&d, TPATH, 2, 3, "never closed");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_mismatched_close(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  // The close names a section that is not open: it is reported where it is,
  // and the open section is still unclosed at the end.
  expect_compile_fails(lib, "{{#a}}\nx\n{{/b}}\n", &d);
  assert_errors(&d, 2);
  assert_diag(&d, TPATH, 3, 1, "'b'");
  assert_diag(&d, TPATH, 1, 1, "'a'");
  rp_diags_free(&d);

  // Closing an outer section while an inner one is open: the inner one is
  // the problem, reported where it opened.
  expect_compile_fails(lib, "{{#a}}{{#b}}{{/a}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 7, "'b'");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_stray_close(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  expect_compile_fails(lib, "x\n {{/a}}\n", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 2, 2, "'a' has no opening section");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_unclosed_tag(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  expect_compile_fails(lib, "Hi {{name", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 4, "unclosed tag");
  rp_diags_free(&d);

  expect_compile_fails(lib, "Hi\n  {{{name}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 2, 3, "unclosed tag");
  rp_diags_free(&d);

  // An error before the unclosed tag is still reported.
  expect_compile_fails(lib, "{{/x}}\nHi {{name", &d);
  assert_errors(&d, 2);
  assert_diag(&d, TPATH, 1, 1, "no opening section");
  assert_diag(&d, TPATH, 2, 4, "unclosed tag");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_bad_delimiters(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  expect_compile_fails(lib, "{{=<% =}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 1, "delimiter");
  rp_diags_free(&d);

  expect_compile_fails(lib, "ab {{=<% %> x=}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 4, "delimiter");
  rp_diags_free(&d);

  // The delimiters stay as they were and compiling goes on.
  expect_compile_fails(lib, "{{=<% =}}\n{{#x}}\n", &d);
  assert_errors(&d, 2);
  assert_diag(&d, TPATH, 1, 1, "delimiter");
  assert_diag(&d, TPATH, 2, 1, "'x'");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_unknown_filter(void **state) {
  rp_filters *f = rp_filters_new();
  rp_filters_add_builtins(f);
  rp_library_opts o = {.filters = f};
  rp_library *lib = rp_library_new(&o);
  rp_diags d = RP_DIAGS_INIT;
  expect_compile_fails(lib, "{{ name | nope }}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 11, "unknown filter 'nope'");
  rp_diags_free(&d);

  // Two unknown filters in one tag, a known one between them.
  expect_compile_fails(lib, "{{x | a | upper | b}}", &d);
  assert_errors(&d, 2);
  assert_diag(&d, TPATH, 1, 7, "'a'");
  assert_diag(&d, TPATH, 1, 19, "'b'");
  rp_diags_free(&d);

  // A tag spanning lines: the position is the filter name's.
  expect_compile_fails(lib, "ab\n{{ name\n  | nope }}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 3, 5, "unknown filter 'nope'");
  rp_diags_free(&d);
  rp_library_free(lib);

  // No registry: every filter is unknown.
  lib = rp_library_new(NULL);
  expect_compile_fails(lib, "{{x | upper}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 7, "unknown filter 'upper'");
  rp_diags_free(&d);
  rp_library_free(lib);
  rp_filters_free(f);
}

static void test_error_filters_on_section(void **state) {
  rp_filters *f = rp_filters_new();
  rp_filters_add_builtins(f);
  rp_library_opts o = {.filters = f};
  rp_library *lib = rp_library_new(&o);
  rp_diags d = RP_DIAGS_INIT;
  // One mistake, one message: the section is otherwise well formed and its
  // closing tag matches, so nothing else should be reported.
  expect_compile_fails(lib, "{{#a | upper}}x{{/a}}", &d);
  assert_diag(&d, TPATH, 1, 1, "filters are allowed only in variable tags");
  assert_errors(&d, 1);
  rp_diags_free(&d);

  expect_compile_fails(lib, "{{^a | upper}}x{{/a}}", &d);
  assert_diag(&d, TPATH, 1, 1, "filters are allowed only in variable tags");
  assert_errors(&d, 1);
  rp_diags_free(&d);
  rp_library_free(lib);
  rp_filters_free(f);
}

static void test_error_empty_tag(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  expect_compile_fails(lib, "a {{}} b", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 3, "empty tag");
  rp_diags_free(&d);

  expect_compile_fails(lib, "\n{{  }}{{{ }}}", &d);
  assert_errors(&d, 2);
  assert_diag(&d, TPATH, 2, 1, "empty tag");
  assert_diag(&d, TPATH, 2, 7, "empty tag");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_name_with_space(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  // The column is the space's.
  expect_compile_fails(lib, "{{first name}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 8, "unexpected space in the name 'first name'");
  rp_diags_free(&d);

  expect_compile_fails(lib, "x{{ a b }}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 6, "'a b'");
  rp_diags_free(&d);

  expect_compile_fails(lib, "{{a..b}}", &d);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 1, 1, "empty part");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_error_many_in_one_template(void **state) {
  rp_filters *f = rp_filters_new();
  rp_filters_add_builtins(f);
  rp_library_opts o = {.filters = f};
  rp_library *lib = rp_library_new(&o);
  rp_diags d = RP_DIAGS_INIT;
  const char *src =
      "Hello {{first name}}!\n"  // 1:14 space in a name
      "{{ x | nope }}\n"         // 2:8 unknown filter
      "{{/stray}}\n"             // 3:1 stray close
      "  {{#open}}\n"            // 4:3 never closed
      "{{}}\n"                   // 5:1 empty tag
      "{{x | upper | nada}}\n";  // 6:15 unknown filter
  expect_compile_fails(lib, src, &d);
  assert_errors(&d, 6);
  assert_diag(&d, TPATH, 1, 14, "unexpected space");
  assert_diag(&d, TPATH, 2, 8, "unknown filter 'nope'");
  assert_diag(&d, TPATH, 3, 1, "'stray'");
  assert_diag(&d, TPATH, 4, 3, "'open'");
  assert_diag(&d, TPATH, 5, 1, "empty tag");
  assert_diag(&d, TPATH, 6, 15, "unknown filter 'nada'");
  rp_diags_free(&d);
  rp_library_free(lib);
  rp_filters_free(f);
}

// --- strict mode ---------------------------------------------------------------------

static void test_strict_missing_name(void **state) {
  rp_library_opts o = {.strict = true};
  rp_library *lib = rp_library_new(&o);
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = render_src(lib, "Dear {{client.name}},\n  on {{session.dat}}\n",
                      "{\"client\":{\"name\":\"J\"},\"session\":{\"date\":\"x\"}}", RP_ESCAPE_HTML,
                      &out, &d);
  assert_int_equal(rc, RP_ESTRICT);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 2, 6, "'session.dat'");
  rp_buf_free(&out);
  rp_diags_free(&d);

  // A section on a missing name is a missing name too.
  rc = render_src(lib, "x{{#gone}}y{{/gone}}", NULL, RP_ESCAPE_HTML, &out, &d);
  assert_int_equal(rc, RP_ESTRICT);
  assert_diag(&d, TPATH, 1, 2, "'gone'");
  rp_buf_free(&out);
  rp_diags_free(&d);

  // A broken chain (the first part found, the second not) is missing.
  rc = render_src(lib, "{{a.b}}", "{\"a\":{}}", RP_ESCAPE_HTML, &out, &d);
  assert_int_equal(rc, RP_ESTRICT);
  assert_diag(&d, TPATH, 1, 1, "'a.b'");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_strict_allowed_forms(void **state) {
  rp_filters *f = rp_filters_new();
  rp_filters_add_builtins(f);
  rp_library_opts o = {.strict = true, .filters = f};
  rp_library *lib = rp_library_new(&o);
  // A default makes a missing name fine.
  expect_lib(lib, "[{{x | default \"n/a\"}}]", NULL, "[n/a]");
  // An inverted section over a name that is there but empty is fine...
  expect_lib(lib, "[{{^x}}none{{/x}}]", "{\"x\":[]}", "[none]");
  // A name that is there with a null value is not missing.
  expect_lib(lib, "[{{x}}]", "{\"x\":null}", "[]");
  expect_lib(lib, "[{{#x}}y{{/x}}]", "{\"x\":false}", "[]");
  // An index past the end of a list that is there is no element, not a
  // missing name: a section, an inverted section and a variable show it as
  // absent, so {{#items.0}} tests for items.
  expect_lib(lib, "[{{#x.0}}has{{/x.0}}{{^x.0}}none{{/x.0}}{{x.3}}]", "{\"x\":[]}", "[none]");
  expect_lib(lib, "[{{#x.1}}has{{/x.1}}{{x.0}}]", "{\"x\":[7]}", "[7]");
  expect_lib(lib, "[{{x.2.y | default \"-\"}}]", "{\"x\":[1]}", "[-]");
  // ...but a missing one is an error: a misspelt name would otherwise always
  // show the "absent" branch.
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  // So is a part after the index that the element lacks, a name that is not
  // an index into a list, and an index into a name that is not there.
  static const char *const missing[][2] = {
      {"{{#x.0.y}}a{{/x.0.y}}", "{\"x\":[{}]}"},
      {"{{x.first}}", "{\"x\":[1]}"},
      {"{{#gone.0}}a{{/gone.0}}", "{\"x\":[]}"},
      {"{{x.0}}", "{\"x\":null}"},
  };
  for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
    assert_int_equal(render_src(lib, missing[i][0], missing[i][1], RP_ESCAPE_HTML, &out, &d),
                     RP_ESTRICT);
    assert_errors(&d, 1);
    rp_buf_free(&out);
    rp_diags_free(&d);
  }
  assert_int_equal(
      render_src(lib, "[{{^gaols}}none{{/gaols}}]", "{\"goals\":[]}", RP_ESCAPE_HTML, &out, &d),
      RP_ESTRICT);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].line, 1);
  assert_int_equal(d.items[0].col, 2);
  assert_non_null(strstr(d.items[0].msg, "'gaols'"));
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_library_free(lib);
  rp_filters_free(f);
}

static void test_strict_reports_every_missing_name(void **state) {
  rp_library_opts o = {.strict = true};
  rp_library *lib = rp_library_new(&o);
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  // Two different missing names: both are problems the author must fix, and
  // rp_template_render promises "diagnostics" for them. Inside a loop the
  // same tag is reported once (render.c's rerror says so).
  int rc = render_src(lib, "{{a}}\n{{#xs}}{{nope}}{{/xs}}\n{{b}}\n", "{\"xs\":[1,2,3]}",
                      RP_ESCAPE_HTML, &out, &d);
  assert_int_equal(rc, RP_ESTRICT);
  assert_diag(&d, TPATH, 1, 1, "'a'");
  assert_diag(&d, TPATH, 2, 8, "'nope'");
  assert_diag(&d, TPATH, 3, 1, "'b'");
  assert_errors(&d, 3);
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_strict_missing_partial(void **state) {
  rp_library_opts o = {.strict = true};
  rp_library *lib = rp_library_new(&o);
  rp_diags d = RP_DIAGS_INIT;
  const char *src = "a\n  {{>nope}}\nb {{>there}}\n";
  add(lib, "there", "T");
  rp_template *t = rp_template_compile(lib, TPATH, src, strlen(src), &d);
  assert_non_null(t);

  // Checked before rendering: reported at the tag.
  assert_int_equal(rp_template_check_partials(t, &d), 1);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 2, 3, "'nope'");
  rp_diags_free(&d);

  rp_buf out = RP_BUF_INIT;
  int rc = render_tpl(t, NULL, RP_ESCAPE_HTML, &out, &d);
  assert_int_equal(rc, RP_ESTRICT);
  assert_errors(&d, 1);
  assert_diag(&d, TPATH, 2, 3, "'nope'");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_template_free(t);

  // Transitively: a partial's own missing partial is reported in its file.
  add(lib, "outer", "x\n {{>inner}}");
  src = "{{>outer}}";
  t = rp_template_compile(lib, TPATH, src, strlen(src), &d);
  assert_non_null(t);
  assert_int_equal(rp_template_check_partials(t, &d), 1);
  assert_diag(&d, "outer.mustache", 2, 2, "'inner'");
  rp_diags_free(&d);
  rp_template_free(t);
  rp_library_free(lib);
}

static void test_nonstrict_missing_is_empty(void **state) {
  rp_library *lib = rp_library_new(NULL);
  expect_lib(lib, "[{{a}}|{{a.b.c}}|{{#s}}x{{/s}}|{{>p}}|{{{r}}}|{{&q}}]", NULL, "[|||||]");
  rp_library_free(lib);
}

// --- values as JavaScript reads them ---------------------------------------------------

static void test_js_falsy_and_truthy(void **state) {
  const char *tpl = "[{{#v}}T{{/v}}{{^v}}F{{/v}}]";
  const char *falsy[] = {"0", "-0", "\"\"", "null", "false", "[]", "0.0"};
  const char *truthy[] = {"1", "-1", "0.5", "\"0\"", "\" \"", "\"false\"", "true", "{}", "[0]"};
  char json[64];
  for (size_t i = 0; i < sizeof falsy / sizeof *falsy; i++) {
    snprintf(json, sizeof json, "{\"v\":%s}", falsy[i]);
    expect(tpl, json, "[F]");
  }
  for (size_t i = 0; i < sizeof truthy / sizeof *truthy; i++) {
    snprintf(json, sizeof json, "{\"v\":%s}", truthy[i]);
    expect(tpl, json, "[T]");
  }
  // NaN is falsy in JavaScript; only the builders can make it.
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "v", 1, rp_doc_number(doc, 0.0 / 0.0));
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  rp_template *t = rp_template_compile(lib, TPATH, tpl, strlen(tpl), &d);
  rp_ctx ctx = rp_doc_ctx(doc, root);
  rp_buf out = RP_BUF_INIT;
  assert_int_equal(rp_template_render(t, &ctx, NULL, &out, &d), RP_OK);
  assert_string_equal(out.data, "[F]");
  rp_buf_free(&out);
  rp_template_free(t);
  rp_library_free(lib);
  rp_doc_free(doc);

  // A list's elements are rendered whatever their truthiness.
  expect("[{{#xs}}<{{.}}>{{/xs}}]", "{\"xs\":[0,\"\",null,false]}", "[<0><><><false>]");
}

static void test_js_interpolation_of_values(void **state) {
  expect("{{xs}}", "{\"xs\":[1,\"a\",null]}", "1,a,");
  expect("{{xs}}", "{\"xs\":[[1,2],[3,[4]],[]]}", "1,2,3,4,");
  expect("{{xs}}", "{\"xs\":[]}", "");
  expect("{{xs}}", "{\"xs\":[true,false]}", "true,false");
  expect("{{m}}", "{\"m\":{\"a\":1}}", "[object Object]");
  expect("{{m}}", "{\"m\":{}}", "[object Object]");
  expect("{{xs}}", "{\"xs\":[{\"a\":1},2]}", "[object Object],2");
  expect("{{t}}/{{f}}", "{\"t\":true,\"f\":false}", "true/false");
  expect("{{{xs}}}", "{\"xs\":[\"<a>\",\"&\"]}", "<a>,&");
  expect("{{xs}}", "{\"xs\":[\"<a>\",\"&\"]}", "&lt;a&gt;,&amp;");
}

static void test_js_numbers(void **state) {
  expect("{{a}} {{b}} {{c}} {{d}} {{e}}", "{\"a\":1.5,\"b\":33,\"c\":1e21,\"d\":1.50,\"e\":33.0}",
         "1.5 33 1e+21 1.5 33");
  expect("{{a}} {{b}} {{c}} {{d}} {{e}}",
         "{\"a\":-0,\"b\":1e-7,\"c\":0.000001,\"d\":123e-2,\"e\":1e20}",
         "0 1e-7 0.000001 1.23 100000000000000000000");
  expect("{{a}}|{{b}}", "{\"a\":-2.5E3,\"b\":0.1}", "-2500|0.1");

  // Numbers made with the builder print the same way.
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, rp_doc_number(doc, 0.1 + 0.2));
  rp_doc_map_set(doc, root, "b", 1, rp_doc_number(doc, 1e21));
  rp_doc_map_set(doc, root, "c", 1, rp_doc_number(doc, 33));
  rp_doc_map_set(doc, root, "d", 1, rp_doc_number(doc, -1.5e-9));
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *tpl = "{{a}} {{b}} {{c}} {{d}}";
  rp_template *t = rp_template_compile(lib, TPATH, tpl, strlen(tpl), &d);
  rp_ctx ctx = rp_doc_ctx(doc, root);
  rp_buf out = RP_BUF_INIT;
  assert_int_equal(rp_template_render(t, &ctx, NULL, &out, &d), RP_OK);
  assert_string_equal(out.data, "0.30000000000000004 1e+21 33 -1.5e-9");
  rp_buf_free(&out);
  rp_template_free(t);
  rp_library_free(lib);
  rp_doc_free(doc);
}

static void test_html_escaping(void **state) {
  const char *json = "{\"x\":\"& < > \\\" ' / ` =\"}";
  expect("{{x}}", json, "&amp; &lt; &gt; &quot; &#39; / ` =");
  expect("{{{x}}}", json, "& < > \" ' / ` =");
  expect("{{&x}}", json, "& < > \" ' / ` =");
  expect("{{& x }}", json, "& < > \" ' / ` =");
  // Template text is never escaped.
  expect("<b>&amp;</b>", NULL, "<b>&amp;</b>");

  // RP_ESCAPE_NONE copies values as they are.
  rp_library *lib = rp_library_new(NULL);
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(render_src(lib, "<{{x}}>", json, RP_ESCAPE_NONE, &out, &d), RP_OK);
  assert_string_equal(out.data, "<& < > \" ' / ` =>");
  rp_buf_free(&out);

  // NULL options mean HTML escaping.
  const char *tpl = "{{x}}";
  rp_template *t = rp_template_compile(lib, TPATH, tpl, strlen(tpl), &d);
  rp_doc *doc = rp_doc_new();
  rp_value root = parse_json(doc, "{\"x\":\"<\"}");
  rp_ctx ctx = rp_doc_ctx(doc, root);
  assert_int_equal(rp_template_render(t, &ctx, NULL, &out, &d), RP_OK);
  assert_string_equal(out.data, "&lt;");
  rp_buf_free(&out);
  rp_doc_free(doc);
  rp_template_free(t);
  rp_diags_free(&d);
  rp_library_free(lib);
}

// Values are scanned for the characters to escape several bytes at a time:
// each of the five, and the bytes next to them in ASCII, at every position
// of values from 1 to 40 bytes long, and two specials in one value, must
// come out as escaping one byte at a time gives them.
static void test_html_escaping_every_position(void **state) {
  static const char specials[] = "&'\"<>";
  // Neighbours of the specials, and bytes past ASCII.
  static const char filler[] = "%(!#;=?x\xC3\xA9 ";
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *tpl = "[{{x}}]";
  rp_template *t = rp_template_compile(lib, TPATH, tpl, strlen(tpl), &d);
  assert_non_null(t);
  rp_doc *doc = rp_doc_new();
  rp_buf out = RP_BUF_INIT, want = RP_BUF_INIT;
  char value[48];
  size_t checked = 0;
  for (size_t len = 1; len <= 40; len++) {
    for (size_t pos = 0; pos < len; pos++) {
      for (size_t k = 0; k < sizeof specials; k++) {  // the last is NUL: no special
        for (size_t second = pos; second < len; second += 7) {
          for (size_t i = 0; i < len; i++)
            value[i] = filler[(i * 3 + len) % (sizeof filler - 1)];
          if (specials[k]) value[pos] = specials[k];
          if (second != pos) value[second] = specials[(k + second) % 5];
          rp_buf_clear(&want);
          rp_buf_addc(&want, '[');
          for (size_t i = 0; i < len; i++) {
            switch (value[i]) {
              case '&':
                rp_buf_adds(&want, "&amp;");
                break;
              case '<':
                rp_buf_adds(&want, "&lt;");
                break;
              case '>':
                rp_buf_adds(&want, "&gt;");
                break;
              case '"':
                rp_buf_adds(&want, "&quot;");
                break;
              case '\'':
                rp_buf_adds(&want, "&#39;");
                break;
              default:
                rp_buf_addc(&want, value[i]);
                break;
            }
          }
          rp_buf_addc(&want, ']');
          rp_doc_reset(doc);
          rp_value root = rp_doc_map(doc);
          rp_doc_map_set(doc, root, "x", 1, rp_doc_string(doc, value, len));
          rp_ctx ctx = rp_doc_ctx(doc, root);
          rp_buf_clear(&out);
          assert_int_equal(rp_template_render(t, &ctx, NULL, &out, &d), RP_OK);
          assert_int_equal(out.len, want.len);
          assert_memory_equal(out.data, want.data, want.len);
          checked++;
        }
      }
    }
  }
  assert_true(checked > 10000);
  assert_int_equal(d.n, 0);
  rp_buf_free(&out);
  rp_buf_free(&want);
  rp_doc_free(doc);
  rp_template_free(t);
  rp_diags_free(&d);
  rp_library_free(lib);
}

// --- partials ------------------------------------------------------------------------------

static void test_partials_through_loader(void **state) {
  table_entry items[] = {
      {"a", "A{{x}}", 0},
      {"b", "B", 0},
      {"bad", "\n{{#x}}", 0},
  };
  table tb = {items, 3, 0};
  rp_library_opts o = {.loader = table_loader, .loader_ud = &tb};
  rp_library *lib = rp_library_new(&o);
  expect_lib(lib, "[{{>a}}|{{>a}}|{{>b}}|{{>zzz}}]", "{\"x\":1}", "[A1|A1|B|]");
  // A second template reuses what the library compiled.
  expect_lib(lib, "{{>a}}{{>b}}", "{\"x\":2}", "A2B");
  assert_int_equal(atomic_load(&items[0].loads), 1);
  assert_int_equal(atomic_load(&items[1].loads), 1);
  assert_int_equal(atomic_load(&tb.misses), 1);

  rp_diags d = RP_DIAGS_INIT;
  assert_non_null(rp_library_get(lib, "a", 1, &d));
  assert_null(rp_library_get(lib, "zzz", 3, &d));
  assert_int_equal(d.n, 0);

  // A partial with errors: its own errors with the loader's path, and the
  // render fails.
  rp_buf out = RP_BUF_INIT;
  int rc = render_src(lib, "x {{>bad}}", NULL, RP_ESCAPE_HTML, &out, &d);
  assert_true(rc < 0);
  assert_diag(&d, "partials/bad.mustache", 2, 1, "'x'");
  assert_diag(&d, TPATH, 1, 3, "'bad'");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_partials_added(void **state) {
  table_entry items[] = {{"p", "from the loader", 0}};
  table tb = {items, 1, 0};
  rp_library_opts o = {.loader = table_loader, .loader_ud = &tb};
  rp_library *lib = rp_library_new(&o);
  rp_template *p = add(lib, "p", "<{{v}}>");
  rp_diags d = RP_DIAGS_INIT;
  assert_ptr_equal(rp_library_get(lib, "p", 1, &d), p);
  // What was added wins over the loader, which is never asked.
  expect_lib(lib, "{{>p}}", "{\"v\":\"&\"}", "<&amp;>");
  assert_int_equal(atomic_load(&items[0].loads), 0);

  // A template added with errors is refused, with every error reported.
  const char *bad = "{{/a}}{{/b}}";
  assert_null(rp_library_add(lib, "q", "q.mustache", bad, strlen(bad), &d));
  assert_errors(&d, 2);
  assert_diag(&d, "q.mustache", 1, 1, "'a'");
  assert_diag(&d, "q.mustache", 1, 7, "'b'");
  rp_diags_free(&d);
  rp_library_free(lib);
}

static void test_partial_replaced_is_used(void **state) {
  // rp_library_add "replaces any template of that name": a template that
  // has already rendered the old partial must render the new one (watch mode
  // reloads an edited partial this way).
  rp_library *lib = rp_library_new(NULL);
  add(lib, "p", "old");
  rp_diags d = RP_DIAGS_INIT;
  const char *src = "[{{>p}}]";
  rp_template *t = rp_template_compile(lib, TPATH, src, strlen(src), &d);
  rp_buf out = RP_BUF_INIT;
  assert_int_equal(render_tpl(t, NULL, RP_ESCAPE_HTML, &out, &d), RP_OK);
  assert_string_equal(out.data, "[old]");
  rp_buf_clear(&out);
  add(lib, "p", "new");
  assert_int_equal(render_tpl(t, NULL, RP_ESCAPE_HTML, &out, &d), RP_OK);
  assert_string_equal(out.data, "[new]");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_template_free(t);
  rp_library_free(lib);
}

static void test_partial_added_after_missing_is_found(void **state) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *src = "[{{>late}}]";
  rp_template *t = rp_template_compile(lib, TPATH, src, strlen(src), &d);
  rp_buf out = RP_BUF_INIT;
  assert_int_equal(render_tpl(t, NULL, RP_ESCAPE_HTML, &out, &d), RP_OK);
  assert_string_equal(out.data, "[]");
  rp_buf_clear(&out);
  add(lib, "late", "here");
  assert_int_equal(render_tpl(t, NULL, RP_ESCAPE_HTML, &out, &d), RP_OK);
  assert_string_equal(out.data, "[here]");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_template_free(t);
  rp_library_free(lib);
}

static void test_recursive_partial_bounded_by_data(void **state) {
  rp_library *lib = rp_library_new(NULL);
  add(lib, "node", "{{name}}{{#kids}}({{>node}}){{/kids}}");
  // Leaves say kids: [] so that the lookup does not climb to the parent's.
  expect_lib(lib, "{{>node}}",
             "{\"name\":\"r\",\"kids\":[{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":[]}]},"
             "{\"name\":\"c\",\"kids\":[]}]}",
             "r(a(b))(c)");
  rp_library_free(lib);
}

static void test_recursive_partial_infinite(void **state) {
  rp_library *lib = rp_library_new(NULL);
  add(lib, "p", "x{{>p}}");
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = render_src(lib, "{{>p}}", NULL, RP_ESCAPE_HTML, &out, &d);
  assert_true(rc < 0);
  assert_int_equal(rc, RP_ELIMIT);
  assert_errors(&d, 1);
  assert_diag(&d, "p.mustache", 1, 2, "nested deeper than 200");
  rp_buf_free(&out);
  rp_diags_free(&d);

  // Through a parent too.
  add(lib, "q", "{{<q}}{{/q}}");
  rc = render_src(lib, "{{<q}}{{/q}}", NULL, RP_ESCAPE_HTML, &out, &d);
  assert_int_equal(rc, RP_ELIMIT);
  assert_diag(&d, "q.mustache", 1, 1, "nested deeper than");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_library_free(lib);
}

// A library with max_depth 5 and a chain p1 -> p2 -> ... -> p<n>.
static rp_library *chain_library(int n) {
  rp_library_opts o = {.max_depth = 5};
  rp_library *lib = rp_library_new(&o);
  for (int i = 1; i <= n; i++) {
    char name[16], src[48];
    snprintf(name, sizeof name, "p%d", i);
    if (i < n)
      snprintf(src, sizeof src, "%d{{>p%d}}", i, i + 1);
    else
      snprintf(src, sizeof src, "%d", i);
    add(lib, name, src);
  }
  return lib;
}

static void test_max_depth_option(void **state) {
  // Five partials inside each other: allowed.
  rp_library *lib = chain_library(5);
  expect_lib(lib, "{{>p1}}", NULL, "12345");
  rp_library_free(lib);
  // Six: one too many, reported at the tag that would go deeper.
  lib = chain_library(6);
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = render_src(lib, "{{>p1}}", NULL, RP_ESCAPE_HTML, &out, &d);
  assert_int_equal(rc, RP_ELIMIT);
  assert_diag(&d, "p5.mustache", 1, 2, "nested deeper than 5");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rp_library_free(lib);
}

// --- whitespace --------------------------------------------------------------------------------

static void test_standalone_multiple_tags(void **state) {
  expect("before\n  {{#a}}{{/a}}\nafter", "{\"a\":true}", "before\nafter");
  expect("before\n  {{#a}}{{/a}}\nafter", "{\"a\":false}", "before\nafter");
  expect("before\n  {{#a}} {{! c }}\t{{/a}}  \nafter", NULL, "before\nafter");
  expect("before\n\t{{^a}}{{/a}}{{!x}}\nafter\n", NULL, "before\nafter\n");
  // A line with an interpolation is never standalone.
  expect("  {{#a}}{{x}}{{/a}}\n", "{\"a\":true,\"x\":\"v\"}", "  v\n");
  // Nor is one with other text.
  expect("  {{#a}}.{{/a}}\n", "{\"a\":true}", "  .\n");
}

static void test_crlf(void **state) {
  expect("a\r\n  {{#s}}\r\n  x\r\n  {{/s}}\r\nb\r\n", "{\"s\":true}", "a\r\n  x\r\nb\r\n");
  expect("a\r\n{{^s}}\r\nnone\r\n{{/s}}\r\n", "{\"s\":[]}", "a\r\nnone\r\n");
  expect("a\r\n{{! note }}\r\nb", NULL, "a\r\nb");
  rp_library *lib = rp_library_new(NULL);
  add(lib, "p", "l1\r\nl2\r\n");
  expect_lib(lib, "x\r\n  {{>p}}\r\ny", NULL, "x\r\n  l1\r\n  l2\r\ny");
  rp_library_free(lib);
}

static void test_partial_indentation(void **state) {
  rp_library *lib = rp_library_new(NULL);
  add(lib, "p", "a\n{{v}}\nb\n");
  // Each line of the partial is indented; the lines of an interpolated
  // value are not.
  expect_lib(lib, "<\n  {{>p}}\n>", "{\"v\":\"1\\n2\"}", "<\n  a\n  1\n2\n  b\n>");
  // Not standalone: no indentation.
  expect_lib(lib, "<  {{>p}}>", "{\"v\":\"1\"}", "<  a\n1\nb\n>");
  // Nested standalone partials add up.
  add(lib, "outer", "o\n  {{>inner}}\n");
  add(lib, "inner", "i1\ni2\n");
  expect_lib(lib, "  {{>outer}}\n", NULL, "  o\n    i1\n    i2\n");
  rp_library_free(lib);
}

// --- inheritance -------------------------------------------------------------------------------

static void test_inheritance_two_blocks(void **state) {
  rp_library *lib = rp_library_new(NULL);
  add(lib, "layout", "<h1>{{$title}}Untitled{{/title}}</h1><p>{{$body}}Empty{{/body}}</p>");
  expect_lib(lib, "{{<layout}}{{/layout}}", NULL, "<h1>Untitled</h1><p>Empty</p>");
  expect_lib(lib, "{{<layout}}{{$body}}Text{{/body}}{{/layout}}", NULL,
             "<h1>Untitled</h1><p>Text</p>");
  expect_lib(lib, "{{<layout}}{{$body}}B{{/body}}{{$title}}T{{/title}}{{/layout}}", NULL,
             "<h1>T</h1><p>B</p>");
  expect_lib(lib, "{{<layout}}{{$title}}{{name}}{{/title}}{{/layout}}", "{\"name\":\"<x>\"}",
             "<h1>&lt;x&gt;</h1><p>Empty</p>");
  rp_library_free(lib);
}

static void test_inheritance_nested_parents(void **state) {
  rp_library *lib = rp_library_new(NULL);
  add(lib, "base", "[{{$a}}base-a{{/a}}|{{$b}}base-b{{/b}}|{{$c}}base-c{{/c}}]");
  add(lib, "mid", "{{<base}}{{$a}}mid-a{{/a}}{{$b}}mid-b{{/b}}{{/base}}");
  expect_lib(lib, "{{<mid}}{{/mid}}", NULL, "[mid-a|mid-b|base-c]");
  // The outermost override wins over the one in between.
  expect_lib(lib, "{{<mid}}{{$b}}main-b{{/b}}{{/mid}}", NULL, "[mid-a|main-b|base-c]");
  expect_lib(lib, "{{<mid}}{{$c}}main-c{{/c}}{{$a}}main-a{{/a}}{{/mid}}", NULL,
             "[main-a|mid-b|main-c]");
  rp_library_free(lib);
}

static void test_inheritance_blocks_with_sections(void **state) {
  rp_library *lib = rp_library_new(NULL);
  add(lib, "list", "{{$items}}{{#xs}}-{{.}}{{/xs}}{{/items}}");
  expect_lib(lib, "{{<list}}{{/list}}", "{\"xs\":[1,2]}", "-1-2");
  const char *mine =
      "{{<list}}{{$items}}{{#xs}}<{{.}}>{{/xs}}{{^xs}}none{{/xs}}{{/items}}{{/list}}";
  expect_lib(lib, mine, "{\"xs\":[1,2]}", "<1><2>");
  expect_lib(lib, mine, "{\"xs\":[]}", "none");
  // A block inside a section of the parent: the override renders in the
  // section's context, once per element.
  add(lib, "each", "{{#xs}}{{$item}}({{.}}){{/item}}{{/xs}}");
  expect_lib(lib, "{{<each}}{{/each}}", "{\"xs\":[\"a\",\"b\"]}", "(a)(b)");
  expect_lib(lib, "{{<each}}{{$item}}[{{.}}]{{/item}}{{/each}}", "{\"xs\":[\"a\",\"b\"]}",
             "[a][b]");
  rp_library_free(lib);
}

// --- threads ---------------------------------------------------------------------------------

enum { NTHREADS = 8, NRENDERS = 2000, MAXPEOPLE = 4 };

static const char *const thread_main =
    "Thread {{id}}\n{{#people}}{{>row}}{{/people}}{{^people}}none{{/people}}";

static rp_value thread_data(rp_doc *doc, int id, int npeople) {
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "id", 2, rp_doc_number(doc, id));
  rp_value people = rp_doc_list(doc);
  for (int j = 0; j < npeople; j++) {
    rp_value p = rp_doc_map(doc);
    char name[32];
    int n = snprintf(name, sizeof name, "t%d&p%d", id, j);
    rp_doc_map_set(doc, p, "name", 4, rp_doc_string(doc, name, (size_t)n));
    rp_doc_map_set(doc, p, "age", 3, rp_doc_number(doc, id * 10 + j));
    rp_doc_map_set(doc, p, "minor", 5, rp_doc_bool(doc, j == 1));
    rp_doc_list_push(doc, people, p);
  }
  rp_doc_map_set(doc, root, "people", 6, people);
  return root;
}

// The output, written out by hand from the templates.
static void thread_expected(int id, int npeople, rp_buf *b) {
  rp_buf_printf(b, "Thread %d\n", id);
  for (int j = 0; j < npeople; j++)
    rp_buf_printf(b, "- t%d&amp;p%d (%d%s)\n", id, j, id * 10 + j, j == 1 ? " minor" : "");
  if (npeople == 0) rp_buf_adds(b, "none");
}

typedef struct thread_job {
  const rp_template *t;
  int id;
  const rp_buf *single;  // single-threaded outputs, one per npeople
  int failures;
} thread_job;

static void *thread_run(void *arg) {
  thread_job *job = arg;
  rp_doc *doc = rp_doc_new();
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  for (int i = 0; i < NRENDERS; i++) {
    int npeople = i % MAXPEOPLE;
    rp_doc_reset(doc);
    rp_ctx ctx = rp_doc_ctx(doc, thread_data(doc, job->id, npeople));
    rp_buf_clear(&out);
    int rc = rp_template_render(job->t, &ctx, NULL, &out, &d);
    const rp_buf *want = &job->single[npeople];
    if (rc != RP_OK || d.n || out.len != want->len || memcmp(out.data, want->data, out.len) != 0)
      job->failures++;
  }
  rp_diags_free(&d);
  rp_buf_free(&out);
  rp_doc_free(doc);
  return NULL;
}

static void test_threads_share_a_template(void **state) {
  table_entry items[] = {
      {"row", "- {{name}} ({{>age}})\n", 0},
      {"age", "{{age}}{{#minor}} minor{{/minor}}", 0},
  };
  table tb = {items, 2, 0};
  rp_library_opts o = {.loader = table_loader, .loader_ud = &tb};
  rp_diags d = RP_DIAGS_INIT;

  // Single-threaded reference outputs, from a library of their own so that
  // the threads below start with a cold partial cache.
  rp_library *ref_lib = rp_library_new(&o);
  rp_template *ref = rp_template_compile(ref_lib, TPATH, thread_main, strlen(thread_main), &d);
  assert_non_null(ref);
  rp_buf single[NTHREADS][MAXPEOPLE];
  for (int id = 0; id < NTHREADS; id++) {
    for (int n = 0; n < MAXPEOPLE; n++) {
      rp_doc *doc = rp_doc_new();
      rp_ctx ctx = rp_doc_ctx(doc, thread_data(doc, id, n));
      single[id][n] = (rp_buf)RP_BUF_INIT;
      assert_int_equal(rp_template_render(ref, &ctx, NULL, &single[id][n], &d), RP_OK);
      rp_buf want = RP_BUF_INIT;
      thread_expected(id, n, &want);
      check_out(thread_main, single[id][n].data, single[id][n].len, want.data);
      rp_buf_free(&want);
      rp_doc_free(doc);
    }
  }
  rp_template_free(ref);
  rp_library_free(ref_lib);
  atomic_store(&items[0].loads, 0);
  atomic_store(&items[1].loads, 0);

  rp_library *lib = rp_library_new(&o);
  rp_template *t = rp_template_compile(lib, TPATH, thread_main, strlen(thread_main), &d);
  assert_non_null(t);
  pthread_t th[NTHREADS];
  thread_job jobs[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    jobs[i] = (thread_job){t, i, single[i], 0};
    assert_int_equal(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++)
    assert_int_equal(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < NTHREADS; i++)
    assert_int_equal(jobs[i].failures, 0);
  // Each partial was loaded and compiled once, however many threads raced.
  assert_int_equal(atomic_load(&items[0].loads), 1);
  assert_int_equal(atomic_load(&items[1].loads), 1);
  for (int id = 0; id < NTHREADS; id++)
    for (int n = 0; n < MAXPEOPLE; n++)
      rp_buf_free(&single[id][n]);
  rp_template_free(t);
  rp_library_free(lib);
  rp_diags_free(&d);
}

// --- the diagnostics limit ------------------------------------------------------------------

static void test_diags_limit(void **state) {
  rp_buf src = RP_BUF_INIT;
  for (int i = 0; i < 5000; i++)
    rp_buf_adds(&src, "{{/x}}");
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  assert_null(rp_template_compile(lib, TPATH, src.data, src.len, &d));
  assert_int_equal(d.errors, 5000);
  assert_int_equal(d.n, 1000);
  assert_int_equal(d.dropped, 4000);
  assert_true(d.cap <= 1024);
  // The first ones are kept, in order.
  assert_diag(&d, TPATH, 1, 1, "'x'");
  assert_int_equal(d.items[999].col, 999 * 6 + 1);
  rp_diags_free(&d);

  rp_diags small = RP_DIAGS_INIT;
  small.limit = 10;
  assert_null(rp_template_compile(lib, TPATH, src.data, src.len, &small));
  assert_int_equal(small.errors, 5000);
  assert_int_equal(small.n, 10);
  assert_int_equal(small.dropped, 4990);
  assert_true(small.cap <= 16);
  rp_diags_free(&small);
  rp_buf_free(&src);
  rp_library_free(lib);
}

static void upper_escape(rp_buf *out, const char *s, size_t len) {
  rp_buf_addc(out, '<');
  for (size_t i = 0; i < len; i++)
    rp_buf_addc(out, (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]));
  rp_buf_addc(out, '>');
}

static void test_escape_fn(void **state) {
  // A render's own escaper replaces HTML escaping for {{value}}, once per
  // value; {{{value}}} and {{&value}} stay as they are.
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *src = "{{a}} {{{a}}} {{&a}} {{b}}";
  rp_template *t = rp_template_compile(lib, "t.mustache", src, strlen(src), &d);
  assert_non_null(t);
  rp_doc *doc = rp_doc_new();
  rp_value root = parse_json(doc, "{\"a\":\"x&y\",\"b\":2}");
  rp_ctx ctx = rp_doc_ctx(doc, root);
  rp_render_opts opts = {.escape = RP_ESCAPE_HTML, .escape_fn = upper_escape};
  rp_buf out = RP_BUF_INIT;
  assert_int_equal(rp_template_render(t, &ctx, &opts, &out, &d), RP_OK);
  assert_string_equal(out.data, "<X&Y> x&y x&y <2>");
  rp_buf_free(&out);
  rp_doc_free(doc);
  rp_template_free(t);
  rp_library_free(lib);
  rp_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compile_ok_has_no_diags),
      cmocka_unit_test(test_error_unclosed_section),
      cmocka_unit_test(test_error_mismatched_close),
      cmocka_unit_test(test_error_stray_close),
      cmocka_unit_test(test_error_unclosed_tag),
      cmocka_unit_test(test_error_bad_delimiters),
      cmocka_unit_test(test_error_unknown_filter),
      cmocka_unit_test(test_error_filters_on_section),
      cmocka_unit_test(test_error_empty_tag),
      cmocka_unit_test(test_error_name_with_space),
      cmocka_unit_test(test_error_many_in_one_template),
      cmocka_unit_test(test_strict_missing_name),
      cmocka_unit_test(test_escape_fn),
      cmocka_unit_test(test_strict_allowed_forms),
      cmocka_unit_test(test_strict_reports_every_missing_name),
      cmocka_unit_test(test_strict_missing_partial),
      cmocka_unit_test(test_nonstrict_missing_is_empty),
      cmocka_unit_test(test_js_falsy_and_truthy),
      cmocka_unit_test(test_js_interpolation_of_values),
      cmocka_unit_test(test_js_numbers),
      cmocka_unit_test(test_html_escaping),
      cmocka_unit_test(test_html_escaping_every_position),
      cmocka_unit_test(test_partials_through_loader),
      cmocka_unit_test(test_partials_added),
      cmocka_unit_test(test_partial_replaced_is_used),
      cmocka_unit_test(test_partial_added_after_missing_is_found),
      cmocka_unit_test(test_recursive_partial_bounded_by_data),
      cmocka_unit_test(test_recursive_partial_infinite),
      cmocka_unit_test(test_max_depth_option),
      cmocka_unit_test(test_standalone_multiple_tags),
      cmocka_unit_test(test_crlf),
      cmocka_unit_test(test_partial_indentation),
      cmocka_unit_test(test_inheritance_two_blocks),
      cmocka_unit_test(test_inheritance_nested_parents),
      cmocka_unit_test(test_inheritance_blocks_with_sections),
      cmocka_unit_test(test_threads_share_a_template),
      cmocka_unit_test(test_diags_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
