// Unit tests for core/notes/output: the Markdown escaper and the HTML and
// plain-text formats.
//
// The central property: a string escaped with rp_output_escape_markdown and
// placed in a Markdown note (a heading, a list item, a table cell, a
// paragraph, mid-line, a block quote, next to another value) reads back as
// exactly that string in the HTML's text and in the plain text, and forms no
// markup. It is checked on a corpus of hostile strings, on every pair of
// them, and on random strings built from Markdown's special characters.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notes/output.h"

// ---------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------

static const char *const corpus[] = {
    "<script>alert('x')</script>",
    "<!-- x -->",
    "[a](javascript:x)",
    "![i](x)",
    "| a | b |",
    "- [ ] task",
    "- [x] done\n  - [ ] nested",
    "1986. A great year",
    "2) paren list",
    "1.",
    "# not a heading",
    "#",
    "    indented",
    "trailing two spaces  ",
    "a  \nhard break? two spaces then a newline",
    "line one\r\nline two",
    "lone\rcarriage return",
    "tab\there\tand\tthere",
    "\tleading tab",
    "back\\slash \\\\ double \\* escaped \\",
    "\\",
    "***",
    "---",
    "===",
    "-",
    ">",
    "> quoted",
    "+ plus item",
    "* star item",
    "`code` and ``double``",
    "```\nfenced\n```",
    "~~~\nfence\n~~~",
    "~~strike~~ ~single~",
    "**bold** __under__ *em* _em_ snake_case_name",
    "a & b &amp; &#169; &copy; &#x41; &",
    "<b>bold</b> <http://example.com> <me@example.com>",
    "www.example.com http://x.org/a_b me@example.com",
    "[ref]: http://example.com \"title\"",
    "[ref]\n\n[ref]: http://example.com",
    "Title\n===",
    "Title\n---\nmore",
    "1. one\n2. two\n- three",
    "line\n\n\nafter blank lines\n",
    "\n leading newline",
    "<div>\nblock\n</div>",
    ":---|:---:",
    "a|b\\|c",
    "   ",
    "\xEF\xBB\xBF"
    "bom at start",
    "[^1] footnote\n\n[^1]: note",
    "\"quotes\" 'single' \xE2\x80\x9Csmart\xE2\x80\x9D",
    "100% of $5 costs ^2 @ 3:00 pm; really? yes! (maybe) {braces} a/b",
    "7.5 and -3 and +4 and 2026-11-24 and J.D. and C-1042",
    "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD family "
    "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
    "RTL: \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 "
    "\xE2\x80\x8F mark",
    "combining: e\xCC\x81 n\xCC\x83 Z\xCD\x91\xCD\x97",
    "CJK: \xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C "
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
    "\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC "
    "\xD0\x9A\xD0\xB8\xD1\x80\xD0\xB8\xD0\xBB\xD0\xBB\xD0\xB8\xD1\x86\xD0\xB0 "
    "\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80",
    "{{not}} {{{mustache}}} <% erb %> ${x} $$math$$",
    "\x0B vertical tab \x0C form feed \x01 soh \x7F del",
    "nbsp\xC2\xA0"
    "at end\xC2\xA0",
    "x\n    code after newline\n\ttab line",
    "<?php echo 1; ?> <![CDATA[x]]> <!DOCTYPE html>",
    "said \"I'm fine\" -- then <cried> & left *early*",
    // Each line of a value is escaped where it could open a block.
    "a\n> q\n+ p\n* s\n= x\n: y\n| t |\n~~~\n___\n2) z\n<!-- c -->\n#\n- ",
    "ends with a backslash line\\\nnext\\\n\\",
    "spaces around  \n  line breaks \n\t\n\xC2\xA0",
};
enum { NCORPUS = sizeof corpus / sizeof *corpus };

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

static void show(const char *label, const char *s, size_t len);

static char *escaped(const char *s, size_t len) {
  rp_buf b = RP_BUF_INIT;
  rp_output_escape_markdown(&b, s, len);
  return rp_buf_detach(&b);
}

