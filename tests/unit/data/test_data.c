// Unit tests for core/data: the document tree, its builders and rp_doc_ops,
// JavaScript number text, and the JSON, YAML and JSONL loaders with every
// strictness rule at its exact line and column. Runs from tests/ (fixtures
// in unit/data/).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data.h"
#include "data/internal.h"
#include "util/number.h"

// A string literal and its length (literals here may hold NUL or \xff).
#define S(lit) lit, sizeof(lit) - 1

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

typedef int (*parse_fn)(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                        rp_value *root);

typedef struct parsed {
  rp_doc *doc;
  rp_value root;
  rp_diags diags;
  int status;
  char *msg;  // the first diagnostic, formatted, or NULL
} parsed;

static void parse_with(parsed *p, parse_fn fn, const char *path, const char *src, size_t len) {
  p->doc = rp_doc_new();
  rp_diags none = RP_DIAGS_INIT;
  p->diags = none;
  p->status = fn(p->doc, path, src, len, &p->diags, &p->root);
  p->msg = p->diags.n ? rp_diag_format(&p->diags.items[0]) : NULL;
}

static void parsed_free(parsed *p) {
  free(p->msg);
  rp_diags_free(&p->diags);
  rp_doc_free(p->doc);
}

static rp_kind kind(rp_doc *d, rp_value v) {
  return rp_doc_ops.kind(d, v);
}

static rp_value get(rp_doc *d, rp_value map, const char *key) {
  rp_value v = {NULL, 0};
  if (!rp_doc_ops.get(d, map, key, strlen(key), &v)) fail_msg("key \"%s\" not found", key);
  return v;
}

static bool has(rp_doc *d, rp_value map, const char *key) {
  rp_value v;
  return rp_doc_ops.get(d, map, key, strlen(key), &v);
}

static rp_value at(rp_doc *d, rp_value list, size_t i) {
  return rp_doc_ops.at(d, list, i);
}

static void assert_text(rp_doc *d, rp_value v, const char *want) {
  size_t n = 99;
  const char *s = rp_doc_ops.str(d, v, &n);
  assert_non_null(s);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(s, want, n);
  assert_int_equal(s[n], '\0');
}

static void assert_pos(rp_doc *d, rp_value v, int line, int col) {
  int l = -1, c = -1;
  rp_doc_pos(d, v, &l, &c);
  assert_int_equal(l, line);
  assert_int_equal(c, col);
}

// Parses src and checks the one diagnostic, the status and the null root.
static void expect_error(parse_fn fn, const char *path, const char *src, size_t len, int status,
                         const char *want) {
  parsed p;
  parse_with(&p, fn, path, src, len);
  if (!p.msg || strcmp(p.msg, want) != 0)
    fail_msg("for input \"%.*s\"\n  got:  %s\n  want: %s", (int)(len > 60 ? 60 : len), src,
             p.msg ? p.msg : "(no diagnostic)", want);
  assert_int_equal(p.status, status);
  assert_int_equal(p.diags.n, 1);
  assert_int_equal(p.diags.errors, 1);
  assert_int_equal(kind(p.doc, p.root), RP_KIND_NULL);
  parsed_free(&p);
}

static void json_error(const char *src, size_t len, int status, const char *want) {
  expect_error(rp_json_parse, "data.json", src, len, status, want);
}

static void yaml_error(const char *src, size_t len, int status, const char *want) {
  expect_error(rp_yaml_parse, "data.yaml", src, len, status, want);
}

// ---------------------------------------------------------------------------
// Builders and rp_doc_ops
// ---------------------------------------------------------------------------

static void test_builders_scalars(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  rp_value n = rp_doc_null(d), t = rp_doc_bool(d, true), f = rp_doc_bool(d, false);
  rp_value x = rp_doc_number(d, 1.5), s = rp_doc_string(d, S("a\0b"));
  rp_value empty = rp_doc_string(d, NULL, 0);
  assert_int_equal(kind(d, n), RP_KIND_NULL);
  assert_int_equal(kind(d, t), RP_KIND_BOOL);
  assert_true(rp_doc_ops.boolean(d, t));
  assert_false(rp_doc_ops.boolean(d, f));
  assert_int_equal(kind(d, x), RP_KIND_NUMBER);
  assert_true(rp_doc_ops.number(d, x) == 1.5);
  assert_text(d, x, "1.5");
  assert_int_equal(kind(d, s), RP_KIND_STRING);
  size_t len;
  const char *bytes = rp_doc_ops.str(d, s, &len);
  assert_int_equal(len, 3);
  assert_memory_equal(bytes, "a\0b", 3);
  assert_text(d, empty, "");
  // Scalars have no length, no text unless strings or numbers, no position.
  assert_int_equal(rp_doc_ops.len(d, s), 0);
  assert_null(rp_doc_ops.str(d, n, &len));
  assert_int_equal(len, 0);
  assert_null(rp_doc_ops.str(d, t, &len));
  assert_pos(d, s, 0, 0);
  // A zero handle reads as null everywhere.
  rp_value zero = {NULL, 0};
  assert_int_equal(kind(d, zero), RP_KIND_NULL);
  assert_false(has(d, zero, "a"));
  assert_int_equal(rp_doc_ops.len(d, zero), 0);
  assert_pos(d, zero, 0, 0);
  rp_doc_free(d);
  rp_doc_free(NULL);
}

static void test_builders_containers(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  rp_value list = rp_doc_list(d), map = rp_doc_map(d);
  assert_int_equal(kind(d, list), RP_KIND_LIST);
  assert_int_equal(kind(d, map), RP_KIND_MAP);
  assert_int_equal(rp_doc_ops.len(d, list), 0);
  assert_int_equal(kind(d, at(d, list, 0)), RP_KIND_NULL);  // out of range

  assert_int_equal(rp_doc_map_set(d, map, S("items"), list), RP_OK);
  assert_int_equal(rp_doc_map_set(d, map, S("name"), rp_doc_string(d, S("x"))), RP_OK);
  assert_int_equal(rp_doc_map_set(d, map, S("none"), rp_doc_null(d)), RP_OK);
  assert_int_equal(rp_doc_map_set(d, map, S("name"), rp_doc_null(d)), RP_EDATA);
  assert_int_equal(rp_doc_map_set(d, list, S("k"), rp_doc_null(d)), RP_EUSAGE);
  assert_int_equal(rp_doc_map_set(d, map, S(""), rp_doc_bool(d, true)), RP_OK);
  // Containers hold values by reference: pushing after insertion shows.
  for (int i = 0; i < 100; i++)
    rp_doc_list_push(d, list, rp_doc_number(d, i));
  rp_doc_list_push(d, map, rp_doc_null(d));  // not a list: ignored
  assert_int_equal(rp_doc_ops.len(d, map), 4);
  assert_int_equal(rp_doc_ops.len(d, map), 4);
  rp_value items = get(d, map, "items");
  assert_int_equal(rp_doc_ops.len(d, items), 100);
  assert_text(d, at(d, items, 0), "0");
  assert_text(d, at(d, items, 99), "99");
  assert_int_equal(kind(d, at(d, items, 100)), RP_KIND_NULL);
  assert_text(d, get(d, map, "name"), "x");
  // get finds a key whose value is null, and says no for a missing key.
  assert_int_equal(kind(d, get(d, map, "none")), RP_KIND_NULL);
  assert_false(has(d, map, "nonexistent"));
  assert_false(has(d, map, "nam"));
  assert_false(has(d, map, "names"));
  assert_true(has(d, map, ""));
  assert_false(has(d, items, "0"));  // not a map
  // Entries in insertion order.
  const char *key;
  size_t keylen;
  rp_value v;
  assert_true(rp_doc_map_at(d, map, 1, &key, &keylen, &v));
  assert_string_equal(key, "name");
  assert_int_equal(keylen, 4);
  assert_text(d, v, "x");
  assert_true(rp_doc_map_at(d, map, 3, &key, NULL, NULL));
  assert_string_equal(key, "");
  assert_false(rp_doc_map_at(d, map, 4, &key, &keylen, &v));
  assert_false(rp_doc_map_at(d, list, 0, &key, &keylen, &v));
  // put replaces a value in its place, and adds a key that is not there.
  assert_int_equal(rp_doc_map_put(d, map, S("name"), rp_doc_string(d, S("y"))), RP_OK);
  assert_int_equal(rp_doc_map_put(d, map, S("more"), rp_doc_bool(d, true)), RP_OK);
  assert_int_equal(rp_doc_map_put(d, list, S("k"), rp_doc_null(d)), RP_EUSAGE);
  assert_int_equal(rp_doc_ops.len(d, map), 5);
  assert_true(rp_doc_map_at(d, map, 1, &key, NULL, &v));
  assert_string_equal(key, "name");
  assert_text(d, v, "y");
  assert_text(d, get(d, map, "name"), "y");
  assert_true(rp_doc_map_at(d, map, 4, &key, NULL, NULL));
  assert_string_equal(key, "more");
  int line = -1, col = -1;
  rp_doc_key_pos(d, map, 0, &line, &col);
  assert_int_equal(line, 0);
  assert_int_equal(col, 0);
  rp_doc_free(d);
}

// Maps past 8 entries switch to a hash index; every key must stay findable
// while the map grows, and repeated keys stay refused.
static void test_builders_large_map(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  rp_value map = rp_doc_map(d);
  char key[32];
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(key, sizeof key, "key%d", i);
    assert_int_equal(rp_doc_map_set(d, map, key, (size_t)n, rp_doc_number(d, i)), RP_OK);
    // The newest and the first keys are findable at every size.
    rp_value v;
    assert_true(rp_doc_ops.get(d, map, key, (size_t)n, &v));
    assert_true(rp_doc_ops.number(d, v) == i);
    assert_true(has(d, map, "key0"));
  }
  assert_int_equal(rp_doc_ops.len(d, map), 1000);
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(key, sizeof key, "key%d", i);
    rp_value v;
    assert_true(rp_doc_ops.get(d, map, key, (size_t)n, &v));
    assert_true(rp_doc_ops.number(d, v) == i);
    assert_int_equal(rp_doc_map_set(d, map, key, (size_t)n, v), RP_EDATA);
  }
  assert_false(has(d, map, "key1000"));
  assert_false(has(d, map, "key"));
  assert_int_equal(rp_doc_ops.len(d, map), 1000);
  rp_doc_free(d);
}

typedef struct lambda_state {
  int calls;
  bool saw_null_text;
} lambda_state;

