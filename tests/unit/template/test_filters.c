// Tests of the filters (core/template/filters.c): every built-in, chains,
// arguments, custom filters registered with rp_filters_add and how filter
// failures reach the diagnostics. Through the public API only; expected
// outputs are written by hand from the documentation in filters.c and
// template.h.
//
// upper and lower: Debian 12's libc-bin always installs the C.UTF-8 locale,
// whose LC_CTYPE maps letters one code point to one code point (towupper).
// So "élan" becomes "ÉLAN", "ΣΟΦΊΑ" becomes "σοφία" (every capital sigma
// lowers to σ: a per-character mapping knows nothing of word-final ς), and
// "ß", which has no single-code-point capital, stays "ß".
#include <stdarg.h>
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

#define TPATH "f.mustache"

// --- helpers -------------------------------------------------------------------

typedef struct fixture {
  rp_filters *filters;
  rp_library *lib;
} fixture;

static fixture *fx;  // the current test's fixture, set by setup

#define assert_diag(d, line, col, needle)                                               \
  do {                                                                                  \
    if (!has_diag((d), TPATH, (line), (col), (needle))) {                               \
      fprintf(stderr, "expected %s:%d:%d: ...%s...\n", TPATH, (line), (col), (needle)); \
      dump_diags(d);                                                                    \
      fail();                                                                           \
    }                                                                                   \
  } while (0)

static int setup(void **state) {
  fx = calloc(1, sizeof *fx);
  fx->filters = rp_filters_new();
  rp_filters_add_builtins(fx->filters);
  rp_library_opts o = {.filters = fx->filters};
  fx->lib = rp_library_new(&o);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  rp_library_free(fx->lib);
  rp_filters_free(fx->filters);
  free(fx);
  fx = NULL;
  return 0;
}

static int render(const char *src, const char *json, rp_buf *out, rp_diags *diags) {
  return test_render(fx->lib, TPATH, src, json, NULL, out, diags);
}

static void expect(const char *src, const char *json, const char *want) {
  test_expect(fx->lib, TPATH, src, json, NULL, want);
}

// The render fails with `status` and a diagnostic at line:col naming the
// filter and holding `needle`.
static void expect_fail(const char *src, const char *json, int status, int line, int col,
                        const char *filter, const char *needle) {
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = render(src, json, &out, &d);
  if (rc != status) {
    fprintf(stderr, "template: [%s] data: %s gave [%.*s]\n", src, json ? json : "{}", (int)out.len,
            out.data);
    dump_diags(&d);
  }
  assert_int_equal(rc, status);
  char named[64];
  snprintf(named, sizeof named, "filter '%s' failed", filter);
  assert_diag(&d, line, col, named);
  assert_diag(&d, line, col, needle);
  assert_int_equal(d.errors, 1);
  rp_buf_free(&out);
  rp_diags_free(&d);
}

static void expect_compile_error(const char *src, int line, int col, const char *needle) {
  rp_diags d = RP_DIAGS_INIT;
  rp_template *t = rp_template_compile(fx->lib, TPATH, src, strlen(src), &d);
  assert_null(t);
  assert_diag(&d, line, col, needle);
  assert_int_equal(d.errors, 1);
  rp_diags_free(&d);
}

// --- upper, lower ------------------------------------------------------------------

static void test_upper_lower_ascii(void **state) {
  expect("{{s | upper}}", "{\"s\":\"Hello World 42!\"}", "HELLO WORLD 42!");
  expect("{{s | lower}}", "{\"s\":\"Hello World 42!\"}", "hello world 42!");
  expect("{{s|upper}}", "{\"s\":\"mIxEd\"}", "MIXED");
  // Numbers and booleans as their text.
  expect("{{n | upper}} {{b | upper}}", "{\"n\":1e21,\"b\":true}", "1E+21 TRUE");
  // Escaping happens after the filter.
  expect("{{s | upper}}", "{\"s\":\"<a href>\"}", "&lt;A HREF&gt;");
  expect("{{{s | upper}}}", "{\"s\":\"<a>\"}", "<A>");
  expect("{{&s | lower}}", "{\"s\":\"<A>\"}", "<a>");
  // Missing passes through as missing, which prints nothing.
  expect("[{{s | upper}}]", NULL, "[]");
  expect("[{{s | lower}}]", "{\"s\":null}", "[]");
  expect("[{{s | upper}}]", "{\"s\":\"\"}", "[]");
}

