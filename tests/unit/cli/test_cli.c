// Unit tests of the command line's dispatch (core/cli/cli.c): exit statuses
// for usage errors, help and the version, as rp_cli_main returns them.
// (tests/e2e/ drives every command through the real binary.)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"

// Runs rp_cli_main on the words of `line` (space-separated) with standard
// output and error sent to /dev/null, and returns its status.
static int run(const char *line) {
  char buf[256];
  snprintf(buf, sizeof buf, "rapport %s", line);
  char *argv[32];
  int argc = 0;
  for (char *tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
    argv[argc++] = tok;
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  int out = dup(STDOUT_FILENO), err = dup(STDERR_FILENO);
  FILE *null = fopen("/dev/null", "w");
  dup2(fileno(null), STDOUT_FILENO);
  dup2(fileno(null), STDERR_FILENO);
  int status = rp_cli_main(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(out, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  close(out);
  close(err);
  fclose(null);
  return status;
}

static void test_help_and_version(void **state) {
  (void)state;
  assert_int_equal(run("--version"), RP_EXIT_OK);
  assert_int_equal(run("--help"), RP_EXIT_OK);
  assert_int_equal(run("help"), RP_EXIT_OK);
  const char *commands[] = {"mustache", "render", "new", "check", "list", "watch", "test"};
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    char line[64];
    snprintf(line, sizeof line, "help %s", commands[i]);
    assert_int_equal(run(line), RP_EXIT_OK);
    snprintf(line, sizeof line, "%s --help", commands[i]);
    assert_int_equal(run(line), RP_EXIT_OK);
  }
}

static void test_usage_errors(void **state) {
  (void)state;
  assert_int_equal(run(""), RP_EXIT_USAGE);
  assert_int_equal(run("nosuch"), RP_EXIT_USAGE);
  assert_int_equal(run("help nosuch"), RP_EXIT_USAGE);
  assert_int_equal(run("--bogus render"), RP_EXIT_USAGE);
  assert_int_equal(run("--plugins"), RP_EXIT_USAGE);
  assert_int_equal(run("--color sometimes list"), RP_EXIT_USAGE);
  assert_int_equal(run("-C /nonexistent/folder list"), RP_EXIT_USAGE);
  assert_int_equal(run("render"), RP_EXIT_USAGE);
  assert_int_equal(run("render --format pdf x.yaml"), RP_EXIT_USAGE);
  assert_int_equal(run("render -o a.md --out-dir b x.yaml"), RP_EXIT_USAGE);
  assert_int_equal(run("render -o a.md x.yaml y.yaml"), RP_EXIT_USAGE);
  assert_int_equal(run("render - -"), RP_EXIT_USAGE);
  assert_int_equal(run("watch --debounce 0"), RP_EXIT_USAGE);
  assert_int_equal(run("watch --serve 70000"), RP_EXIT_USAGE);
  assert_int_equal(run("watch -"), RP_EXIT_USAGE);
  assert_int_equal(run("new"), RP_EXIT_USAGE);
  assert_int_equal(run("check notes.txt"), RP_EXIT_USAGE);
  assert_int_equal(run("test --match"), RP_EXIT_USAGE);
}

static void test_problems_are_status_one(void **state) {
  (void)state;
  char dir[] = "/tmp/rp-cli-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *cwd = getcwd(NULL, 0);
  assert_int_equal(chdir(dir), 0);
  FILE *f = fopen("s.yaml", "w");
  fputs("type: nosuch\n", f);
  fclose(f);
  assert_int_equal(run("render s.yaml"), RP_EXIT_PROBLEM);
  assert_int_equal(run("check s.yaml"), RP_EXIT_PROBLEM);
  assert_int_equal(run("render missing.yaml"), RP_EXIT_PROBLEM);
  // A --match that selects no test is a problem, not a pass.
  assert_int_equal(run("test --match no-such-test"), RP_EXIT_PROBLEM);
  assert_int_equal(run("list"), RP_EXIT_OK);
  unlink("s.yaml");
  assert_int_equal(chdir(cwd), 0);
  rmdir(dir);
  free(cwd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_problems_are_status_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