static int shout(void *ud, const char *text, size_t len, rp_buf *out, char **errmsg) {
  (void)errmsg;
  lambda_state *st = ud;
  st->calls++;
  if (!text) {
    st->saw_null_text = true;
    rp_buf_adds(out, "{{name}}");
    return RP_OK;
  }
  for (size_t i = 0; i < len; i++)
    rp_buf_addc(out, (char)toupper((unsigned char)text[i]));
  return RP_OK;
}

static int broken(void *ud, const char *text, size_t len, rp_buf *out, char **errmsg) {
  (void)ud, (void)text, (void)len, (void)out;
  *errmsg = strdup("plugins/x.lua:3: lambda failed");
  return RP_ELAMBDA;
}

static void test_lambda(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  lambda_state st = {0, false};
  rp_value fn = rp_doc_lambda(d, shout, &st), bad = rp_doc_lambda(d, broken, NULL);
  rp_value map = rp_doc_map(d);
  assert_int_equal(rp_doc_map_set(d, map, S("shout"), fn), RP_OK);
  rp_ctx ctx = rp_doc_ctx(d, map);
  assert_ptr_equal(ctx.ops, &rp_doc_ops);
  assert_ptr_equal(ctx.ud, d);
  assert_ptr_equal(ctx.root.p, map.p);
  assert_null(rp_doc_ops.mark);
  assert_null(rp_doc_ops.release);

  rp_value v = get(d, map, "shout");
  assert_int_equal(kind(d, v), RP_KIND_LAMBDA);
  rp_buf out = RP_BUF_INIT;
  char *err = NULL;
  assert_int_equal(ctx.ops->call(ctx.ud, v, S("hi {{x}}"), &out, &err), RP_OK);
  assert_string_equal(out.data, "HI {{X}}");
  rp_buf_clear(&out);
  assert_int_equal(ctx.ops->call(ctx.ud, v, NULL, 0, &out, &err), RP_OK);
  assert_string_equal(out.data, "{{name}}");
  assert_true(st.saw_null_text);
  assert_int_equal(st.calls, 2);
  assert_null(err);

  assert_int_equal(rp_doc_ops.call(d, bad, S("x"), &out, &err), RP_ELAMBDA);
  assert_string_equal(err, "plugins/x.lua:3: lambda failed");
  free(err);
  err = NULL;
  // Calling something that is not a lambda fails with a message.
  assert_int_equal(rp_doc_ops.call(d, map, NULL, 0, &out, &err), RP_ELAMBDA);
  assert_non_null(err);
  free(err);
  rp_buf_free(&out);
  rp_doc_free(d);
}

// ---------------------------------------------------------------------------
// Numbers: String(n) of JavaScript, worked out by hand from ECMA-262
// Number::toString (shortest round-trip digits; fixed notation when
// 1e-6 <= |n| < 1e21).
// ---------------------------------------------------------------------------

static const struct {
  const char *json;
  const char *js;
} number_texts[] = {
    {"33", "33"},
    {"1.21", "1.21"},
    {"-0", "0"},
    {"-0.0", "0"},
    {"0", "0"},
    {"1.0", "1"},
    {"100.50", "100.5"},
    {"1e3", "1000"},
    {"1E2", "100"},
    {"2.5E+2", "250"},
    {"1e+0", "1"},
    {"0e5", "0"},
    {"1e21", "1e+21"},
    {"1e20", "100000000000000000000"},
    {"999999999999999999999", "1e+21"},
    {"1.5e-7", "1.5e-7"},
    {"1e-7", "1e-7"},
    {"0.0000001", "1e-7"},
    {"-1e-7", "-1e-7"},
    {"0.0000005", "5e-7"},
    {"0.000001", "0.000001"},
    {"1e-6", "0.000001"},
    {"0.0000015", "0.0000015"},
    {"1.23e-5", "0.0000123"},
    {"0.000123", "0.000123"},
    {"123456789012345678901", "123456789012345680000"},
    {"12345678901234567890", "12345678901234567000"},
    {"9007199254740993", "9007199254740992"},
    {"123456789012345", "123456789012345"},
    {"0.1", "0.1"},
    {"0.5", "0.5"},
    {"-1.5", "-1.5"},
    {"4.35", "4.35"},
    {"123e-2", "1.23"},
    {"0.1e1", "1"},
    {"-123.456e2", "-12345.6"},
    {"0.30000000000000004", "0.30000000000000004"},
    {"1.0000000000000002", "1.0000000000000002"},
    {"5e-324", "5e-324"},
    {"1.7976931348623157e308", "1.7976931348623157e+308"},
    {"1.5e300", "1.5e+300"},
    {"1e-400", "0"},
};

static void test_number_text_table(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  for (size_t i = 0; i < sizeof number_texts / sizeof *number_texts; i++) {
    const char *in = number_texts[i].json, *want = number_texts[i].js;
    rp_value v = {NULL, 0};
    if (rp_doc_number_parse(d, in, strlen(in), &v) != RP_OK) fail_msg("%s refused", in);
    size_t n;
    const char *s = rp_doc_ops.str(d, v, &n);
    if (n != strlen(want) || memcmp(s, want, n) != 0)
      fail_msg("%s printed as %.*s, want %s", in, (int)n, s, want);
    // The double is the one strtod reads (correctly rounded).
    assert_true(rp_doc_ops.number(d, v) == strtod(in, NULL));
    // And the same through the JSON loader.
    rp_value root;
    rp_diags diags = RP_DIAGS_INIT;
    assert_int_equal(rp_json_parse(d, "n.json", in, strlen(in), &diags, &root), RP_OK);
    assert_text(d, root, want);
  }
  // -0 keeps its sign in the double but prints as 0.
  rp_value z = rp_doc_number_text(d, S("-0"));
  assert_true(signbit(rp_doc_ops.number(d, z)));
  rp_doc_free(d);
}

static void test_number_doubles(void **state) {
  (void)state;
  static const struct {
    double x;
    const char *js;
  } cases[] = {
      {0.1 + 0.2, "0.30000000000000004"},
      {-0.0, "0"},
      {1e21, "1e+21"},
      {NAN, "NaN"},
      {INFINITY, "Infinity"},
      {-INFINITY, "-Infinity"},
      {9007199254740992.0, "9007199254740992"},
      {1152921504606846976.0, "1152921504606847000"},
      {1.0 / 3, "0.3333333333333333"},
      {-2.0 / 3, "-0.6666666666666666"},
      {123e-20, "1.23e-18"},
      {1e100, "1e+100"},
      {2.5e-5, "0.000025"},
      {-123456.789, "-123456.789"},
      {5e-324, "5e-324"},
      {DBL_MAX, "1.7976931348623157e+308"},
      {DBL_MIN, "2.2250738585072014e-308"},
      {100, "100"},
      {-42, "-42"},
      {8.5, "8.5"},
  };
  rp_doc *d = rp_doc_new();
  char buf[RP_NUMBER_BUF];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t n = rp_number_format(cases[i].x, buf);
    if (strcmp(buf, cases[i].js) != 0) fail_msg("case %zu: got %s, want %s", i, buf, cases[i].js);
    assert_int_equal(n, strlen(buf));
    assert_text(d, rp_doc_number(d, cases[i].x), cases[i].js);
  }
  rp_doc_free(d);
}

// The significant digits of the shortest form of a (finite, > 0) that reads
// back as a, as printf finds them: the correctly rounded %e at the fewest
// digits that round-trips.
static void reference_digits(double a, char *out) {
  char tmp[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, a);
    if (strtod(tmp, NULL) == a) break;
  }
  size_t n = 0;
  for (const char *q = tmp; *q && *q != 'e'; q++)
    if (*q >= '0' && *q <= '9') out[n++] = *q;
  while (n > 1 && out[n - 1] == '0')
    n--;
  out[n] = '\0';
}

// The significant digits of JavaScript's text for a number.
static void printed_digits(const char *js, char *out) {
  size_t n = 0;
  for (const char *q = js; *q && *q != 'e'; q++)
    if (*q >= '0' && *q <= '9' && (n || *q != '0')) out[n++] = *q;
  while (n > 1 && out[n - 1] == '0')
    n--;
  out[n] = '\0';
}

static void test_number_shortest_round_trip(void **state) {
  (void)state;
  // Numbers with a few decimals, their neighbours one unit in the last
  // place away, and doubles of every magnitude: each prints the fewest
  // digits that read back as itself, the closest of them.
  uint64_t seed = 88172645463325252ull;
  for (int i = 0; i < 200000; i++) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    double x;
    switch (i % 4) {
      case 0:
        x = (double)(seed % 100000000) / pow(10, (double)((seed >> 40) % 8));
        break;
      case 1:
        x = nextafter((double)(seed % 1000000) / 1000.0, 0);
        break;
      case 2:
        x = nextafter((double)(seed % 1000000) / 100.0, 1e300);
        break;
      default: {
        uint64_t bits = seed & 0x7fefffffffffffffull;
        memcpy(&x, &bits, sizeof x);
        break;
      }
    }
    if (!(x > 0) || !isfinite(x)) continue;
    char buf[RP_NUMBER_BUF], got[32], want[32];
    rp_number_format(x, buf);
    if (strtod(buf, NULL) != x) fail_msg("%.17g printed as %s, which reads back otherwise", x, buf);
    printed_digits(buf, got);
    reference_digits(x, want);
    if (strcmp(got, want) != 0)
      fail_msg("%.17g printed as %s; digits %s, want %s", x, buf, got, want);
  }
}

static void test_number_bad_text(void **state) {
  (void)state;
  static const char *const bad[] = {"",       "-",   "+1",  "01",   "1.",   ".5", "1e",
                                    "1e+",    "NaN", "inf", "0x10", "1 ",   " 1", "1e999",
                                    "-1e400", "1,5", "--1", "1.5.", "0.e1", "1_0"};
  rp_doc *d = rp_doc_new();
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    rp_value v = {d, 7};
    if (rp_doc_number_parse(d, bad[i], strlen(bad[i]), &v) != RP_EDATA)
      fail_msg("\"%s\" accepted", bad[i]);
    assert_ptr_equal(v.p, d);  // untouched
    assert_int_equal(kind(d, rp_doc_number_text(d, bad[i], strlen(bad[i]))), RP_KIND_NULL);
  }
  rp_doc_free(d);
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