static char *to_html(const char *md, size_t len) {
  rp_buf b = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_output_html(md, len, "Test note", &b, &d), RP_OK);
  assert_int_equal(d.n, 0);
  rp_diags_free(&d);
  return rp_buf_detach(&b);
}

static char *to_text(const char *md, size_t len) {
  rp_buf b = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_output_text(md, len, &b, &d), RP_OK);
  assert_int_equal(d.n, 0);
  rp_diags_free(&d);
  return rp_buf_detach(&b);
}

static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen) {
  for (size_t i = 0; i + nlen <= hlen; i++)
    if (memcmp(hay + i, needle, nlen) == 0) return hay + i;
  return NULL;
}

static size_t utf8_put(char *o, unsigned long cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

// The text a reader sees in HTML `s` (len bytes): tags removed, character
// references decoded. Returns a malloc'd string and its length in *outlen.
static char *visible_text(const char *s, size_t len, size_t *outlen) {
  char *o = malloc(len + 1);
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    if (s[i] == '<') {
      const char *gt = memchr(s + i, '>', len - i);
      assert_non_null(gt);
      i = (size_t)(gt - s) + 1;
    } else if (s[i] == '&') {
      const char *semi = memchr(s + i, ';', len - i);
      assert_non_null(semi);
      size_t elen = (size_t)(semi - (s + i)) + 1;
      static const struct {
        const char *name;
        char c;
      } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
      bool done = false;
      for (size_t k = 0; k < sizeof named / sizeof *named && !done; k++) {
        if (strlen(named[k].name) == elen && memcmp(named[k].name, s + i, elen) == 0) {
          o[n++] = named[k].c;
          done = true;
        }
      }
      if (!done) {
        assert_true(s[i + 1] == '#');
        unsigned long cp = s[i + 2] == 'x' || s[i + 2] == 'X' ? strtoul(s + i + 3, NULL, 16)
                                                              : strtoul(s + i + 2, NULL, 10);
        n += utf8_put(o + n, cp);
      }
      i += elen;
    } else {
      o[n++] = s[i++];
    }
  }
  o[n] = '\0';
  *outlen = n;
  return o;
}

// The inner HTML of the first element `open` ... `close` found after the
// `nth` occurrence of `open` (1-based) following `after`.
static char *inner(const char *html, const char *after, const char *open, int nth,
                   const char *close, size_t *len) {
  const char *p = strstr(html, after);
  assert_non_null(p);
  for (int k = 0; k < nth; k++) {
    p = strstr(p, open);
    if (!p) show("no element in", strstr(html, "<body>"), strlen(strstr(html, "<body>")));
    assert_non_null(p);
    p += strlen(open);
  }
  const char *end = strstr(p, close);
  assert_non_null(end);
  *len = (size_t)(end - p);
  return strndup(p, *len);
}

static void show(const char *label, const char *s, size_t len) {
  fprintf(stderr, "%s: \"", label);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n')
      fputs("\\n", stderr);
    else if (c == '\r')
      fputs("\\r", stderr);
    else if (c == '\t')
      fputs("\\t", stderr);
    else if (c == '"' || c == '\\')
      fprintf(stderr, "\\%c", c);
    else if (c < 0x20 || c == 0x7F)
      fprintf(stderr, "\\x%02x", c);
    else
      fputc(c, stderr);
  }
  fputs("\"\n", stderr);
}

// Asserts that `got` equals `want`, showing both and the Markdown if not.
static void expect_same(const char *what, const char *md, const char *want, size_t wlen,
                        const char *got, size_t glen) {
  if (wlen == glen && memcmp(want, got, wlen) == 0) return;
  fprintf(stderr, "mismatch in %s\n", what);
  show("markdown", md, strlen(md));
  show("want", want, wlen);
  show("got ", got, glen);
  fail();
}

// A template context: Markdown before and after the value, where the value
// shows in the HTML, and the plain text expected around it.
typedef struct context {
  const char *name;
  const char *md_before, *md_after;
  const char *html_after, *html_open, *html_close;
  int html_nth;
  const char *text_before, *text_after;
} context;