static void test_upper_lower_unicode(void **state) {
  expect("{{s | upper}}", "{\"s\":\"élan\"}", "ÉLAN");
  expect("{{s | lower}}", "{\"s\":\"ΣΟΦΊΑ\"}", "σοφία");
  expect("{{s | lower}}", "{\"s\":\"ÉLAN\"}", "élan");
  expect("{{s | upper}}", "{\"s\":\"straße\"}", "STRAßE");
  // Four-byte sequences: Deseret small long i (U+10428) to capital (U+10400).
  expect("{{s | upper}}", "{\"s\":\"\xF0\x90\x90\xA8\"}", "\xF0\x90\x90\x80");
}

// Renders a string made with the builder (the JSON loader refuses bytes that
// are not UTF-8, but the Lua layer can hand the engine any bytes).
static void expect_bytes(const char *src, const char *s, size_t len, const char *want,
                         size_t wantlen) {
  rp_diags d = RP_DIAGS_INIT;
  rp_template *t = rp_template_compile(fx->lib, TPATH, src, strlen(src), &d);
  assert_non_null(t);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "s", 1, rp_doc_string(doc, s, len));
  rp_ctx ctx = rp_doc_ctx(doc, root);
  rp_buf out = RP_BUF_INIT;
  assert_int_equal(rp_template_render(t, &ctx, NULL, &out, &d), RP_OK);
  assert_int_equal(out.len, wantlen);
  assert_memory_equal(out.data, want, wantlen);
  rp_buf_free(&out);
  rp_doc_free(doc);
  rp_template_free(t);
  rp_diags_free(&d);
}

static void test_upper_keeps_bytes_that_are_not_utf8(void **state) {
  // A stray byte is copied as it is and the text around it still changes.
  expect_bytes("{{{s | upper}}}",
               "a\xFF"
               "b\xE9",
               4,
               "A\xFF"
               "B\xE9",
               4);
  // An overlong encoding is not UTF-8 either: "copy the byte as it is, drop
  // nothing" (filters.c) means its bytes come out unchanged, not decoded
  // into the character they spell ("\xC0\xBC" spells '<').
  expect_bytes("{{{s | upper}}}", "x\xC0\xBCy", 4, "X\xC0\xBCY", 4);
  expect_bytes("{{{s | lower}}}", "\xE0\x80\xAF", 3, "\xE0\x80\xAF", 3);
}

// --- default -----------------------------------------------------------------------

static void test_default(void **state) {
  const char *tpl = "{{v | default \"n/a\"}}";
  // Every falsy kind.
  expect(tpl, NULL, "n/a");
  expect(tpl, "{\"v\":null}", "n/a");
  expect(tpl, "{\"v\":false}", "n/a");
  expect(tpl, "{\"v\":0}", "n/a");
  expect(tpl, "{\"v\":-0}", "n/a");
  expect(tpl, "{\"v\":\"\"}", "n/a");
  expect(tpl, "{\"v\":[]}", "n/a");
  // Truthy values pass through and print as themselves.
  expect(tpl, "{\"v\":\"x\"}", "x");
  expect(tpl, "{\"v\":\"0\"}", "0");
  expect(tpl, "{\"v\":0.5}", "0.5");
  expect(tpl, "{\"v\":true}", "true");
  expect(tpl, "{\"v\":[1,2]}", "1,2");
  expect(tpl, "{\"v\":{}}", "[object Object]");
  expect(tpl, "{\"v\":\"<b>\"}", "&lt;b&gt;");
  // The default text is escaped like any value.
  expect("{{v | default \"<none>\"}}", NULL, "&lt;none&gt;");
  expect("{{{v | default \"<none>\"}}}", NULL, "<none>");
  // Dotted names.
  expect("{{a.b | default \"-\"}}", "{\"a\":{}}", "-");
  expect("{{a.b | default \"-\"}}", "{\"a\":{\"b\":7}}", "7");
}