static void test_json_values_and_positions(void **state) {
  (void)state;
  static const char src[] =
      "{\n"
      "  \"name\": \"Ann\",\n"
      "  \"n\": [1, 2.5, true, null],\n"
      "  \"m\": {\"x\": \"y\", \"q\": \"say \\\"hi\\\" \\u00e9\\ud83d\\ude00\"},\n"
      "  \"f\": false, \"e\": [], \"o\": {}\n"
      "}\n";
  parsed p;
  parse_with(&p, rp_json_parse, "data.json", src, sizeof src - 1);
  assert_int_equal(p.status, RP_OK);
  assert_null(p.msg);
  rp_doc *d = p.doc;
  rp_value r = p.root;
  assert_int_equal(kind(d, r), RP_KIND_MAP);
  assert_int_equal(rp_doc_ops.len(d, r), 6);
  assert_pos(d, r, 1, 1);
  assert_text(d, get(d, r, "name"), "Ann");
  assert_pos(d, get(d, r, "name"), 2, 11);
  int line, col;
  rp_doc_key_pos(d, r, 0, &line, &col);
  assert_int_equal(line, 2);
  assert_int_equal(col, 3);

  rp_value n = get(d, r, "n");
  assert_int_equal(rp_doc_ops.len(d, n), 4);
  assert_pos(d, n, 3, 8);
  assert_text(d, at(d, n, 0), "1");
  assert_pos(d, at(d, n, 0), 3, 9);
  assert_true(rp_doc_ops.number(d, at(d, n, 1)) == 2.5);
  assert_pos(d, at(d, n, 1), 3, 12);
  assert_int_equal(kind(d, at(d, n, 2)), RP_KIND_BOOL);
  assert_true(rp_doc_ops.boolean(d, at(d, n, 2)));
  assert_pos(d, at(d, n, 2), 3, 17);
  assert_int_equal(kind(d, at(d, n, 3)), RP_KIND_NULL);
  assert_pos(d, at(d, n, 3), 3, 23);

  rp_value m = get(d, r, "m");
  assert_pos(d, m, 4, 8);
  assert_pos(d, get(d, m, "x"), 4, 14);
  rp_doc_key_pos(d, m, 1, &line, &col);
  assert_int_equal(line, 4);
  assert_int_equal(col, 19);
  // Escapes are decoded, a surrogate pair becomes one 4-byte character; the
  // position is the opening quote's.
  assert_text(d, get(d, m, "q"), "say \"hi\" \xc3\xa9\xf0\x9f\x98\x80");
  assert_pos(d, get(d, m, "q"), 4, 24);

  assert_false(rp_doc_ops.boolean(d, get(d, r, "f")));
  assert_pos(d, get(d, r, "f"), 5, 8);
  assert_int_equal(rp_doc_ops.len(d, get(d, r, "e")), 0);
  assert_int_equal(kind(d, get(d, r, "o")), RP_KIND_MAP);
  assert_int_equal(rp_doc_ops.len(d, get(d, r, "o")), 0);
  parsed_free(&p);
}

static void test_json_top_level_scalars(void **state) {
  (void)state;
  parsed p;
  parse_with(&p, rp_json_parse, "a.json", S("  42  "));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, p.root, "42");
  assert_pos(p.doc, p.root, 1, 3);
  parsed_free(&p);

  parse_with(&p, rp_json_parse, "a.json", S("\n-1.5"));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, p.root, "-1.5");
  assert_pos(p.doc, p.root, 2, 1);
  parsed_free(&p);

  parse_with(&p, rp_json_parse, "a.json", S("\"s\""));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, p.root, "s");
  parsed_free(&p);

  parse_with(&p, rp_json_parse, "a.json", S(" null"));
  assert_int_equal(p.status, RP_OK);
  assert_int_equal(kind(p.doc, p.root), RP_KIND_NULL);
  assert_pos(p.doc, p.root, 1, 2);
  parsed_free(&p);

  // A UTF-8 byte order mark is skipped; columns count from after it.
  parse_with(&p, rp_json_parse, "a.json", S("\xef\xbb\xbf{\"a\": true}"));
  assert_int_equal(p.status, RP_OK);
  assert_pos(p.doc, get(p.doc, p.root, "a"), 1, 7);
  parsed_free(&p);
  json_error(S("\xef\xbb\xbf{\"a\": x}"), RP_ESYNTAX,
             "data.json:1:7: error: invalid JSON: invalid char in json text");
}

// For callers that split JSON Lines themselves: positions are the file's.
static void test_json_parse_line(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;
  assert_int_equal(rp_json_parse_line(d, "b.jsonl", S(" {\"a\": 1}"), 41, &diags, &root), RP_OK);
  assert_pos(d, get(d, root, "a"), 41, 8);
  assert_int_equal(rp_json_parse_line(d, "b.jsonl", S("{\"a\": }"), 7, &diags, &root), RP_ESYNTAX);
  assert_int_equal(rp_json_parse_line(d, "b.jsonl", S("[1] 2"), 0, &diags, &root), RP_ESYNTAX);
  assert_int_equal(diags.n, 2);
  char *msg = rp_diag_format(&diags.items[0]);
  assert_string_equal(
      msg, "b.jsonl:7:7: error: invalid JSON: unallowed token at this point in JSON text");
  free(msg);
  msg = rp_diag_format(&diags.items[1]);
  assert_string_equal(msg, "b.jsonl:1:5: error: invalid JSON: trailing garbage");
  free(msg);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

static void test_json_utf8(void **state) {
  (void)state;
  json_error(S("{\"a\": \"x\xffy\"}"), RP_ESYNTAX,
             "data.json:1:9: error: invalid JSON: invalid UTF-8");
  // A truncated sequence, on line 2.
  json_error(S("[\n \"abc\xe2\x82\"]"), RP_ESYNTAX,
             "data.json:2:6: error: invalid JSON: invalid UTF-8");
  // yajl lets these through; the loader does not. Overlong '/':
  json_error(S("[\"\xc0\xaf\"]"), RP_ESYNTAX, "data.json:1:3: error: invalid JSON: invalid UTF-8");
  // An encoded surrogate, U+D800:
  json_error(S("[\n  \"ab\xed\xa0\x80\"\n]"), RP_ESYNTAX,
             "data.json:2:6: error: invalid JSON: invalid UTF-8");
  // Past U+10FFFF:
  json_error(S("[\"\xf4\x90\x80\x80\"]"), RP_ESYNTAX,
             "data.json:1:3: error: invalid JSON: invalid UTF-8");
  // In a key, after an escape (the string is decoded by yajl then).
  json_error(S("{\"k\\n\xc3\x28\": 1}"), RP_ESYNTAX,
             "data.json:1:6: error: invalid JSON: invalid UTF-8");
  // Valid multibyte text of every length is kept as it is.
  parsed p;
  parse_with(&p, rp_json_parse, "a.json", S("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]"));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, at(p.doc, p.root, 0), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  parsed_free(&p);
}

static void test_json_escapes_refused(void **state) {
  (void)state;
  json_error(S("{\"k\": \"a\\u0000b\"}"), RP_EDATA,
             "data.json:1:9: error: invalid JSON: string contains \\u0000 (NUL)");
  json_error(S("{\"a\\u0000\": 1}"), RP_EDATA,
             "data.json:1:4: error: invalid JSON: string contains \\u0000 (NUL)");
  json_error(S("[\"\\ud800x\"]"), RP_EDATA,
             "data.json:1:3: error: invalid JSON: unpaired UTF-16 surrogate escape");
  json_error(S("[\"ok\\n\\udc00\"]"), RP_EDATA,
             "data.json:1:7: error: invalid JSON: unpaired UTF-16 surrogate escape");
  json_error(S("[\"\\ud800\\u0041\"]"), RP_EDATA,
             "data.json:1:3: error: invalid JSON: unpaired UTF-16 surrogate escape");
  json_error(S("[\"ab\\u12G4\"]"), RP_ESYNTAX,
             "data.json:1:9: error: invalid JSON: invalid (non-hex) character occurs after '\\u' "
             "inside string");
  json_error(S("[\"\\x\"]"), RP_ESYNTAX,
             "data.json:1:4: error: invalid JSON: inside a string, '\\' occurs before a character "
             "which it may not");
  json_error(S("[\"a\tb\"]"), RP_ESYNTAX,
             "data.json:1:4: error: invalid JSON: invalid character inside string");
}

static void test_json_duplicate_keys(void **state) {
  (void)state;
  json_error(S("{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}"), RP_EDATA,
             "data.json:4:3: error: invalid JSON: duplicate key \"a\"");
  // Nested maps are checked when they close.
  json_error(S("{\"x\": {\"k\": 1, \"k\": 2}}"), RP_EDATA,
             "data.json:1:16: error: invalid JSON: duplicate key \"k\"");
  // A key that may be data is not printed.
  json_error(S("{\"Ann <a@b>\": 1, \"Ann <a@b>\": 2}"), RP_EDATA,
             "data.json:1:18: error: invalid JSON: duplicate key: this key appears earlier in "
             "the same map");
  json_error(S("{\"Client said x\": 1, \"Client said x\": 2}"), RP_EDATA,
             "data.json:1:22: error: invalid JSON: duplicate key: this key appears earlier in "
             "the same map");
  // Maps past 8 entries are checked through their index.
  char src[256];
  int n = snprintf(src, sizeof src, "{");
  for (int i = 0; i < 12; i++)
    n += snprintf(src + n, sizeof src - (size_t)n, "\"k%d\":%d,", i, i);
  int dup = n;  // where the repeated key starts
  n += snprintf(src + n, sizeof src - (size_t)n, "\"k3\":99}");
  char want[128];
  snprintf(want, sizeof want, "data.json:1:%d: error: invalid JSON: duplicate key \"k3\"", dup + 1);
  json_error(src, (size_t)n, RP_EDATA, want);
  // Keys equal but for case, or prefix of one another, are distinct.
  parsed p;
  parse_with(&p, rp_json_parse, "a.json", S("{\"a\":1,\"A\":2,\"ab\":3,\"\":4}"));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, get(p.doc, p.root, "A"), "2");
  assert_text(p.doc, get(p.doc, p.root, ""), "4");
  parsed_free(&p);
}