static const context contexts[] = {
    {"paragraph", "", "\n\nNext.\n", "<body>", "<p>", "</p>", 1, "", "\n\nNext.\n"},
    {"heading", "# ", "\n\nAfter.\n", "<body>", "<h1>", "</h1>", 1, "", "\n\nAfter.\n"},
    {"h2 after text", "## Risk: ", "\n", "<body>", "<h2>", "</h2>", 1, "Risk: ", "\n"},
    {"list item", "- ", "\n- second\n", "<body>", "<li>\n<p>", "</p>", 1, "- ", "\n- second\n"},
    {"ordered item", "3. ", "\n", "<body>", "<li>\n<p>", "</p>", 1, "3. ", "\n"},
    {"table cell", "| Field | Value |\n| --- | --- |\n| x | ", " |\n", "<tbody>", "<td>", "</td>",
     2, "Field | Value\nx | ", "\n"},
    {"first table cell", "| Field | Value |\n|:--|--:|\n|", "| y |\n", "<tbody>",
     "<td align=\"left\">", "</td>", 1, "Field | Value\n", " | y\n"},
    {"mid-line", "Note: ", " (end)\n", "<body>", "<p>", "</p>", 1, "Note: ", " (end)\n"},
    {"block quote", "> ", "\n", "<blockquote>", "<p>", "</p>", 1, "> ", "\n"},
    {"emphasis", "**Plan:** *", "*\n", "<body>", "<em>", "</em>", 1, "Plan: ", "\n"},
};
enum { NCONTEXTS = sizeof contexts / sizeof *contexts };

// Whether a line break can stand in the context: not in a heading or a
// table cell, where the escaper keeps a value on one line.
static bool multi_line(const context *c) {
  return c->md_before[0] != '#' && c->md_before[0] != '|';
}

// Escapes the values `vals` (n of them, one after the other) in context `c`,
// as a template would place them there, and checks the HTML and the plain
// text against `s`, the values joined.
static void check_in_context(const context *c, const char *s, size_t slen, const char *const *vals,
                             size_t n) {
  rp_buf md = RP_BUF_INIT;
  rp_buf_adds(&md, c->md_before);
  size_t from = md.len;
  for (size_t k = 0; k < n; k++)
    rp_output_escape_markdown(&md, vals[k], strlen(vals[k]));
  // A value stays one physical line where a line break cannot stand;
  // elsewhere each of its line breaks is a hard break (`\` at the end of
  // the line), never a line of its own.
  assert_null(memchr(md.data + from, '\r', md.len - from));
  for (size_t i = from; i < md.len; i++) {
    if (md.data[i] != '\n') continue;
    if (!multi_line(c) || md.data[i - 1] != '\\') {
      show("markdown", md.data, md.len);
      fail_msg("a raw line break in %s", c->name);
    }
  }
  rp_buf_adds(&md, c->md_after);

  char *html = to_html(md.data, md.len);
  size_t ilen, vlen;
  char *in = inner(html, c->html_after, c->html_open, c->html_nth, c->html_close, &ilen);
  // No markup formed: the element holds text only.
  if (memchr(in, '<', ilen)) {
    fprintf(stderr, "markup formed in %s\n", c->name);
    show("markdown", md.data, md.len);
    show("inner html", in, ilen);
    fail();
  }
  char *vis = visible_text(in, ilen, &vlen);
  rp_buf want = RP_BUF_INIT;
  // The contexts whose HTML element also holds template text.
  if (strcmp(c->name, "h2 after text") == 0) rp_buf_adds(&want, "Risk: ");
  if (strcmp(c->name, "mid-line") == 0) rp_buf_adds(&want, "Note: ");
  rp_buf_add(&want, s, slen);
  if (strcmp(c->name, "mid-line") == 0) rp_buf_adds(&want, " (end)");
  char what[64];
  snprintf(what, sizeof what, "HTML, %s", c->name);
  expect_same(what, md.data, want.data, want.len, vis, vlen);

  // The brief's looser form, over the whole page: tags stripped, entities
  // decoded, the string is there.
  size_t plen;
  char *page = visible_text(html, strlen(html), &plen);
  assert_non_null(find_bytes(page, plen, s, slen));

  char *text = to_text(md.data, md.len);
  rp_buf_clear(&want);
  rp_buf_adds(&want, c->text_before);
  rp_buf_add(&want, s, slen);
  rp_buf_adds(&want, c->text_after);
  snprintf(what, sizeof what, "text, %s", c->name);
  expect_same(what, md.data, want.data, want.len, text, strlen(text));

  free(text);
  free(page);
  free(vis);
  free(in);
  free(html);
  rp_buf_free(&want);
  rp_buf_free(&md);
}

