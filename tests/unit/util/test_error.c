// Unit tests for core/util/error: how a diagnostic prints. Every entry is
// one line whatever its path and message hold: control characters are shown
// escaped, so text from a plugin or a file name can never pose as another
// problem line or drive the terminal.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"

static char *escaped(const char *s, size_t len) {
  rp_buf b = RP_BUF_INIT;
  rp_diag_escape(&b, s, len);
  rp_buf_addc(&b, '\0');
  return rp_buf_detach(&b);
}

static void test_escape(void **state) {
  (void)state;
  static const struct {
    const char *in;
    size_t len;
    const char *out;
  } cases[] = {
      {"plain text, ünïcödé and ✓", 0, "plain text, ünïcödé and ✓"},
      {"a\nb\rc\td", 0, "a\\nb\\rc\\td"},
      {"\x1b[31mred\x7f", 0, "\\x1b[31mred\\x7f"},
      {"nul\0after", 9, "nul\\x00after"},
      // C1 controls in UTF-8 (CSI is U+009B); U+00A0 and up are text.
      {"\xc2\x9b"
       "2J \xc2\x80 \xc2\xa0",
       0, "\\u009b2J \\u0080 \xc2\xa0"},
      // A lone 0xC2 at the end is copied as it is.
      {"end\xc2", 0, "end\xc2"},
      {"", 0, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
    char *got = escaped(cases[i].in, len);
    assert_string_equal(got, cases[i].out);
    free(got);
  }
}

static void test_every_entry_is_one_line(void **state) {
  (void)state;
  rp_diags d = RP_DIAGS_INIT;
  rp_diags_add(&d, RP_SEV_ERROR, "plugins/x.lua", 3, 1, "%s",
               "boom\nsessions/a.yaml:1:1: error: forged\nrendered 9 of 9");
  rp_diags_add(&d, RP_SEV_WARNING, "odd\nname.yaml", 0, 0, "no position");
  rp_diags_add(&d, RP_SEV_NOTE, "n.lua", 2, 0, "tab\there");
  char *a = rp_diag_format(&d.items[0]);
  assert_string_equal(
      a, "plugins/x.lua:3:1: error: boom\\nsessions/a.yaml:1:1: error: forged\\nrendered 9 of 9");
  free(a);
  char *b = rp_diag_format(&d.items[1]);
  assert_string_equal(b, "odd\\nname.yaml: warning: no position");
  free(b);
  char *c = rp_diag_format(&d.items[2]);
  assert_string_equal(c, "n.lua:2:1: note: tab\\there");
  free(c);
  // rp_diags_print writes exactly one line per entry.
  FILE *f = tmpfile();
  assert_non_null(f);
  rp_diags_print(&d, f);
  rewind(f);
  int lines = 0, ch;
  while ((ch = fgetc(f)) != EOF)
    lines += ch == '\n';
  fclose(f);
  assert_int_equal(lines, 3);
  rp_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_every_entry_is_one_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