// --- join --------------------------------------------------------------------------

static void test_join(void **state) {
  const char *abc = "{\"xs\":[\"a\",\"b\",\"c\"]}";
  expect("{{xs | join}}", abc, "a, b, c");
  expect("{{xs | join \" / \"}}", abc, "a / b / c");
  expect("{{xs | join \"\"}}", abc, "abc");
  expect("{{xs | join}}", "{\"xs\":[\"only\"]}", "only");
  expect("{{xs | join \"+\"}}", "{\"xs\":[1,2.5,1e21,-0]}", "1+2.5+1e+21+0");
  expect("{{xs | join}}", "{\"xs\":[true,null,\"z\"]}", "true, , z");
  // Not a list: passes through.
  expect("{{xs | join}}", "{\"xs\":\"text\"}", "text");
  expect("{{xs | join}}", "{\"xs\":5}", "5");
  expect("[{{xs | join}}]", NULL, "[]");
  // The result is escaped, separator included.
  expect("{{xs | join \"<br>\"}}", "{\"xs\":[\"a\",\"&\"]}", "a&lt;br&gt;&amp;");
  expect("{{{xs | join \"<br>\"}}}", "{\"xs\":[\"a\",\"&\"]}", "a<br>&");
  // An empty list joins to empty text, which default replaces.
  expect("{{xs | join | default \"none\"}}", "{\"xs\":[]}", "none");
}

// --- date --------------------------------------------------------------------------

static void test_date(void **state) {
  const char *d = "{\"d\":\"2026-11-24\"}";
  expect("{{d | date}}", d, "2026-11-24");
  expect("{{d | date \"%d %b %Y\"}}", d, "24 Nov 2026");
  // 2026-01-01 is a Thursday; 24 Nov is 327 days later, a Tuesday, the
  // 328th day of the year.
  expect("{{d | date \"%A %B %j\"}}", d, "Tuesday November 328");
  expect("{{d | date \"%a %e %b\"}}", d, "Tue 24 Nov");
  expect("{{d | date \"%%Y\"}}", d, "%Y");
  const char *dt = "{\"d\":\"2026-11-24T09:05\"}";
  expect("{{d | date \"%H:%M\"}}", dt, "09:05");
  expect("{{d | date}}", dt, "2026-11-24");
  expect("{{d | date \"%d/%m %H:%M:%S\"}}", "{\"d\":\"2026-11-24T23:59:30\"}", "24/11 23:59:30");
  expect("{{d | date \"%H:%M\"}}", "{\"d\":\"2026-11-24 07:45\"}", "07:45");
  // Leap days.
  expect("{{d | date \"%d %b %Y\"}}", "{\"d\":\"2024-02-29\"}", "29 Feb 2024");
  expect("{{d | date \"%d %b %Y\"}}", "{\"d\":\"2000-02-29\"}", "29 Feb 2000");
  // A missing or null value passes through, so a default can follow.
  expect("{{d | date | default \"-\"}}", NULL, "-");
  expect("{{d | date \"%d %b\" | default \"-\"}}", "{\"d\":null}", "-");
  expect("[{{d | date}}]", NULL, "[]");
}