static void check_value(const char *s, size_t len) {
  for (size_t c = 0; c < NCONTEXTS; c++)
    check_in_context(&contexts[c], s, len, &s, 1);
}

// ---------------------------------------------------------------------------
// The escaper
// ---------------------------------------------------------------------------

static void expect_escape(const char *in, const char *want) {
  char *got = escaped(in, strlen(in));
  if (strcmp(got, want) != 0) {
    show("input", in, strlen(in));
    show("want", want, strlen(want));
    show("got ", got, strlen(got));
    fail();
  }
  free(got);
}

// As expect_escape, for a value placed after `before` in the Markdown.
static void expect_escape_after(const char *before, const char *in, const char *want) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, before);
  rp_output_escape_markdown(&b, in, strlen(in));
  const char *got = b.data + strlen(before);
  if (strcmp(got, want) != 0) {
    show("before", before, strlen(before));
    show("input", in, strlen(in));
    show("want", want, strlen(want));
    show("got ", got, strlen(got));
    fail();
  }
  rp_buf_free(&b);
}

static void test_escape_keeps_prose_readable(void **state) {
  (void)state;
  expect_escape("Client reports sleeping better; conflict with partner at the weekend.",
                "Client reports sleeping better; conflict with partner at the weekend.");
  expect_escape("said she felt understood", "said she felt understood");
  expect_escape("2026-11-24", "2026-11-24");
  expect_escape("J.D.", "J.D.");
  expect_escape("C-1042", "C-1042");
  expect_escape("7.5", "7.5");
  expect_escape("Mood & sleep: better (mostly)! \"Yes,\" she said; 100% / $0?",
                "Mood & sleep: better (mostly)! \"Yes,\" she said; 100% / $0?");
  expect_escape("", "");
  expect_escape("ends with \\", "ends with &#92;");
  expect_escape("a\\ ", "a\\\\&#32;");
}