static void test_json_trailing_and_syntax(void **state) {
  (void)state;
  json_error(S("{\"a\":1} x"), RP_ESYNTAX, "data.json:1:9: error: invalid JSON: trailing garbage");
  json_error(S("{\"a\":1} \"xyz\""), RP_ESYNTAX,
             "data.json:1:9: error: invalid JSON: trailing garbage");
  json_error(S("{\"a\":1}{\"b\":2}"), RP_ESYNTAX,
             "data.json:1:8: error: invalid JSON: trailing garbage");
  json_error(S("{}\n\n  []"), RP_ESYNTAX, "data.json:3:3: error: invalid JSON: trailing garbage");
  json_error(S("{\"a\":1 /* c */}"), RP_ESYNTAX,
             "data.json:1:8: error: invalid JSON: probable comment found in input text, comments "
             "are not enabled");
  json_error(S("{\"a\":1,\n// c\n\"b\":2}"), RP_ESYNTAX,
             "data.json:2:1: error: invalid JSON: probable comment found in input text, comments "
             "are not enabled");
  json_error(S(""), RP_ESYNTAX, "data.json:1:1: error: invalid JSON: no value (the text is empty)");
  json_error(S("  \n"), RP_ESYNTAX,
             "data.json:2:1: error: invalid JSON: no value (the text is empty)");
  json_error(S("{\"a\": [1, 2"), RP_ESYNTAX,
             "data.json:1:12: error: invalid JSON: unexpected end of input");
  json_error(S("[1, @]"), RP_ESYNTAX,
             "data.json:1:5: error: invalid JSON: invalid char in json text");
  json_error(S("{'a':1}"), RP_ESYNTAX,
             "data.json:1:2: error: invalid JSON: invalid char in json text");
  json_error(S("[NaN]"), RP_ESYNTAX,
             "data.json:1:2: error: invalid JSON: invalid char in json text");
  json_error(S("[tru]"), RP_ESYNTAX,
             "data.json:1:5: error: invalid JSON: invalid string in json text");
  json_error(S("[1,]"), RP_ESYNTAX,
             "data.json:1:4: error: invalid JSON: unallowed token at this point in JSON text");
  json_error(
      S("{\"a\" 1}"), RP_ESYNTAX,
      "data.json:1:6: error: invalid JSON: object key and value must be separated by a colon "
      "(':')");
  json_error(S("[\"a\"\"b\"]"), RP_ESYNTAX,
             "data.json:1:5: error: invalid JSON: after array element, I expect ',' or ']'");
  json_error(S("{1:2}"), RP_ESYNTAX,
             "data.json:1:2: error: invalid JSON: invalid object key (must be a string)");
  json_error(S("[1.]"), RP_ESYNTAX,
             "data.json:1:4: error: invalid JSON: malformed number, a digit is required after the "
             "decimal point");
}

static void test_json_numbers_refused(void **state) {
  (void)state;
  json_error(S("{\"x\": 1e999}"), RP_EDATA,
             "data.json:1:7: error: invalid JSON: number out of range");
  json_error(S("[0,\n -1e400]"), RP_EDATA,
             "data.json:2:2: error: invalid JSON: number out of range");
  json_error(S("1e309"), RP_EDATA, "data.json:1:1: error: invalid JSON: number out of range");
}

static void test_json_depth(void **state) {
  (void)state;
  char src[512];
  // 64 levels are fine.
  memset(src, '[', 64);
  memset(src + 64, ']', 64);
  parsed p;
  parse_with(&p, rp_json_parse, "a.json", src, 128);
  assert_int_equal(p.status, RP_OK);
  rp_value v = p.root;
  for (int i = 1; i < 64; i++)
    v = at(p.doc, v, 0);
  assert_int_equal(kind(p.doc, v), RP_KIND_LIST);
  assert_int_equal(rp_doc_ops.len(p.doc, v), 0);
  parsed_free(&p);
  // The 65th opening bracket is refused where it is.
  memset(src, '[', 65);
  memset(src + 65, ']', 65);
  json_error(src, 130, RP_ELIMIT,
             "data.json:1:65: error: invalid JSON: nesting deeper than 64 levels");
  int n = 0;
  for (int i = 0; i < 65; i++)
    n += snprintf(src + n, sizeof src - (size_t)n, "{\"a\":");
  json_error(src, (size_t)n, RP_ELIMIT,
             "data.json:1:321: error: invalid JSON: nesting deeper than 64 levels");
}

// Messages name positions and problems, never the data around them.
static void test_json_messages_hide_values(void **state) {
  (void)state;
  static const char *const inputs[] = {
      "{\"diagnosis\": \"secret\xff\"}", "{\"diagnosis\": \"secret\" secret}",
      "{\"diagnosis\": secret}",         "[\"secret\", \"secret\\u0000\"]",
      "{\"secret\": 1} secret",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
    parsed p;
    parse_with(&p, rp_json_parse, "a.json", inputs[i], strlen(inputs[i]));
    assert_true(p.status < 0);
    assert_non_null(p.msg);
    if (strstr(p.msg, "secret")) fail_msg("message quotes the data: %s", p.msg);
    parsed_free(&p);
  }
}

// ---------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------

static void test_yaml_values_and_positions(void **state) {
  (void)state;
  static const char src[] =
      "name: Ann\n"
      "age: 33\n"
      "tags: [a, b]\n"
      "nested:\n"
      "  k: v\n"
      "list:\n"
      "  - 1\n"
      "  - \"two\"\n"
      "text: |\n"
      "  line one\n"
      "  line two\n";
  parsed p;
  parse_with(&p, rp_yaml_parse, "data.yaml", src, sizeof src - 1);
  assert_int_equal(p.status, RP_OK);
  assert_null(p.msg);
  rp_doc *d = p.doc;
  rp_value r = p.root;
  assert_int_equal(rp_doc_ops.len(d, r), 6);
  assert_text(d, get(d, r, "name"), "Ann");
  assert_pos(d, get(d, r, "name"), 1, 7);
  int line, col;
  rp_doc_key_pos(d, r, 1, &line, &col);
  assert_int_equal(line, 2);
  assert_int_equal(col, 1);
  assert_int_equal(kind(d, get(d, r, "age")), RP_KIND_NUMBER);
  assert_pos(d, get(d, r, "age"), 2, 6);
  rp_value tags = get(d, r, "tags");
  assert_pos(d, tags, 3, 7);
  assert_pos(d, at(d, tags, 1), 3, 11);
  rp_value nested = get(d, r, "nested");
  assert_pos(d, nested, 5, 3);
  assert_text(d, get(d, nested, "k"), "v");
  assert_pos(d, get(d, nested, "k"), 5, 6);
  rp_value list = get(d, r, "list");
  assert_int_equal(rp_doc_ops.len(d, list), 2);
  assert_pos(d, at(d, list, 1), 8, 5);
  assert_text(d, at(d, list, 1), "two");
  assert_text(d, get(d, r, "text"), "line one\nline two\n");
  parsed_free(&p);
}

static void test_yaml_typing(void **state) {
  (void)state;
  static const struct {
    const char *yaml;
    rp_kind kind;
    const char *text;  // str() for strings and numbers; "true"/"false" for bools
  } cases[] = {
      {"~", RP_KIND_NULL, NULL},
      {"null", RP_KIND_NULL, NULL},
      {"Null", RP_KIND_NULL, NULL},
      {"NULL", RP_KIND_NULL, NULL},
      {"", RP_KIND_NULL, NULL},
      {"nULL", RP_KIND_STRING, "nULL"},
      {"true", RP_KIND_BOOL, "true"},
      {"True", RP_KIND_BOOL, "true"},
      {"TRUE", RP_KIND_BOOL, "true"},
      {"false", RP_KIND_BOOL, "false"},
      {"False", RP_KIND_BOOL, "false"},
      {"FALSE", RP_KIND_BOOL, "false"},
      {"tRUE", RP_KIND_STRING, "tRUE"},
      {"yes", RP_KIND_STRING, "yes"},
      {"no", RP_KIND_STRING, "no"},
      {"on", RP_KIND_STRING, "on"},
      {"off", RP_KIND_STRING, "off"},
      {"y", RP_KIND_STRING, "y"},
      {"42", RP_KIND_NUMBER, "42"},
      {"-17", RP_KIND_NUMBER, "-17"},
      {"+5", RP_KIND_NUMBER, "5"},
      {"0", RP_KIND_NUMBER, "0"},
      {"-0", RP_KIND_NUMBER, "0"},
      {"0o17", RP_KIND_NUMBER, "15"},
      {"0x1F", RP_KIND_NUMBER, "31"},
      {"0xff", RP_KIND_NUMBER, "255"},
      {"0777", RP_KIND_STRING, "0777"},
      {"-012", RP_KIND_STRING, "-012"},
      {"007.5", RP_KIND_STRING, "007.5"},
      {"02139", RP_KIND_STRING, "02139"},
      {"1.5", RP_KIND_NUMBER, "1.5"},
      {"1.", RP_KIND_NUMBER, "1"},
      {".5", RP_KIND_NUMBER, "0.5"},
      {"-.5", RP_KIND_NUMBER, "-0.5"},
      {"0.5", RP_KIND_NUMBER, "0.5"},
      {"6.0", RP_KIND_NUMBER, "6"},
      {"1e3", RP_KIND_NUMBER, "1000"},
      {"1.5E-7", RP_KIND_NUMBER, "1.5e-7"},
      {"1e21", RP_KIND_NUMBER, "1e+21"},
      {"0x", RP_KIND_STRING, "0x"},
      {"0o8", RP_KIND_STRING, "0o8"},
      {"-0x1F", RP_KIND_STRING, "-0x1F"},
      {"1_000", RP_KIND_STRING, "1_000"},
      {"12:30", RP_KIND_STRING, "12:30"},
      {"2024-06-09", RP_KIND_STRING, "2024-06-09"},
      {"1e", RP_KIND_STRING, "1e"},
      {".", RP_KIND_STRING, "."},
      {"-x", RP_KIND_STRING, "-x"},
      {"+", RP_KIND_STRING, "+"},
      {".infinity", RP_KIND_STRING, ".infinity"},
      {"\"42\"", RP_KIND_STRING, "42"},
      {"'true'", RP_KIND_STRING, "true"},
      {"\"\"", RP_KIND_STRING, ""},
      {"'~'", RP_KIND_STRING, "~"},
      {"hello world", RP_KIND_STRING, "hello world"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char src[64];
    int n = snprintf(src, sizeof src, "v: %s\n", cases[i].yaml);
    parsed p;
    parse_with(&p, rp_yaml_parse, "t.yaml", src, (size_t)n);
    if (p.status != RP_OK) fail_msg("%s: %s", cases[i].yaml, p.msg);
    rp_value v = get(p.doc, p.root, "v");
    if (kind(p.doc, v) != cases[i].kind)
      fail_msg("%s: kind %d, want %d", cases[i].yaml, kind(p.doc, v), cases[i].kind);
    if (cases[i].kind == RP_KIND_BOOL)
      assert_int_equal(rp_doc_ops.boolean(p.doc, v), strcmp(cases[i].text, "true") == 0);
    else if (cases[i].text)
      assert_text(p.doc, v, cases[i].text);
    parsed_free(&p);
  }
  // Keys are their text as written, never typed.
  parsed p;
  parse_with(&p, rp_yaml_parse, "t.yaml", S("1: a\ntrue: b\n~: c\n0777: d\n"));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, get(p.doc, p.root, "1"), "a");
  assert_text(p.doc, get(p.doc, p.root, "true"), "b");
  assert_text(p.doc, get(p.doc, p.root, "~"), "c");
  assert_text(p.doc, get(p.doc, p.root, "0777"), "d");
  parsed_free(&p);
  // Numbers from YAML carry the double too.
  parse_with(&p, rp_yaml_parse, "t.yaml", S("[0x10, 2.5e-1, -3]"));
  assert_int_equal(p.status, RP_OK);
  assert_true(rp_doc_ops.number(p.doc, at(p.doc, p.root, 0)) == 16);
  assert_true(rp_doc_ops.number(p.doc, at(p.doc, p.root, 1)) == 0.25);
  assert_true(rp_doc_ops.number(p.doc, at(p.doc, p.root, 2)) == -3);
  parsed_free(&p);
}