static void test_date_errors(void **state) {
  const char *tpl = "x {{d | date}}";
  const char *bad[] = {
      "{\"d\":\"2026-02-30\"}",
      "{\"d\":\"2026-02-29\"}",
      "{\"d\":\"1900-02-29\"}",
      "{\"d\":\"2026-13-01\"}",
      "{\"d\":\"2026-00-10\"}",
      "{\"d\":\"2026-11-00\"}",
      "{\"d\":\"2026-11-31\"}",
      "{\"d\":\"24/11/2026\"}",
      "{\"d\":\"2026-1-24\"}",
      "{\"d\":\"\"}",
      "{\"d\":\"2026-11-24T24:00\"}",
      "{\"d\":\"2026-11-24T10:60\"}",
      "{\"d\":\"2026-11-24T10\"}",
      "{\"d\":20261124}",
      "{\"d\":true}",
      "{\"d\":[\"2026-11-24\"]}",
      "{\"d\":\"2026-11-24 nonsense\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    expect_fail(tpl, bad[i], RP_EFILTER, 1, 3, "date", "YYYY-MM-DD");
  }
  // The format is text, and its result must fit.
  expect_fail("{{d | date 5}}", "{\"d\":\"2026-11-24\"}", RP_EFILTER, 1, 1, "date", "text");
  char big[400];
  memcpy(big, "{{d | date \"", 12);
  memset(big + 12, 'x', 300);
  memcpy(big + 312, "\"}}", 4);
  expect_fail(big, "{\"d\":\"2026-11-24\"}", RP_EFILTER, 1, 1, "date", "255");
}