static void test_escape_rules(void **state) {
  (void)state;
  expect_escape("*a* _b_ `c` ~d~ [e] <f> |g| \\i",
                "\\*a\\* \\_b\\_ \\`c\\` \\~d\\~ \\[e\\] \\<f> \\|g\\| \\\\i");
  // `#` at the start of a value or line, where it opens a heading.
  expect_escape("# h", "\\# h");
  expect_escape("#3", "\\#3");
  expect_escape("review thought log #3 next time", "review thought log #3 next time");
  expect_escape("a # b #", "a # b #");
  // In a heading, everywhere: "# Plan #" would lose its closing run.
  expect_escape_after("## Plan: ", "a # b #", "a \\# b \\#");
  expect_escape_after("| x | ", "a # b", "a # b");
  // Headings inside block quotes and list items are headings too.
  expect_escape_after("> ## Plan: ", "worksheet #", "worksheet \\#");
  expect_escape_after("- ### ", "C# and F# done ##", "C\\# and F\\# done \\#\\#");
  expect_escape_after("> 1. > - # x ", "a #", "a \\#");
  expect_escape_after("12) ## ", "b #", "b \\#");
  expect_escape_after("- a ", "log #3", "log #3");
  expect_escape_after("-# ", "log #3", "log #3");
  expect_escape_after("> | x | ", "a\nb", "a&#10;b");
  // At the start only.
  expect_escape("> q", "\\> q");
  expect_escape("- a - b", "\\- a - b");
  expect_escape("+ a + b", "\\+ a + b");
  expect_escape("=== a = b", "\\=== a = b");
  expect_escape(":-- a: b", "\\:-- a: b");
  // Ordered-list markers.
  expect_escape("1986. A great year", "1986\\. A great year");
  expect_escape("2) b", "2\\) b");
  expect_escape("1.", "1\\.");
  expect_escape(".", "\\.");
  expect_escape(". x", "\\. x");
  expect_escape("12.5", "12.5");
  expect_escape("a1. x", "a1. x");
  expect_escape("(1) x", "(1) x");
  // Entities.
  expect_escape("a & b", "a & b");
  expect_escape("&amp; &#1; &", "\\&amp; \\&#1; \\&");
  // Line breaks: a hard break in a paragraph, each line escaped as a value
  // of its own; at the ends of the value, entities (a hard break there
  // would show as a backslash).
  expect_escape("a\nb", "a\\\nb");
  expect_escape("a\r\nb", "a&#13;\\\nb");
  expect_escape("a\n\nb", "a\\\n\\\nb");
  expect_escape("\na\n", "&#10;a&#10;");
  expect_escape("a \n  - b\n1. c\n# d", "a&#32;\\\n&#32;&#32;- b\\\n1\\. c\\\n\\# d");
  // Where a line break cannot stand (the line is a table row or a
  // heading), an entity.
  expect_escape_after("| x | ", "a\nb", "a&#10;b");
  expect_escape_after("|", "a\r\nb", "a&#13;&#10;b");
  expect_escape_after("## Plan: ", "a\n- b", "a&#10;- b");
  expect_escape_after("Text\n  | cell | ", "a\nb", "a&#10;b");
  expect_escape_after("| x |\n- item ", "a\nb", "a\\\nb");
  // Edge white space.
  expect_escape("  a  b\t", "&#32;&#32;a  b&#9;");
  expect_escape(" \t ", "&#32;&#9;&#32;");
  expect_escape("\xC2\xA0x\xC2\xA0y\xE3\x80\x80", "&#160;x\xC2\xA0y&#12288;");
  expect_escape("\x01\x0B\x0C", "&#1;&#11;&#12;");
  expect_escape("\xEF\xBB\xBFx", "&#65279;x");
  // Not at the start: a value need not open a line.
  expect_escape("a - b", "a - b");
  // `_` inside a word cannot be emphasis.
  expect_escape("snake_case and client_id_2", "snake_case and client_id_2");
  expect_escape("_x a_ b _c", "\\_x a\\_ b \\_c");
  expect_escape("a__b", "a\\_\\_b");
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

static void test_corpus_is_large(void **state) {
  (void)state;
  assert_true(NCORPUS >= 40);
}

static void test_corpus_round_trip(void **state) {
  (void)state;
  for (size_t i = 0; i < NCORPUS; i++)
    check_value(corpus[i], strlen(corpus[i]));
}

// Two values side by side must not combine into markup either ("1986" and
// ". x", "-" and "--", "&" and "amp;").
static void test_pairs_round_trip(void **state) {
  (void)state;
  const context *c = &contexts[0];  // a paragraph: the value opens the line
  for (size_t i = 0; i < NCORPUS; i++) {
    for (size_t j = 0; j < NCORPUS; j++) {
      rp_buf both = RP_BUF_INIT;
      rp_buf_adds(&both, corpus[i]);
      rp_buf_adds(&both, corpus[j]);
      const char *vals[] = {corpus[i], corpus[j]};
      check_in_context(c, both.data, both.len, vals, 2);
      rp_buf_free(&both);
    }
  }
}

static void test_split_pairs_round_trip(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"1986", ". x"}, {"19", "86. x"}, {"1", ") x"}, {"-", "--"},    {"-", " x"}, {"=", "=="},
      {"&", "amp;"},   {"&", "#10;"},   {"*", "a*"},  {"[a]", "(b)"}, {"<", "b>"}, {"\\", "*"},
      {"~", "~x~~"},   {"`", "`"},      {" ", "- x"}, {"1", "."},     {"", "# h"}, {"|", "|"},
  };
  for (size_t c = 0; c < NCONTEXTS; c++) {
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
      rp_buf both = RP_BUF_INIT;
      rp_buf_adds(&both, pairs[i][0]);
      rp_buf_adds(&both, pairs[i][1]);
      check_in_context(&contexts[c], both.data, both.len, pairs[i], 2);
      rp_buf_free(&both);
    }
  }
}