static void test_yaml_text_mode(void **state) {
  (void)state;
  // Plain scalars stay text, as written, for a schema to type.
  const char *src = "a: no\nb: 0777\nc: true\nd: 'true'\ne: 1.50\nf: ~\ng: [1, x]\n";
  rp_doc *doc = rp_doc_new();
  rp_diags d = RP_DIAGS_INIT;
  rp_value root;
  assert_int_equal(rp_yaml_parse_text(doc, "s.yaml", src, strlen(src), &d, &root), RP_OK);
  static const struct {
    const char *key, *text;
    bool plain;
  } want[] = {{"a", "no", true},    {"b", "0777", true}, {"c", "true", true},
              {"d", "true", false}, {"e", "1.50", true}, {"f", "~", true}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    rp_value v;
    assert_true(rp_doc_ops.get(doc, root, want[i].key, 1, &v));
    assert_int_equal(rp_doc_ops.kind(doc, v), RP_KIND_STRING);
    size_t len;
    const char *s = rp_doc_ops.str(doc, v, &len);
    assert_int_equal(len, strlen(want[i].text));
    assert_memory_equal(s, want[i].text, len);
    assert_int_equal(rp_doc_is_plain(doc, v), want[i].plain);
  }
  rp_value g;
  assert_true(rp_doc_ops.get(doc, root, "g", 1, &g));
  assert_int_equal(rp_doc_ops.kind(doc, rp_doc_ops.at(doc, g, 0)), RP_KIND_STRING);
  // The typed parser reads the same text as values.
  rp_doc_reset(doc);
  assert_int_equal(rp_yaml_parse(doc, "s.yaml", src, strlen(src), &d, &root), RP_OK);
  rp_value c;
  assert_true(rp_doc_ops.get(doc, root, "c", 1, &c));
  assert_int_equal(rp_doc_ops.kind(doc, c), RP_KIND_BOOL);
  assert_false(rp_doc_is_plain(doc, c));
  rp_diags_free(&d);
  rp_doc_free(doc);
}

// A '#' after a single blank that follows a plain value is a comment that
// took text away: a warning at the '#'. Two blanks or more, a quoted value,
// or a '#' inside a word are not.
static void test_yaml_comment_after_a_value_warns(void **state) {
  (void)state;
  const char *src =
      "plan: review thought log #3 next time.\n"  // 1: warns at 26
      "a: b  # an explanation\n"                  // 2: on purpose
      "c: 'quoted' # after a quote\n"             // 3: the value is whole
      "d: goal#2\n"                               // 4: no blank, no comment
      "e: [x, y] # after a list\n"                // 5: after the bracket
      "f:\n"                                      // 6
      "  - sleep diary # daily\n"                 // 7: warns at 17
      "g: tab\t# too\n"                           // 8: warns at 8
      "# a line of its own\n";
  for (int text = 0; text < 2; text++) {
    rp_doc *doc = rp_doc_new();
    rp_diags d = RP_DIAGS_INIT;
    rp_value root;
    int rc = text ? rp_yaml_parse_text(doc, "s.yaml", src, strlen(src), &d, &root)
                  : rp_yaml_parse(doc, "s.yaml", src, strlen(src), &d, &root);
    assert_int_equal(rc, RP_OK);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.errors, 0);
    static const int where[][2] = {{1, 26}, {7, 17}, {8, 8}};
    for (size_t i = 0; i < 3; i++) {
      assert_int_equal(d.items[i].sev, RP_SEV_WARNING);
      assert_int_equal(d.items[i].line, where[i][0]);
      assert_int_equal(d.items[i].col, where[i][1]);
      assert_string_equal(d.items[i].msg,
                          "the text after '#' is not in the note: a '#' after a space starts a "
                          "comment; quote the value or use '|' to keep it");
    }
    rp_diags_free(&d);
    rp_doc_free(doc);
  }
}

static void test_yaml_empty(void **state) {
  (void)state;
  static const char *const empties[] = {"", "---\n", "# only a comment\n", "\n\n", "--- ~\n"};
  for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
    parsed p;
    parse_with(&p, rp_yaml_parse, "e.yaml", empties[i], strlen(empties[i]));
    assert_int_equal(p.status, RP_OK);
    assert_int_equal(kind(p.doc, p.root), RP_KIND_NULL);
    parsed_free(&p);
  }
  // One document with explicit markers is fine.
  parsed p;
  parse_with(&p, rp_yaml_parse, "e.yaml", S("%YAML 1.2\n---\na: 1\n...\n"));
  assert_int_equal(p.status, RP_OK);
  assert_text(p.doc, get(p.doc, p.root, "a"), "1");
  parsed_free(&p);
}

static void test_yaml_refusals(void **state) {
  (void)state;
  yaml_error(S("a: &x 1\n"), RP_EDATA,
             "data.yaml:1:4: error: invalid YAML: anchors (&name) are not supported");
  yaml_error(S("a: 1\nb: *x\n"), RP_EDATA,
             "data.yaml:2:4: error: invalid YAML: aliases (*name) are not supported");
  yaml_error(S("a: !!str 1\n"), RP_EDATA,
             "data.yaml:1:4: error: invalid YAML: tags (!tag) are not supported");
  yaml_error(S("a:\n  - !local {x: 1}\n"), RP_EDATA,
             "data.yaml:2:5: error: invalid YAML: tags (!tag) are not supported");
  yaml_error(S("list: &l\n  - 1\n"), RP_EDATA,
             "data.yaml:1:7: error: invalid YAML: anchors (&name) are not supported");
  // A tab in the indentation says so, at the tab, whatever libyaml's words.
  yaml_error(S("type: soap\nclient:\n\tid: C-1\n"), RP_ESYNTAX,
             "data.yaml:3:1: error: invalid YAML: a tab in the indentation: YAML indents with "
             "spaces only (replace the tab with spaces)");
  yaml_error(S("client:\n  id: C-1\n \tinitials: J\n"), RP_ESYNTAX,
             "data.yaml:3:2: error: invalid YAML: a tab in the indentation: YAML indents with "
             "spaces only (replace the tab with spaces)");
  yaml_error(S("a:\n  - x\n\t- y\n"), RP_ESYNTAX,
             "data.yaml:3:1: error: invalid YAML: a tab in the indentation: YAML indents with "
             "spaces only (replace the tab with spaces)");
  // A tab inside a block scalar's text is text.
  parsed tp;
  parse_with(&tp, rp_yaml_parse, "a.yaml", S("s: |\n  a\n  \tb\n"));
  assert_int_equal(tp.status, RP_OK);
  assert_text(tp.doc, get(tp.doc, tp.root, "s"), "a\n\tb\n");
  parsed_free(&tp);
  yaml_error(S("a: 1\nb: 2\na: 3\n"), RP_EDATA,
             "data.yaml:3:1: error: invalid YAML: duplicate key \"a\"");
  yaml_error(S("x:\n  k: 1\n  'k': 2\n"), RP_EDATA,
             "data.yaml:3:3: error: invalid YAML: duplicate key \"k\"");
  // A misindented line of free text is a key made of a client's words:
  // never printed.
  yaml_error(S("subjective: |\n  ok\nClient disclosed abuse: passive ideation\n"
               "Client disclosed abuse: passive ideation\n"),
             RP_EDATA,
             "data.yaml:4:1: error: invalid YAML: duplicate key: this key appears earlier in the "
             "same map");
  yaml_error(S("a: 1\n1st visit: 2\n1st visit: 3\n"), RP_EDATA,
             "data.yaml:3:1: error: invalid YAML: duplicate key: this key appears earlier in the "
             "same map");
  yaml_error(S("a: 1\n---\nb: 2\n"), RP_EDATA,
             "data.yaml:2:1: error: invalid YAML: more than one document (a file holds one "
             "session)");
  yaml_error(S("? [a, b]\n: 1\n"), RP_EDATA,
             "data.yaml:1:3: error: invalid YAML: mapping keys must be plain text");
  yaml_error(S("{x: 1, {y: 2}: 3}"), RP_EDATA,
             "data.yaml:1:8: error: invalid YAML: mapping keys must be plain text");
  yaml_error(S("x: .inf\n"), RP_EDATA,
             "data.yaml:1:4: error: invalid YAML: number out of range (not finite)");
  yaml_error(S("x: [1, -.Inf]\n"), RP_EDATA,
             "data.yaml:1:8: error: invalid YAML: number out of range (not finite)");
  yaml_error(S("x: .NaN\n"), RP_EDATA,
             "data.yaml:1:4: error: invalid YAML: number out of range (not finite)");
  yaml_error(S("x: 1e999\n"), RP_EDATA,
             "data.yaml:1:4: error: invalid YAML: number out of range (not finite)");
  yaml_error(S("a: \"x\\0y\"\n"), RP_EDATA,
             "data.yaml:1:4: error: invalid YAML: string contains a NUL character");
}

