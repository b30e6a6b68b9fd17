// Unit tests of Lua values turned into data (rp_lua_to_doc): the shape of
// lists and maps, key order, tables shared between two places, and the
// tables that cannot be data.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "lua/host.h"
#include "lua/internal.h"
#include "util/buf.h"
#include "util/error.h"

// Runs src (a chunk returning one value) and converts what it returns: the
// value's JSON into *json, or the reason it is not data into *err.
static int convert(const char *src, char **json, char **err) {
  rp_lua *h = rp_lua_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  rp_lua_ref ref = 0;
  *json = *err = NULL;
  int rc = rp_lua_run_string(h, "@t.lua", src, strlen(src), &d, &ref);
  assert_int_equal(rc, RP_OK);
  rp_lua_push_ref(h, ref);
  rp_doc *doc = rp_doc_new();
  rp_value v;
  rc = rp_lua_to_doc(h, -1, doc, &v, err);
  if (rc == RP_OK) {
    rp_buf b = RP_BUF_INIT;
    rp_doc_write_json_line(doc, v, &b);
    if (b.len && b.data[b.len - 1] == '\n') b.data[--b.len] = '\0';
    *json = rp_buf_detach(&b);
  }
  rp_lua_pop(h, 1);
  rp_doc_free(doc);
  rp_lua_unref(h, ref);
  rp_diags_free(&d);
  rp_lua_free(h);
  return rc;
}

static void expect_json(const char *src, const char *want) {
  char *json, *err;
  int rc = convert(src, &json, &err);
  if (rc != RP_OK) fail_msg("%s: %s", src, err);
  assert_string_equal(json, want);
  free(json);
}

static void expect_refused(const char *src, const char *needle) {
  char *json, *err;
  assert_int_equal(convert(src, &json, &err), RP_EDATA);
  assert_null(json);
  assert_non_null(strstr(err, needle));
  free(err);
}

static void test_shapes(void **state) {
  (void)state;
  expect_json("return { 1, 'two', true, 2.5 }", "[1,\"two\",true,2.5]");
  expect_json("return {}", "[]");
  expect_json("return rapport and nil or { a = {}, b = setmetatable({}, nil) }",
              "{\"a\":[],\"b\":[]}");
  // Keys in byte order, whatever order Lua keeps them in; a key that is a
  // prefix of another comes first, and a zero byte is a byte like another.
  expect_json(
      "local t = {}\nfor _, k in ipairs({ 'b', 'ab', 'a', 'a\\0z', 'B', 'aa' }) do\n"
      "  t[k] = #k\nend\nreturn t",
      "{\"B\":1,\"a\":1,\"a\\u0000z\":3,\"aa\":2,\"ab\":2,\"b\":1}");
}

static void test_a_table_in_two_places_is_shared_not_a_cycle(void **state) {
  (void)state;
  // The same table under two keys and twice in a list: each place shows it.
  expect_json(
      "local s = { x = 1, list = { 'a', 'b' } }\n"
      "return { one = s, two = s, both = { s, s } }",
      "{\"both\":[{\"list\":[\"a\",\"b\"],\"x\":1},{\"list\":[\"a\",\"b\"],\"x\":1}],"
      "\"one\":{\"list\":[\"a\",\"b\"],\"x\":1},\"two\":{\"list\":[\"a\",\"b\"],\"x\":1}}");
  // A table held at many places of a wide tree.
  expect_json(
      "local leaf = { 1 }\nlocal t = {}\nfor i = 1, 300 do t[i] = { leaf, leaf } end\n"
      "return { n = #t, first = t[1], last = t[300] }",
      "{\"first\":[[1],[1]],\"last\":[[1],[1]],\"n\":300}");
}

static void test_what_cannot_be_data(void **state) {
  (void)state;
  expect_refused("local t = {}\nt.self = t\nreturn t", "a table contains itself");
  expect_refused("local a, b = {}, {}\na.b = b\nb.a = a\nreturn { a }", "a table contains itself");
  expect_refused("local t = { x = {} }\nt.x.y = { z = t.x }\nreturn t", "a table contains itself");
  expect_refused("return { 1, 2, x = 3 }", "mixes list items and other keys");
  expect_refused("return { [true] = 1 }", "keys that are not text");
  expect_refused("return { f = print }", "a function cannot be data");
  // A shared table is within the same depth limit as a copy, wherever it
  // is met first: the same error every time, however Lua orders the keys.
  for (int run = 0; run < 20; run++)
    expect_refused(
        "local a = 'leaf'\nfor i = 1, 60 do a = { k = a } end\n"
        "local w = a\nfor i = 1, 6 do w = { k = w } end\n"
        "return { shallow = a, wrapped = w }",
        "tables nested deeper than");
  // Small in memory, endless written out: a table holding another twice,
  // forty levels deep.
  expect_refused("local t = 'x'\nfor i = 1, 40 do t = { a = t, b = t } end\nreturn { t }",
                 "more than 16777216 values");
  // A problem deep inside a map stops the walk, and nothing is kept.
  expect_refused("local t = {}\nfor i = 1, 50 do t['k' .. i] = i end\nt.k25 = { print }\nreturn t",
                 "a function cannot be data");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_a_table_in_two_places_is_shared_not_a_cycle),
      cmocka_unit_test(test_what_cannot_be_data),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