// Random strings from Markdown's special characters and a few longer
// pieces, with a fixed seed so that a failure repeats.
static void test_random_round_trip(void **state) {
  (void)state;
  static const char *const pieces[] = {
      " ",   "  ", "    ", "\t", "\n", "\r\n", "\r",   "-",       "*",        "_",
      "1",   "9",  ".",    ")",  "(",  "#",    "<",    ">",       "&",        "amp;",
      "#1;", "a",  "|",    "`",  "[",  "]",    "!",    ":",       "=",        "+",
      "~",   "\\", ";",    "x",  "w",  "@",    "www.", "http://", "\xC3\xA9", "\xF0\x9F\x98\x80",
      "/",   "\"", "'",    "?",  "{",  "}",    "$",    "^",       "%",
  };
  const size_t npieces = sizeof pieces / sizeof *pieces;
  uint64_t seed = 0x2545F4914F6CDD1Du;
  for (int iter = 0; iter < 1500; iter++) {
    rp_buf s = RP_BUF_INIT;
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    int n = 1 + (int)(seed % 14);
    for (int k = 0; k < n; k++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      rp_buf_adds(&s, pieces[seed % npieces]);
    }
    check_value(s.data, s.len);
    rp_buf_free(&s);
  }
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

static const char sample_md[] =
    "# Session note\n"
    "\n"
    "Paragraph with **bold**, *em*, ~~gone~~, `code` and a [link](https://example.org).\n"
    "\n"
    "- [ ] open task\n"
    "- [x] done task\n"
    "\n"
    "1. first\n"
    "2. second\n"
    "   - nested\n"
    "\n"
    "| Element | Rating |\n"
    "| --- | :-: |\n"
    "| trust | 4 |\n"
    "\n"
    "> quoted\n"
    "\n"
    "---\n"
    "\n"
    "    code block\n";

static void test_html_document(void **state) {
  (void)state;
  rp_buf b = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_output_html(sample_md, sizeof sample_md - 1, "J.D. <#7> & \"co\"", &b, &d),
                   RP_OK);
  const char *h = b.data;
  assert_true(strncmp(h, "<!doctype html>\n", 16) == 0);
  assert_non_null(strstr(h, "<meta charset=\"utf-8\">"));
  assert_non_null(strstr(h, "<title>J.D. &lt;#7&gt; &amp; &quot;co&quot;</title>"));
  assert_non_null(strstr(h, "@page"));
  assert_non_null(strstr(h, "<h1>Session note</h1>"));
  assert_non_null(strstr(h, "<strong>bold</strong>"));
  assert_non_null(strstr(h, "<del>gone</del>"));
  assert_non_null(strstr(h, "<input type=\"checkbox\" disabled=\"\" /> "));
  assert_non_null(strstr(h, "<input type=\"checkbox\" checked=\"\" disabled=\"\" /> "));
  assert_non_null(strstr(h, "<table>"));
  assert_non_null(strstr(h, "<th align=\"center\">Rating</th>"));
  assert_non_null(strstr(h, "<blockquote>"));
  assert_non_null(strstr(h, "<hr />"));
  assert_non_null(strstr(h, "<pre><code>code block\n</code></pre>"));
  assert_non_null(strstr(h, "<a href=\"https://example.org\">link</a>"));
  assert_true(b.len > 16 && strcmp(h + b.len - 16, "</body>\n</html>\n") == 0);
  // Self-contained: nothing is loaded, nothing runs.
  assert_null(strstr(h, "<script"));
  assert_null(strstr(h, "<link"));
  assert_null(strstr(h, "src="));
  assert_null(strstr(h, "url("));
  assert_null(strstr(h, "@import"));
  assert_non_null(strstr(h, "default-src 'none'"));
  rp_buf_free(&b);
  rp_diags_free(&d);
}