static void test_yaml_depth(void **state) {
  (void)state;
  char src[300];
  memset(src, '[', 64);
  memset(src + 64, ']', 64);
  parsed p;
  parse_with(&p, rp_yaml_parse, "a.yaml", src, 128);
  assert_int_equal(p.status, RP_OK);
  parsed_free(&p);
  memset(src, '[', 65);
  memset(src + 65, ']', 65);
  yaml_error(src, 130, RP_ELIMIT,
             "data.yaml:1:65: error: invalid YAML: nesting deeper than 64 levels");
}

static void test_yaml_syntax_and_encoding(void **state) {
  (void)state;
  yaml_error(S("a: [1\n"), RP_ESYNTAX,
             "data.yaml:2:1: error: invalid YAML: did not find expected ',' or ']' (while parsing "
             "a flow sequence)");
  yaml_error(S("a: 1\n b: 2\n"), RP_ESYNTAX,
             "data.yaml:2:3: error: invalid YAML: mapping values are not allowed in this context");
  yaml_error(S("a: 1\nb: \xc3\x28\n"), RP_ESYNTAX,
             "data.yaml:2:4: error: invalid YAML: invalid UTF-8");
  yaml_error(S("a: 'x\xc0\xafy'\n"), RP_ESYNTAX,
             "data.yaml:1:6: error: invalid YAML: invalid UTF-8");
  // Columns count bytes: "ké" is three bytes wide.
  yaml_error(S("k\xc3\xa9: &a 1\n"), RP_EDATA,
             "data.yaml:1:6: error: invalid YAML: anchors (&name) are not supported");
  yaml_error(S("\xc3\xa9: 1\r\n\xc3\xbc: *x\r\n"), RP_EDATA,
             "data.yaml:2:5: error: invalid YAML: aliases (*name) are not supported");
  // A byte order mark takes no column.
  yaml_error(S("\xef\xbb\xbf"
               "a: &x 1\n"),
             RP_EDATA, "data.yaml:1:4: error: invalid YAML: anchors (&name) are not supported");
  parsed p;
  parse_with(&p, rp_yaml_parse, "a.yaml",
             S("\xef\xbb\xbf"
               "a: 1\n"));
  assert_int_equal(p.status, RP_OK);
  assert_pos(p.doc, get(p.doc, p.root, "a"), 1, 4);
  parsed_free(&p);
  // A whole file with one, as Windows editors save it: libyaml skipped the
  // mark but counted it as a column, so the second line read as less
  // indented than the first and the file was refused at line 2.
  parse_with(&p, rp_yaml_parse, "a.yaml",
             S("\xef\xbb\xbf"
               "type: soap\r\nclient:\r\n  id: C-1\r\nplan: x\r\n"));
  assert_int_equal(p.status, RP_OK);
  assert_pos(p.doc, get(p.doc, p.root, "type"), 1, 7);
  assert_pos(p.doc, get(p.doc, get(p.doc, p.root, "client"), "id"), 3, 7);
  assert_text(p.doc, get(p.doc, p.root, "plan"), "x");
  parsed_free(&p);
  parse_with(&p, rp_yaml_parse_text, "a.yaml",
             S("\xef\xbb\xbf"
               "a: 1\nb:\n  - 2\n"));
  assert_int_equal(p.status, RP_OK);
  assert_pos(p.doc, at(p.doc, get(p.doc, p.root, "b"), 0), 3, 5);
  parsed_free(&p);
  yaml_error(S("\xef\xbb\xbf"
               "a: 1\nb: &x 2\n"),
             RP_EDATA, "data.yaml:2:4: error: invalid YAML: anchors (&name) are not supported");
  // UTF-16 is not read as UTF-8 by accident.
  parse_with(&p, rp_yaml_parse, "a.yaml",
             S("\xff\xfe"
               "a\0:\0 \0"
               "1\0"));
  assert_int_equal(p.status, RP_ESYNTAX);
  parsed_free(&p);
}

static void test_yaml_messages_hide_values(void **state) {
  (void)state;
  static const char *const inputs[] = {
      "diagnosis: secret\xff\n", "diagnosis: &secret x\n", "diagnosis: !secret x\n",
      "diagnosis: [secret\n",    "diagnosis: 'secret\n",   "secret: 1\nsecret: 2\n",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
    parsed p;
    parse_with(&p, rp_yaml_parse, "a.yaml", inputs[i], strlen(inputs[i]));
    assert_true(p.status < 0);
    assert_non_null(p.msg);
    // A duplicate key is a field name and may be named.
    if (strstr(p.msg, "secret") && !strstr(p.msg, "duplicate key \"secret\""))
      fail_msg("message quotes the data: %s", p.msg);
    parsed_free(&p);
  }
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

static void test_load_file_json_and_yaml_agree(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value j, y;
  assert_int_equal(rp_data_load_file(d, "unit/data/session.json", &diags, &j), RP_OK);
  assert_int_equal(rp_data_load_file(d, "unit/data/session.yaml", &diags, &y), RP_OK);
  assert_int_equal(diags.n, 0);
  static const char *const paths[][2] = {{"client", "id"},
                                         {"client", "initials"},
                                         {"session", "date"},
                                         {"session", "number"},
                                         {"session", "minutes"}};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    rp_value a = get(d, get(d, j, paths[i][0]), paths[i][1]);
    rp_value b = get(d, get(d, y, paths[i][0]), paths[i][1]);
    assert_int_equal(kind(d, a), kind(d, b));
    size_t na, nb;
    const char *sa = rp_doc_ops.str(d, a, &na), *sb = rp_doc_ops.str(d, b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(sa, sb, na);
  }
  rp_value sj = get(d, j, "scores"), sy = get(d, y, "scores");
  assert_int_equal(rp_doc_ops.len(d, sy), 3);
  for (size_t i = 0; i < 3; i++) {
    assert_true(rp_doc_ops.number(d, at(d, sj, i)) == rp_doc_ops.number(d, at(d, sy, i)));
  }
  assert_text(d, at(d, sy, 2), "10");
  assert_int_equal(kind(d, get(d, y, "risk_high")), RP_KIND_BOOL);
  assert_int_equal(kind(d, get(d, y, "note")), RP_KIND_NULL);
  assert_int_equal(kind(d, get(d, j, "note")), RP_KIND_NULL);
  assert_text(d, get(d, y, "postcode"), "02139");
  assert_pos(d, get(d, y, "postcode"), 12, 11);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

static void expect_load_error(const char *path, int status, const char *want) {
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root = {d, 1};
  assert_int_equal(rp_data_load_file(d, path, &diags, &root), status);
  assert_int_equal(diags.n, 1);
  char *msg = rp_diag_format(&diags.items[0]);
  if (strcmp(msg, want) != 0) fail_msg("got: %s\nwant: %s", msg, want);
  free(msg);
  assert_null(root.p);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

static void test_load_file_errors(void **state) {
  (void)state;
  expect_load_error("unit/data/bad.yml", RP_EDATA,
                    "unit/data/bad.yml:3:3: error: invalid YAML: duplicate key \"id\"");
  expect_load_error("unit/data/missing.json", RP_ENOTFOUND,
                    "unit/data/missing.json: error: cannot open: No such file or directory");
  expect_load_error("unit/data/session.txt", RP_EUSAGE,
                    "unit/data/session.txt: error: unknown data file type (expected .json, .yaml "
                    "or .yml)");
  expect_load_error("unit/data.d/x", RP_EUSAGE,
                    "unit/data.d/x: error: unknown data file type (expected .json, .yaml or .yml)");

  char dir[] = "/tmp/rp_test_data_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  // Extensions in any case.
  snprintf(path, sizeof path, "%s/S.JSON", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("{\"a\": [1]}", f);
  fclose(f);
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;
  assert_int_equal(rp_data_load_file(d, path, &diags, &root), RP_OK);
  assert_int_equal(rp_doc_ops.len(d, get(d, root, "a")), 1);
  rp_diags_free(&diags);
  rp_doc_free(d);
  assert_int_equal(unlink(path), 0);
  // Over 64 MiB (a sparse file: nothing is written or read).
  snprintf(path, sizeof path, "%s/big.yaml", dir);
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(ftruncate(fileno(f), (off_t)RP_DATA_MAX_FILE + 1), 0);
  fclose(f);
  char want[256];
  snprintf(want, sizeof want, "%s: error: file is larger than 64 MiB", path);
  expect_load_error(path, RP_ELIMIT, want);
  assert_int_equal(unlink(path), 0);
  // A directory cannot be read.
  snprintf(path, sizeof path, "%s/dir.json", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(want, sizeof want, "%s: error: is a folder, not a file", path);
  expect_load_error(path, RP_EIO, want);
  assert_int_equal(rmdir(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

// ---------------------------------------------------------------------------
// JSONL
// ---------------------------------------------------------------------------

static FILE *file_with(const char *bytes, size_t len) {
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, len, f), len);
  rewind(f);
  return f;
}

static void test_jsonl_lines(void **state) {
  (void)state;
  static const char src[] =
      "{\"a\":1}\n"      // 1
      "\n"               // 2 blank
      "   \t\n"          // 3 blank
      "{\"a\":2}\r\n"    // 4 CRLF
      "{\"a\":\n"        // 5 bad
      "\r\n"             // 6 blank with CR
      "{\"a\":1} x\r\n"  // 7 bad, with CR
      "  {\"a\": [3]}";  // 8 no final newline
  FILE *f = file_with(src, sizeof src - 1);
  rp_jsonl *r = rp_jsonl_open(f, "s.jsonl");
  assert_int_equal(rp_jsonl_line(r), 0);
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;

  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 1);
  assert_text(d, get(d, root, "a"), "1");
  assert_pos(d, get(d, root, "a"), 1, 6);
  assert_int_equal(rp_jsonl_line(r), 1);

  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 1);
  assert_text(d, get(d, root, "a"), "2");
  assert_pos(d, root, 4, 1);
  assert_int_equal(rp_jsonl_line(r), 4);

  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), RP_ESYNTAX);
  assert_int_equal(kind(d, root), RP_KIND_NULL);
  assert_int_equal(diags.n, 1);
  char *msg = rp_diag_format(&diags.items[0]);
  assert_string_equal(msg, "s.jsonl:5:6: error: invalid JSON: unexpected end of input");
  free(msg);

  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), RP_ESYNTAX);
  msg = rp_diag_format(&diags.items[1]);
  assert_string_equal(msg, "s.jsonl:7:9: error: invalid JSON: trailing garbage");
  free(msg);

  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 1);
  rp_value a = get(d, root, "a");
  assert_text(d, at(d, a, 0), "3");
  assert_pos(d, root, 8, 3);
  assert_pos(d, at(d, a, 0), 8, 10);
  assert_int_equal(rp_jsonl_line(r), 8);

  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 0);
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 0);
  assert_int_equal(diags.n, 2);
  rp_jsonl_close(r);
  rp_jsonl_close(NULL);
  fclose(f);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