static void test_date_rejects_trailing_text(void **state) {
  // "a YYYY-MM-DD date (optionally with a THH:MM[:SS] time)": anything after
  // the time is not such a date, and silently dropping it (a time zone, a
  // typo) would print a wrong time in a note.
  const char *bad[] = {
      "{\"d\":\"2026-11-24T09:05junk\"}",
      "{\"d\":\"2026-11-24T09:05:30+05:00\"}",
      "{\"d\":\"2026-11-24T09:05:3\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    expect_fail("{{d | date \"%H:%M\"}}", bad[i], RP_EFILTER, 1, 1, "date", "YYYY-MM-DD");
  }
}

// --- count -------------------------------------------------------------------------

static void test_count(void **state) {
  expect("{{xs | count}}", "{\"xs\":[1,2,3]}", "3");
  expect("{{xs | count}}", "{\"xs\":[]}", "0");
  expect("{{m | count}}", "{\"m\":{\"a\":1,\"b\":[1,2]}}", "2");
  expect("{{s | count}}", "{\"s\":\"élan\"}", "4");
  expect("{{s | count}}", "{\"s\":\"σοφία\"}", "5");
  expect("{{s | count}}", "{\"s\":\"\xF0\x9F\x99\x82!\"}", "2");
  expect("{{s | count}}", "{\"s\":\"\"}", "0");
  expect("{{s | count}}", NULL, "0");
  expect("{{s | count}}", "{\"s\":null}", "0");
  // A made value from an earlier filter.
  expect("{{s | upper | count}}", "{\"s\":\"élan\"}", "4");
  expect("{{xs | count | default \"none\"}}", "{\"xs\":[]}", "none");
  expect("{{xs | count | default \"none\"}}", "{\"xs\":[0]}", "1");
}

static void test_count_errors(void **state) {
  expect_fail("a\n {{n | count}}", "{\"n\":5}", RP_EFILTER, 2, 2, "count", "list");
  expect_fail("{{b | count}}", "{\"b\":false}", RP_EFILTER, 1, 1, "count", "list");
  expect_fail("{{xs | count | count}}", "{\"xs\":[1]}", RP_EFILTER, 1, 1, "count", "list");
}

// --- chains and arguments -------------------------------------------------------------

static void test_chains(void **state) {
  expect("{{x | upper | default \"x\"}}", NULL, "x");
  expect("{{x | upper | default \"x\"}}", "{\"x\":\"abc\"}", "ABC");
  expect("{{x | default \"n/a\" | upper}}", NULL, "N/A");
  expect("{{xs | join \"-\" | upper}}", "{\"xs\":[\"a\",\"b\"]}", "A-B");
  expect("{{d | date \"%b\" | upper | lower}}", "{\"d\":\"2026-11-24\"}", "nov");
  // Whitespace and newlines inside the tag.
  expect("{{ x\n  |   upper\n  | default   \"y\" }}", "{\"x\":\"q\"}", "Q");
}

static void test_quoted_args(void **state) {
  expect("{{x | default \"a\\\"b\"}}", NULL, "a&quot;b");
  expect("{{{x | default \"a\\\"b\"}}}", NULL, "a\"b");
  expect("{{{x | default \"back\\\\slash\"}}}", NULL, "back\\slash");
  expect("{{{x | default \"tab\\tnl\\n\"}}}", NULL, "tab\tnl\n");
  // A bar or a brace inside quotes is text.
  expect("{{{x | default \"a|b\"}}}", NULL, "a|b");
  expect("{{x | default \"}\"}}", NULL, "}");
  expect("{{xs | join \" | \"}}", "{\"xs\":[1,2]}", "1 | 2");
  expect("{{x | default \"\"}}", NULL, "");
}

static void test_arg_errors(void **state) {
  // Neither quoted nor a number: reported at the argument.
  expect_compile_error("{{x | default abc}}", 1, 15, "'abc'");
  expect_compile_error("{{x | default \"open}}", 1, 15, "unterminated");
  // No name after a bar.
  expect_compile_error("{{x | }}", 1, 5, "filter name");
  expect_compile_error("{{x | upper || lower}}", 1, 13, "filter name");
  // More than 16 arguments: reported at the 17th.
  char src[128] = "{{xs | join";
  for (int i = 1; i <= 17; i++)
    snprintf(src + strlen(src), sizeof src - strlen(src), " %d", i % 10);
  strcat(src, "}}");
  // "{{xs | join" is 11 bytes; argument k starts at column 11 + 2k.
  expect_compile_error(src, 1, 11 + 2 * 17, "too many arguments");
}

static void test_arity_errors(void **state) {
  const char *j = "{\"x\":\"v\",\"xs\":[1],\"d\":\"2026-11-24\"}";
  expect_fail("{{x | default}}", j, RP_EFILTER, 1, 1, "default", "one argument");
  expect_fail("{{x | default \"a\" \"b\"}}", j, RP_EFILTER, 1, 1, "default", "one argument");
  expect_fail("{{xs | join \"a\" \"b\"}}", j, RP_EFILTER, 1, 1, "join", "at most one");
  expect_fail("{{d | date \"%Y\" \"%m\"}}", j, RP_EFILTER, 1, 1, "date", "at most one");
  expect_fail("{{xs | count 1}}", j, RP_EFILTER, 1, 1, "count", "no arguments");
}

static void test_upper_lower_take_no_arguments(void **state) {
  // Like count, upper and lower take nothing; an argument is a mistake in the
  // template and should be reported rather than ignored.
  const char *j = "{\"x\":\"v\"}";
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = render("{{x | upper \"fr\"}}", j, &out, &d);
  assert_int_equal(rc, RP_EFILTER);
  assert_diag(&d, 1, 1, "filter 'upper' failed");
  rp_buf_free(&out);
  rp_diags_free(&d);
  rc = render("{{x | lower 1}}", j, &out, &d);
  assert_int_equal(rc, RP_EFILTER);
  assert_diag(&d, 1, 1, "filter 'lower' failed");
  rp_buf_free(&out);
  rp_diags_free(&d);
}

// --- custom filters -------------------------------------------------------------------

typedef struct scale_ud {
  const char *tag;
  int calls;
} scale_ud;

// Multiplies a number by its numeric argument; returns a made NUMBER
// without text, so the engine prints it.
static int filter_scale(const rp_filter_call *call, void *ud) {
  scale_ud *s = ud;
  s->calls++;
  assert_string_equal(s->tag, "scale-ud");
  if (call->nargs != 1 || !call->args[0].is_number) {
    *call->errmsg = strdup("scale takes one number");
    return RP_EFILTER;
  }
  if (rp_fval_kind(call, call->in) != RP_KIND_NUMBER) {
    *call->errmsg = strdup("scale needs a number");
    return RP_EFILTER;
  }
  double x =
      call->in->from_ctx ? call->ctx->ops->number(call->ctx->ud, call->in->v) : call->in->num;
  call->out->missing = false;
  call->out->from_ctx = false;
  call->out->kind = RP_KIND_NUMBER;
  call->out->num = x * call->args[0].num;
  call->out->s = NULL;
  return RP_OK;
}

// Wraps its input in its string argument: "(" x "(" . Reads the input from
// the previous filter's scratch while writing its own.
static int filter_wrap(const rp_filter_call *call, void *ud) {
  size_t len;
  const char *s = rp_fval_str(call, call->in, &len);
  rp_buf_add(call->scratch, call->args[0].s, call->args[0].len);
  if (s) rp_buf_add(call->scratch, s, len);
  rp_buf_add(call->scratch, call->args[0].s, call->args[0].len);
  call->out->missing = false;
  call->out->from_ctx = false;
  call->out->kind = RP_KIND_STRING;
  call->out->s = call->scratch->data;
  call->out->len = call->scratch->len;
  return RP_OK;
}

// Describes what it is given with the rp_fval helpers: KIND:TRUTHY:TEXT.
static int filter_describe(const rp_filter_call *call, void *ud) {
  static const char *const kinds[] = {"null", "bool", "number", "string", "list", "map", "lambda"};
  size_t len;
  const char *s = rp_fval_str(call, call->in, &len);
  rp_buf_printf(call->scratch, "%s:%d:%.*s", kinds[rp_fval_kind(call, call->in)],
                rp_fval_truthy(call, call->in) ? 1 : 0, s ? (int)len : 0, s ? s : "");
  call->out->missing = false;
  call->out->from_ctx = false;
  call->out->kind = RP_KIND_STRING;
  call->out->s = call->scratch->data;
  call->out->len = call->scratch->len;
  return RP_OK;
}

static int filter_boom(const rp_filter_call *call, void *ud) {
  if (ud) *call->errmsg = strdup((const char *)ud);
  return RP_EFILTER;
}

static int filter_shout(const rp_filter_call *call, void *ud) {
  call->out->missing = false;
  call->out->from_ctx = false;
  call->out->kind = RP_KIND_STRING;
  call->out->s = ud;
  call->out->len = strlen(ud);
  return RP_OK;
}

static void test_custom_filters(void **state) {
  scale_ud ud = {"scale-ud", 0};
  rp_filters_add(fx->filters, "scale", filter_scale, &ud);
  rp_filters_add(fx->filters, "wrap", filter_wrap, NULL);
  expect("{{n | scale 2.5}}", "{\"n\":4}", "10");
  expect("{{n | scale -1}}", "{\"n\":4}", "-4");
  expect("{{n | scale 0.5 | scale 3}}", "{\"n\":1}", "1.5");
  expect("{{n | scale 1e21}}", "{\"n\":1}", "1e+21");
  assert_int_equal(ud.calls, 5);
  // Once per element of a loop.
  ud.calls = 0;
  expect("{{#xs}}{{. | scale 2}};{{/xs}}", "{\"xs\":[1,2,3]}", "2;4;6;");
  assert_int_equal(ud.calls, 3);
  // Each filter of a chain writes its own scratch while reading the last.
  expect("{{x | wrap \"(\" | wrap \"[\" | wrap \"{\" | wrap \"-\"}}", "{\"x\":\"x\"}", "-{[(x([{-");
  expect_fail("{{n | scale \"2\"}}", "{\"n\":1}", RP_EFILTER, 1, 1, "scale",
              "scale takes one number");
}

static void test_made_number_has_text(void **state) {
  // template.h: rp_fval_str gives the text of "strings, numbers, booleans".
  // A filter may make a NUMBER without text (rp_fval.s is "its text when
  // known (else NULL)"), and the engine prints it; the next filter of the
  // chain must see that text too, or `| scale 10 | wrap` loses the value.
  scale_ud ud = {"scale-ud", 0};
  rp_filters_add(fx->filters, "scale", filter_scale, &ud);
  rp_filters_add(fx->filters, "wrap", filter_wrap, NULL);
  expect("{{n | scale 10 | wrap \"'\"}}", "{\"n\":1.5}", "&#39;15&#39;");
  expect("{{n | scale 10 | upper}}", "{\"n\":1e20}", "1E+21");
}

static void test_fval_helpers(void **state) {
  rp_filters_add(fx->filters, "describe", filter_describe, NULL);
  expect("{{v | describe}}", NULL, "null:0:");
  expect("{{v | describe}}", "{\"v\":null}", "null:0:");
  expect("{{v | describe}}", "{\"v\":0}", "number:0:0");
  expect("{{v | describe}}", "{\"v\":1.5}", "number:1:1.5");
  expect("{{v | describe}}", "{\"v\":\"ab\"}", "string:1:ab");
  expect("{{v | describe}}", "{\"v\":\"\"}", "string:0:");
  expect("{{v | describe}}", "{\"v\":true}", "bool:1:true");
  expect("{{v | describe}}", "{\"v\":false}", "bool:0:false");
  expect("{{v | describe}}", "{\"v\":[]}", "list:0:");
  expect("{{v | describe}}", "{\"v\":[1]}", "list:1:");
  expect("{{v | describe}}", "{\"v\":{}}", "map:1:");
  // Values made by an earlier filter.
  expect("{{v | count | describe}}", "{\"v\":[1,2,3]}", "number:1:3");
  expect("{{v | count | describe}}", "{\"v\":[]}", "number:0:0");
  expect("{{v | upper | describe}}", "{\"v\":\"ab\"}", "string:1:AB");
  expect("{{v | default \"d\" | describe}}", NULL, "string:1:d");
}

static void test_filter_replaced(void **state) {
  rp_filters_add(fx->filters, "shout", filter_shout, "one");
  expect("{{x | shout}}", NULL, "one");
  // A later add of the same name replaces it for templates compiled after.
  rp_filters_add(fx->filters, "shout", filter_shout, "two");
  expect("{{x | shout}}", NULL, "two");
  // Built-ins can be replaced too.
  rp_filters_add(fx->filters, "upper", filter_shout, "mine");
  expect("{{x | upper}}", "{\"x\":\"a\"}", "mine");
}

static void test_filter_error_message(void **state) {
  rp_filters_add(fx->filters, "boom", filter_boom, "the clock at plugins/x.lua:3 broke");
  rp_filters_add(fx->filters, "mute", filter_boom, NULL);
  expect_fail("ok\nthen {{x | upper | boom}} more", "{\"x\":\"v\"}", RP_EFILTER, 2, 6, "boom",
              "the clock at plugins/x.lua:3 broke");
  // No message: the status's text.
  expect_fail("{{x | mute}}", NULL, RP_EFILTER, 1, 1, "mute", "filter failed");
  // Rendering goes on after a failure to report every failing tag.
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(render("a{{x | boom}}b{{x | mute}}", "{\"x\":\"v\"}", &out, &d), RP_EFILTER);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.items[0].col, 2);
  assert_int_equal(d.items[1].col, 15);
  rp_buf_free(&out);
  rp_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_upper_lower_ascii, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upper_lower_unicode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upper_keeps_bytes_that_are_not_utf8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default, setup, teardown),
      cmocka_unit_test_setup_teardown(test_join, setup, teardown),
      cmocka_unit_test_setup_teardown(test_date, setup, teardown),
      cmocka_unit_test_setup_teardown(test_date_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_date_rejects_trailing_text, setup, teardown),
      cmocka_unit_test_setup_teardown(test_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_count_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chains, setup, teardown),
      cmocka_unit_test_setup_teardown(test_quoted_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_arg_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_arity_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upper_lower_take_no_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(test_custom_filters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_made_number_has_text, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fval_helpers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_replaced, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_error_message, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