static void test_html_untitled_and_empty(void **state) {
  (void)state;
  rp_buf b = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_output_html("", 0, NULL, &b, &d), RP_OK);
  assert_non_null(strstr(b.data, "<title>Note</title>"));
  assert_non_null(strstr(b.data, "<body>\n</body>"));
  rp_buf_free(&b);
  rp_diags_free(&d);
}

// Raw HTML is never passed through, not even from the template.
static void test_html_template_raw_html_is_text(void **state) {
  (void)state;
  static const char md[] =
      "<div onclick=\"x()\">block</div>\n\n"
      "Inline <b>bold</b> <img src=x onerror=alert(1)> <!-- c --> end\n\n"
      "<script>alert(1)</script>\n\n"
      "[js](javascript:alert(1)) [vb](vbscript:x) [f](file:///etc/passwd) "
      "![pic](https://tracker.example/p.png)\n\n"
      "www.example.com me@example.com http://example.com\n";
  char *h = to_html(md, sizeof md - 1);
  const char *body = strstr(h, "<body>");
  assert_null(strstr(body, "<div"));
  assert_null(strstr(body, "<b>"));
  assert_null(strstr(body, "<img"));
  assert_null(strstr(body, "<script"));
  assert_null(strstr(body, "<!--"));
  assert_non_null(strstr(body, "<pre><code>&lt;div onclick=&quot;x()&quot;&gt;block&lt;/div&gt;"));
  assert_non_null(strstr(body,
                         "Inline &lt;b&gt;bold&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt; "
                         "&lt;!-- c --&gt; end"));
  assert_non_null(strstr(body, "<a href=\"\">js</a>"));
  assert_non_null(strstr(body, "<a href=\"\">vb</a>"));
  assert_non_null(strstr(body, "<a href=\"\">f</a>"));
  // An image becomes a link: the note fetches nothing.
  assert_non_null(strstr(body, "<a href=\"https://tracker.example/p.png\">pic</a>"));
  // No extended autolinks.
  assert_non_null(strstr(body, "<p>www.example.com me@example.com http://example.com</p>"));
  free(h);

  char *t = to_text(md, sizeof md - 1);
  assert_non_null(strstr(t, "<div onclick=\"x()\">block</div>\n\n"));
  assert_non_null(strstr(t, "Inline <b>bold</b> <img src=x onerror=alert(1)> <!-- c --> end"));
  free(t);
}

// A value's newlines and white space are in the HTML's text, where the
// stylesheet keeps them; soft breaks of the template are spaces; hard breaks
// are newlines, not <br> (which would show twice under pre-wrap).
static void test_html_white_space(void **state) {
  (void)state;
  static const char md[] = "a\nb  \nc\\\nd\n";
  char *h = to_html(md, sizeof md - 1);
  assert_non_null(strstr(h, "<p>a b\nc\nd</p>"));
  assert_null(strstr(h, "<br"));
  assert_non_null(strstr(h, "white-space:pre-wrap"));
  free(h);
  // Lists are loose so that every item's text is in a <p>.
  h = to_html("- a\n- b\n", 8);
  assert_non_null(strstr(h, "<ul>\n<li>\n<p>a</p>\n</li>\n<li>\n<p>b</p>\n</li>\n</ul>"));
  free(h);
}

// ---------------------------------------------------------------------------
// Plain text
// ---------------------------------------------------------------------------

static void expect_text(const char *md, const char *want) {
  char *got = to_text(md, strlen(md));
  if (strcmp(got, want) != 0) {
    show("markdown", md, strlen(md));
    show("want", want, strlen(want));
    show("got ", got, strlen(got));
    fail();
  }
  free(got);
}