static void test_jsonl_edge_files(void **state) {
  (void)state;
  static const struct {
    const char *src;
    size_t len;
    int values;
  } files[] = {
      {"", 0, 0},
      {"\n\n \n", 4, 0},
      {"1", 1, 1},
      {"1\n", 2, 1},
      {"\xef\xbb\xbf{}\n[]", 8, 2},
      {"\"a\"\n\"b\"\n\n\"c\"\n", 13, 3},
      {"\r\n\r\n", 4, 0},
  };
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    FILE *f = file_with(files[i].src, files[i].len);
    rp_jsonl *r = rp_jsonl_open(f, NULL);
    rp_doc *d = rp_doc_new();
    rp_diags diags = RP_DIAGS_INIT;
    rp_value root;
    int n = 0, st;
    while ((st = rp_jsonl_next(r, d, &root, &diags)) == 1)
      n++;
    assert_int_equal(st, 0);
    assert_int_equal(n, files[i].values);
    assert_int_equal(diags.n, 0);
    rp_jsonl_close(r);
    fclose(f);
    rp_diags_free(&diags);
    rp_doc_free(d);
  }
}

// A 1 MB line spans many reads; the arena's oversize chunk for it is given
// back on the next reset.
static void test_jsonl_long_line(void **state) {
  (void)state;
  const size_t big = 1024 * 1024;
  char *src = malloc(big + 64);
  assert_non_null(src);
  size_t n = 0;
  n += (size_t)sprintf(src + n, "{\"a\":1}\n{\"big\":\"");
  for (size_t i = 0; i < big; i++)
    src[n++] = (char)('a' + i % 26);
  n += (size_t)sprintf(src + n, "\",\"x\":2}\r\n{\"a\":3}\n");
  FILE *f = file_with(src, n);
  free(src);
  rp_jsonl *r = rp_jsonl_open(f, "big.jsonl");
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 1);
  size_t small = rp_doc_memory(d);
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 1);
  rp_value b = get(d, root, "big");
  size_t len;
  const char *s = rp_doc_ops.str(d, b, &len);
  assert_int_equal(len, big);
  assert_int_equal(s[0], 'a');
  assert_int_equal(s[big - 1], (char)('a' + (big - 1) % 26));
  assert_pos(d, get(d, root, "x"), 2, (int)big + 15);
  assert_true(rp_doc_memory(d) > big);
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 1);
  assert_text(d, get(d, root, "a"), "3");
  assert_int_equal(rp_jsonl_line(r), 3);
  assert_int_equal(rp_doc_memory(d), small);
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 0);
  assert_int_equal(diags.n, 0);
  rp_jsonl_close(r);
  fclose(f);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

static void test_jsonl_read_error(void **state) {
  (void)state;
  FILE *f = fopen("/dev/null", "w");  // reading a write-only stream fails
  assert_non_null(f);
  rp_jsonl *r = rp_jsonl_open(f, "out.jsonl");
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), RP_EIO);
  assert_int_equal(diags.n, 1);
  char *msg = rp_diag_format(&diags.items[0]);
  assert_string_equal(msg, "out.jsonl: error: read error: Bad file descriptor");
  free(msg);
  assert_int_equal(rp_jsonl_next(r, d, &root, &diags), 0);
  rp_jsonl_close(r);
  fclose(f);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

// ---------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------

// A session-sized JSON text of about 3 KB.
static size_t session_json(char *buf, size_t cap, int seed) {
  size_t n = (size_t)snprintf(buf, cap,
                              "{\"client\":{\"id\":\"C-%05d\",\"initials\":\"J.O.\"},"
                              "\"session\":{\"number\":%d,\"minutes\":50,\"score\":%d.5},"
                              "\"items\":[",
                              seed, seed % 60, seed % 10);
  for (int i = 0; i < 24; i++)
    n += (size_t)snprintf(buf + n, cap - n,
                          "%s{\"name\":\"item %d\",\"rating\":%d,\"note\":\"Client reported "
                          "feeling steadier this week & used the skill on %d of 7 days.\"}",
                          i ? "," : "", i, i % 5, i % 7);
  n += (size_t)snprintf(buf + n, cap - n,
                        "],\"plan\":\"Continue weekly sessions focused on behavioral activation; "
                        "review homework; re-administer PHQ-9 and GAD-7 in 3 weeks.\","
                        "\"risk_high\":false,\"tags\":[\"a\",\"b\",\"c\",null,true]}");
  return n;
}

static void test_reset_keeps_memory_flat(void **state) {
  (void)state;
  char buf[8192];
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;
  size_t len = session_json(buf, sizeof buf, 1);
  assert_in_range(len, 2500, 4000);
  assert_int_equal(rp_json_parse(d, "s.json", buf, len, &diags, &root), RP_OK);
  size_t first = rp_doc_memory(d);
  for (int i = 0; i < 10000; i++) {
    rp_doc_reset(d);
    len = session_json(buf, sizeof buf, i);
    assert_int_equal(rp_json_parse(d, "s.json", buf, len, &diags, &root), RP_OK);
    // Built values in the same arena are recycled too.
    rp_value m = rp_doc_map(d);
    for (int k = 0; k < 20; k++) {
      char key[8];
      int kn = snprintf(key, sizeof key, "k%d", k);
      rp_doc_map_set(d, m, key, (size_t)kn, rp_doc_string(d, buf, 40));
    }
  }
  assert_text(d, get(d, get(d, root, "client"), "id"), "C-09999");
  size_t last = rp_doc_memory(d);
  assert_in_range(last, first, first + 64 * 1024);
  assert_true(last <= 128 * 1024);
  // Further rounds add nothing at all.
  for (int i = 0; i < 1000; i++) {
    rp_doc_reset(d);
    len = session_json(buf, sizeof buf, i);
    assert_int_equal(rp_json_parse(d, "s.json", buf, len, &diags, &root), RP_OK);
    rp_value m = rp_doc_map(d);
    for (int k = 0; k < 20; k++) {
      char key[8];
      int kn = snprintf(key, sizeof key, "k%d", k);
      rp_doc_map_set(d, m, key, (size_t)kn, rp_doc_string(d, buf, 40));
    }
  }
  assert_int_equal(rp_doc_memory(d), last);
  assert_int_equal(diags.n, 0);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

// One giant document does not pin its memory: reset goes back to a bounded
// size, and the next ordinary document fits in it.
// Found by fuzzing: the UTF-8 check skips ASCII 32 bytes at a time and then
// read the byte after its input when the skip ended exactly at the end.
static void test_utf8_check_stops_at_the_end(void **state) {
  (void)state;
  for (size_t len = 0; len <= 96; len++) {
    // Exactly len bytes, so that AddressSanitizer sees any read past them.
    char *s = malloc(len ? len : 1);
    memset(s, 'a', len);
    assert_int_equal(rp_utf8_check(s, len), len);
    free(s);
  }
}

// Found by fuzzing: an empty list or map as a fresh document's first
// container did pointer arithmetic on a NULL array.
static void test_empty_first_container(void **state) {
  (void)state;
  const char *texts[] = {"[]", "{}", "[[]]", "{\"a\": {}}"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    rp_doc *doc = rp_doc_new();
    rp_diags d = RP_DIAGS_INIT;
    rp_value root;
    assert_int_equal(rp_json_parse(doc, "t.json", texts[i], strlen(texts[i]), &d, &root), RP_OK);
    assert_int_equal(d.n, 0);
    rp_doc_free(doc);
    doc = rp_doc_new();
    assert_int_equal(rp_yaml_parse(doc, "t.yaml", texts[i], strlen(texts[i]), &d, &root), RP_OK);
    rp_doc_free(doc);
    rp_diags_free(&d);
  }
}

static void test_reset_after_giant_document(void **state) {
  (void)state;
  const int count = 200000;
  char *src = malloc((size_t)count * 2 + 2);
  assert_non_null(src);
  size_t n = 0;
  src[n++] = '[';
  for (int i = 0; i < count; i++) {
    src[n++] = (char)('0' + i % 10);
    src[n++] = i + 1 < count ? ',' : ']';
  }
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value root;
  char buf[8192];
  size_t len = session_json(buf, sizeof buf, 1);
  assert_int_equal(rp_json_parse(d, "s.json", buf, len, &diags, &root), RP_OK);
  size_t ordinary = rp_doc_memory(d);
  rp_doc_reset(d);
  assert_int_equal(rp_json_parse(d, "g.json", src, n, &diags, &root), RP_OK);
  assert_int_equal(rp_doc_ops.len(d, root), count);
  assert_text(d, at(d, root, (size_t)count - 1), "9");
  assert_true(rp_doc_memory(d) > (size_t)count * 40);
  rp_doc_reset(d);
  assert_true(rp_doc_memory(d) <= 1536 * 1024);
  assert_int_equal(rp_json_parse(d, "s.json", buf, len, &diags, &root), RP_OK);
  assert_true(rp_doc_memory(d) <= 1536 * 1024 + ordinary);
  size_t settled = rp_doc_memory(d);
  for (int i = 0; i < 100; i++) {
    rp_doc_reset(d);
    assert_int_equal(rp_json_parse(d, "s.json", buf, len, &diags, &root), RP_OK);
  }
  assert_int_equal(rp_doc_memory(d), settled);
  assert_int_equal(diags.n, 0);
  rp_diags_free(&diags);
  rp_doc_free(d);
  free(src);
}

// Values built before a parse stay valid after it, and a failed parse
// leaves earlier values alone.
static void test_parse_adds_to_doc(void **state) {
  (void)state;
  rp_doc *d = rp_doc_new();
  rp_diags diags = RP_DIAGS_INIT;
  rp_value s = rp_doc_string(d, S("kept"));
  rp_value a, b;
  assert_int_equal(rp_json_parse(d, "a.json", S("{\"x\": [1, 2]}"), &diags, &a), RP_OK);
  assert_int_equal(rp_json_parse(d, "b.json", S("{\"x\": [1, 2"), &diags, &b), RP_ESYNTAX);
  assert_int_equal(rp_yaml_parse(d, "c.yaml", S("y: [3]\n"), &diags, &b), RP_OK);
  assert_text(d, s, "kept");
  assert_text(d, at(d, get(d, a, "x"), 1), "2");
  assert_text(d, at(d, get(d, b, "y"), 0), "3");
  assert_int_equal(diags.n, 1);
  rp_diags_free(&diags);
  rp_doc_free(d);
}

// ---------------------------------------------------------------------------
// The JSON fast path against the strict path
// ---------------------------------------------------------------------------

// Whether two trees are the same: kinds, positions, text, values, keys.
static bool same_tree(const rp_node *a, const rp_node *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->line != b->line || a->col != b->col || a->len != b->len ||
      a->b != b->b || a->plain != b->plain)
    return false;
  switch (a->kind) {
    case RP_KIND_STRING:
      return memcmp(a->a.s, b->a.s, a->len) == 0 && a->a.s[a->len] == '\0' &&
             b->a.s[b->len] == '\0';
    case RP_KIND_NUMBER:
      return memcmp(&a->u.num, &b->u.num, sizeof a->u.num) == 0 &&
             ((!a->a.s && !b->a.s) || (a->a.s && b->a.s && strcmp(a->a.s, b->a.s) == 0));
    case RP_KIND_LIST:
      for (uint32_t i = 0; i < a->len; i++)
        if (!same_tree(a->a.items[i], b->a.items[i])) return false;
      return true;
    case RP_KIND_MAP:
      if ((a->mask == 0) != (b->mask == 0)) return false;
      for (uint32_t i = 0; i < a->len; i++) {
        const rp_entry *x = &a->a.entries[i], *y = &b->a.entries[i];
        if (x->keylen != y->keylen || memcmp(x->key, y->key, x->keylen) != 0 ||
            x->line != y->line || x->col != y->col || !same_tree(x->val, y->val))
          return false;
      }
      return true;
    default:
      return true;
  }
}

