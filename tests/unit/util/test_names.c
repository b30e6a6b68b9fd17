// Tests of plain names and the nearest known name (core/util/names.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/names.h"

static size_t dist(const char *a, const char *b) {
  return rp_name_distance(a, strlen(a), b, strlen(b));
}

static const char *nearest(const char *s, const char *const *names, size_t n) {
  return rp_name_nearest(s, strlen(s), names, n);
}

static void test_plain_names(void **state) {
  (void)state;
  static const char *const plain[] = {"assessment", "session.date", "wai_sr", "X-1", "2026"};
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
    assert_true(rp_name_is_plain(plain[i], strlen(plain[i])));
  // Text read as a key: spaces, punctuation, letters beyond ASCII, too long.
  static const char *const text[] = {
      "Client disclosed abuse", "said, then", "été", "a:b", "x\ny", ""};
  for (size_t i = 0; i < sizeof text / sizeof *text; i++)
    assert_false(rp_name_is_plain(text[i], strlen(text[i])));
  char long_name[66];
  memset(long_name, 'a', 65);
  long_name[65] = '\0';
  assert_true(rp_name_is_plain(long_name, 64));
  assert_false(rp_name_is_plain(long_name, 65));
  assert_false(rp_name_is_plain("a\0b", 3));
}

static void test_distance(void **state) {
  (void)state;
  assert_int_equal(dist("level", "level"), 0);
  assert_int_equal(dist("Level", "level"), 0);  // case is not an edit
  assert_int_equal(dist("levle", "level"), 1);  // a swap of neighbours
  assert_int_equal(dist("asessment", "assessment"), 1);
  assert_int_equal(dist("sr", "srs"), 1);
  assert_int_equal(dist("kitten", "sitting"), 3);
  assert_int_equal(dist("", "abc"), 3);
  assert_int_equal(dist("abc", ""), 3);
  assert_int_equal(dist("ca", "abc"), 3);  // no substring edited twice
  char long_name[70];
  memset(long_name, 'a', 69);
  long_name[69] = '\0';
  assert_int_equal(dist(long_name, "a"), SIZE_MAX);
}

static void test_nearest(void **state) {
  (void)state;
  static const char *const fields[] = {"subjective", "objective", "assessment",
                                       "plan",       NULL,        "risk"};
  size_t n = sizeof fields / sizeof *fields;
  assert_string_equal(nearest("asessment", fields, n), "assessment");
  assert_string_equal(nearest("Plan", fields, n), "plan");
  assert_string_equal(nearest("subjectiv", fields, n), "subjective");
  assert_string_equal(nearest("rsik", fields, n), "risk");
  // Exactly a name: nothing to suggest.
  assert_null(nearest("plan", fields, n));
  // Too far: a short name allows one edit, and a guess must keep more
  // letters than it changes.
  assert_null(nearest("pl", fields, n));
  assert_null(nearest("plot", fields, n));
  assert_null(nearest("homework", fields, n));
  assert_null(nearest("x", (const char *const[]){"y"}, 1));
  // Ties go to the first name.
  assert_string_equal(nearest("sr", (const char *const[]){"srs", "ors"}, 2), "srs");
  assert_null(nearest("abc", NULL, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_names),
      cmocka_unit_test(test_distance),
      cmocka_unit_test(test_nearest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