static void test_text_blocks(void **state) {
  (void)state;
  expect_text(sample_md,
              "Session note\n"
              "\n"
              "Paragraph with bold, em, gone, code and a link (https://example.org).\n"
              "\n"
              "- [ ] open task\n"
              "- [x] done task\n"
              "\n"
              "1. first\n"
              "2. second\n"
              "   - nested\n"
              "\n"
              "Element | Rating\n"
              "trust | 4\n"
              "\n"
              "> quoted\n"
              "\n"
              "---\n"
              "\n"
              "code block\n");
  expect_text("", "");
  expect_text("Setext\n===\n\ntext\n", "Setext\n\ntext\n");
  expect_text("a\nb  \nc\n", "a b\nc\n");
  expect_text("7) seven\n8) eight\n", "7) seven\n8) eight\n");
  expect_text("- a\n\n  second para\n- b\n", "- a\n\n  second para\n\n- b\n");
  expect_text("- \n- b\n", "-\n- b\n");
  expect_text("> q1\n>\n> q2\n\nafter\n", "> q1\n\n> q2\n\nafter\n");
  expect_text("- outer\n  > inner quote\n", "- outer\n  > inner quote\n");
  expect_text("<https://x.org> [same](same) <a@b.org>\n", "https://x.org same a@b.org\n");
  expect_text("![alt text](pic.png)\n", "alt text\n");
  expect_text("```\nfenced\ncode\n```\n", "fenced\ncode\n");
  expect_text("| a |\n|---|\n| b |\n| c |\n", "a\nb\nc\n");
  expect_text("- item\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |\n", "- item\n\n  a | b\n  1 | 2\n");
  expect_text("x ~single~ ~~double~~\n", "x ~single~ double\n");
}

// ---------------------------------------------------------------------------
// Pathological input
// ---------------------------------------------------------------------------

static void test_deep_and_large(void **state) {
  (void)state;
  rp_buf md = RP_BUF_INIT;
  for (int i = 0; i < 5000; i++)
    rp_buf_adds(&md, "> ");
  rp_buf_adds(&md, "deep\n\n");
  for (int i = 0; i < 500; i++) {
    for (int k = 0; k < i * 2; k++)
      rp_buf_addc(&md, ' ');
    rp_buf_adds(&md, "- x\n");
  }
  char *t = to_text(md.data, md.len);
  assert_non_null(strstr(t, "deep"));
  // Indentation stops growing: no line is longer than 16 containers' worth.
  for (const char *line = t; *line;) {
    const char *nl = strchr(line, '\n');
    assert_non_null(nl);
    assert_true(nl - line < 200);
    line = nl + 1;
  }
  free(t);
  char *h = to_html(md.data, md.len);
  free(h);

  // A megabyte of hostile text in one table cell.
  rp_buf value = RP_BUF_INIT;
  while (value.len < (1u << 20))
    rp_buf_adds(&value, "| \\ * _ [ ] < > & # ` ~ 1. - \n");
  rp_buf_clear(&md);
  rp_buf_adds(&md, "| h |\n| - |\n| ");
  rp_output_escape_markdown(&md, value.data, value.len);
  rp_buf_adds(&md, " |\n");
  t = to_text(md.data, md.len);
  assert_int_equal(strlen(t), 2 + value.len + 1);
  assert_memory_equal(t + 2, value.data, value.len);
  free(t);
  rp_buf_free(&value);
  rp_buf_free(&md);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape_keeps_prose_readable),
      cmocka_unit_test(test_escape_rules),
      cmocka_unit_test(test_corpus_is_large),
      cmocka_unit_test(test_corpus_round_trip),
      cmocka_unit_test(test_pairs_round_trip),
      cmocka_unit_test(test_split_pairs_round_trip),
      cmocka_unit_test(test_random_round_trip),
      cmocka_unit_test(test_html_document),
      cmocka_unit_test(test_html_untitled_and_empty),
      cmocka_unit_test(test_html_template_raw_html_is_text),
      cmocka_unit_test(test_html_white_space),
      cmocka_unit_test(test_text_blocks),
      cmocka_unit_test(test_deep_and_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