// 1: the fast path accepted (and the strict one agrees, with the same
// tree); 0: it declined. Fails the test when the fast path accepts what the
// strict one refuses, or builds another tree.
static int fast_agrees(const char *src, size_t len) {
  rp_doc *fd = rp_doc_new(), *sd = rp_doc_new();
  rp_value froot = {0}, sroot = {0};
  bool fast = rp_json_parse_fast(fd, src, len, 3, &froot);
  rp_diags d = RP_DIAGS_INIT;
  int st = rp_json_parse_strict(sd, "x.jsonl", src, len, 3, &d, &sroot);
  if (fast && (st != RP_OK || !same_tree(froot.p, sroot.p))) {
    fprintf(stderr, "fast path differs (strict %d) on: %.*s\n", st, (int)len, src);
    fail();
  }
  rp_diags_free(&d);
  rp_doc_free(fd);
  rp_doc_free(sd);
  return fast;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(uint32_t n) {
  rnd_state = rnd_state * 1103515245u + 12345u;
  return (rnd_state >> 8) % n;
}

// A random JSON value, pretty or compact, with every kind of string escape,
// UTF-8 text and number form.
static void gen_value(rp_buf *b, int depth) {
  static const char *const strings[] = {"plain",
                                        "",
                                        "with \\\"quotes\\\" & <tags>",
                                        "tab\\there\\n",
                                        "\\u00e9t\\u00E9",
                                        "caf\xc3\xa9",
                                        "\\ud83d\\ude00 emoji",
                                        "\xf0\x9f\x98\x80",
                                        "slash\\/",
                                        "\\b\\f\\r",
                                        "long text long text long text long text long text",
                                        "\\u20ac",
                                        "a\x7f",
                                        "\\\\"};
  static const char *const numbers[] = {"0",    "-0",      "1",
                                        "-12",  "3.25",    "1e3",
                                        "2E-2", "-0.5e+7", "12345678901234567890",
                                        "0.1",  "1.0",     "9007199254740993"};
  int k = (int)rnd(depth > 4 ? 4 : 6);
  switch (k) {
    case 0:
      rp_buf_printf(b, "\"%s\"", strings[rnd(sizeof strings / sizeof *strings)]);
      break;
    case 1:
      rp_buf_adds(b, numbers[rnd(sizeof numbers / sizeof *numbers)]);
      break;
    case 2:
      rp_buf_adds(b, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false");
      break;
    case 3:
      rp_buf_printf(b, "%u", rnd(100000));
      break;
    case 4: {
      uint32_t n = rnd(5);
      rp_buf_adds(b, rnd(2) ? "[" : " [ ");
      for (uint32_t i = 0; i < n; i++) {
        if (i) rp_buf_adds(b, rnd(2) ? "," : " ,\n ");
        gen_value(b, depth + 1);
      }
      rp_buf_adds(b, "]");
      break;
    }
    default: {
      uint32_t n = rnd(12);
      rp_buf_adds(b, rnd(2) ? "{" : "{\n  ");
      for (uint32_t i = 0; i < n; i++) {
        if (i) rp_buf_adds(b, rnd(2) ? "," : ",\n  ");
        rp_buf_printf(b, "\"k%u%s\"%s", i, rnd(4) ? "" : "\\u00e9", rnd(2) ? ":" : " : ");
        gen_value(b, depth + 1);
      }
      rp_buf_adds(b, "}");
      break;
    }
  }
}

static void test_json_fast_path_agrees_with_the_strict_one(void **state) {
  (void)state;
  static const char *const fixed[] = {"{}",
                                      "[]",
                                      " 42 ",
                                      "\"x\"",
                                      "{\"a\":1,\"a\":2}",
                                      "{\"a\":1,}",
                                      "[1,]",
                                      "01",
                                      "1.",
                                      ".5",
                                      "-",
                                      "tru",
                                      "nul",
                                      "\"\\u0000\"",
                                      "\"\\ud800\"",
                                      "\"\\udc00\"",
                                      "\"\\ud800\\u0041\"",
                                      "\"\\x\"",
                                      "\"\\u12\"",
                                      "\"a\tb\"",
                                      "\"\xc0\xaf\"",
                                      "\"\xed\xa0\x80\"",
                                      "1e999",
                                      "[1 2]",
                                      "{\"a\" 1}",
                                      "{1:2}",
                                      "// c\n1",
                                      "1 2",
                                      "",
                                      "   ",
                                      "[[[[]]]]",
                                      "\"\xff\"",
                                      "{\"k\": [true, false, null, -1.5e-3, \"\\\"\"]}",
                                      "\"12345678\\\"12345678\""};
  int accepted = 0;
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    accepted += fast_agrees(fixed[i], strlen(fixed[i]));
  assert_true(accepted >= 6);
  // Nesting past the limit: both refuse.
  rp_buf deep = RP_BUF_INIT;
  for (int i = 0; i < 70; i++)
    rp_buf_addc(&deep, '[');
  for (int i = 0; i < 70; i++)
    rp_buf_addc(&deep, ']');
  assert_int_equal(fast_agrees(deep.data, deep.len), 0);
  rp_buf_free(&deep);
  // Generated documents, whole (the fast path must take them) and mutated:
  // a byte changed, dropped or cut off.
  int valid = 0, valid_fast = 0, mutated_fast = 0;
  for (int round = 0; round < 3000; round++) {
    rp_buf b = RP_BUF_INIT;
    gen_value(&b, 0);
    valid++;
    valid_fast += fast_agrees(b.data, b.len);
    for (int m = 0; m < 6; m++) {
      rp_buf c = RP_BUF_INIT;
      rp_buf_add(&c, b.data, b.len);
      size_t at = rnd((uint32_t)c.len);
      static const char bytes[] =
          "\"\\{}[],:0-e. \n\x01\x80\xc3\xff"
          "a";
      switch (m % 3) {
        case 0:
          c.data[at] = bytes[rnd(sizeof bytes - 1)];
          break;
        case 1:
          memmove(c.data + at, c.data + at + 1, c.len - at - 1);
          c.len--;
          break;
        default:
          c.len = at;
          break;
      }
      mutated_fast += fast_agrees(c.data, c.len);
      rp_buf_free(&c);
    }
    rp_buf_free(&b);
  }
  // Duplicate keys never come out of the generator: every document is
  // valid, and the fast path must take it.
  assert_int_equal(valid_fast, valid);
  assert_true(mutated_fast > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builders_scalars),
      cmocka_unit_test(test_yaml_text_mode),
      cmocka_unit_test(test_yaml_comment_after_a_value_warns),
      cmocka_unit_test(test_builders_containers),
      cmocka_unit_test(test_builders_large_map),
      cmocka_unit_test(test_lambda),
      cmocka_unit_test(test_number_text_table),
      cmocka_unit_test(test_number_doubles),
      cmocka_unit_test(test_number_shortest_round_trip),
      cmocka_unit_test(test_number_bad_text),
      cmocka_unit_test(test_json_values_and_positions),
      cmocka_unit_test(test_json_top_level_scalars),
      cmocka_unit_test(test_json_parse_line),
      cmocka_unit_test(test_json_utf8),
      cmocka_unit_test(test_json_escapes_refused),
      cmocka_unit_test(test_json_duplicate_keys),
      cmocka_unit_test(test_json_trailing_and_syntax),
      cmocka_unit_test(test_json_numbers_refused),
      cmocka_unit_test(test_json_depth),
      cmocka_unit_test(test_json_messages_hide_values),
      cmocka_unit_test(test_yaml_values_and_positions),
      cmocka_unit_test(test_yaml_typing),
      cmocka_unit_test(test_yaml_empty),
      cmocka_unit_test(test_yaml_refusals),
      cmocka_unit_test(test_yaml_depth),
      cmocka_unit_test(test_yaml_syntax_and_encoding),
      cmocka_unit_test(test_yaml_messages_hide_values),
      cmocka_unit_test(test_load_file_json_and_yaml_agree),
      cmocka_unit_test(test_load_file_errors),
      cmocka_unit_test(test_jsonl_lines),
      cmocka_unit_test(test_jsonl_edge_files),
      cmocka_unit_test(test_jsonl_long_line),
      cmocka_unit_test(test_jsonl_read_error),
      cmocka_unit_test(test_reset_keeps_memory_flat),
      cmocka_unit_test(test_reset_after_giant_document),
      cmocka_unit_test(test_utf8_check_stops_at_the_end),
      cmocka_unit_test(test_empty_first_container),
      cmocka_unit_test(test_parse_adds_to_doc),
      cmocka_unit_test(test_json_fast_path_agrees_with_the_strict_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
