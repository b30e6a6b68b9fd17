// Unit tests of util/dynlib.c: libraries opened on first use, and the
// errors a user sees when one cannot be.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

#include "helpers.h"
#include "util/dynlib.h"

// libm by its Linux SONAME: every glibc system has it.
#define LIBM "libm.so.6"

#define MATH_FUNCTIONS(X) X(cos) X(sqrt)
typedef struct math_fns {
  MATH_FUNCTIONS(RP_DYNLIB_POINTER)
} math_fns;
static const char *const math_names[] = {MATH_FUNCTIONS(RP_DYNLIB_NAME)};

static char *only_message(const rp_diags *d) {
  assert_int_equal(d->n, 1);
  return rp_diag_format(&d->items[0]);
}

static void test_opens_and_fills_the_table(void **state) {
  (void)state;
  math_fns fns = {0};
  rp_dynlib lib = RP_DYNLIB_INIT(LIBM, "the math library", math_names, &fns);
  assert_int_equal(lib.n, 2);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_dynlib_open(&lib, &d), RP_OK);
  assert_int_equal(d.n, 0);
  assert_non_null(fns.cos);
  volatile double x = 0.0, nine = 9.0;
  assert_true(fns.cos(x) == 1.0);
  assert_true(fns.sqrt(nine) == 3.0);
  // Once open, it stays open: a second call changes nothing.
  double (*before)(double) = fns.sqrt;
  assert_int_equal(rp_dynlib_open(&lib, &d), RP_OK);
  assert_ptr_equal(fns.sqrt, before);
  rp_dynlib_need(&lib);
  assert_int_equal(d.n, 0);
}

static void test_a_missing_library_is_an_error(void **state) {
  (void)state;
  math_fns fns = {0};
  rp_dynlib lib = RP_DYNLIB_INIT("libnosuch-rapport.so.9", "the record store", math_names, &fns);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_dynlib_open(&lib, &d), RP_EIO);
  char *msg = only_message(&d);
  const char *want = "rapport: error: cannot load the record store (libnosuch-rapport.so.9): ";
  assert_true(strncmp(msg, want, strlen(want)) == 0);
  free(msg);
  assert_null(fns.cos);
  // The failure is kept: asking again gives the same error, not a crash.
  rp_diags_clear(&d);
  assert_int_equal(rp_dynlib_open(&lib, &d), RP_EIO);
  assert_int_equal(d.errors, 1);
  rp_diags_free(&d);
  // A caller with no way to report gets nothing: NULL diags is allowed.
  assert_int_equal(rp_dynlib_open(&lib, NULL), RP_EIO);
}

static void test_a_missing_function_is_an_error(void **state) {
  (void)state;
  static const char *const names[] = {"cos", "rapport_no_such_function"};
  void *fns[2] = {NULL, NULL};
  rp_dynlib lib = RP_DYNLIB_INIT(LIBM, "the math library", names, fns);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_dynlib_open(&lib, &d), RP_EIO);
  char *msg = only_message(&d);
  assert_string_equal(msg, "rapport: error: the math library (" LIBM
                           ") has no function rapport_no_such_function: a version too old?");
  free(msg);
  // No half-filled table: what was found before the missing one is cleared.
  assert_null(fns[0]);
  assert_null(fns[1]);
  rp_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_opens_and_fills_the_table),
      cmocka_unit_test(test_a_missing_library_is_an_error),
      cmocka_unit_test(test_a_missing_function_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
