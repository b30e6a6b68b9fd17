// Unit tests for core/workspace: the inputs of a run (known by device and
// inode, so another spelling, a hard link or a symbolic link to one is
// found), rp_output_inside (a link planted in the output folder never
// carries a note elsewhere), the one rule of what a session file is, and
// the names of outputs. Each test works in a fresh folder under $TMPDIR (or
// /tmp) and changes into it, as `-C DIR` does.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workspace/workspace.h"

typedef struct fixture {
  char dir[256];
  char old_cwd[PATH_MAX];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/rp-workspace-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(f->dir) || !getcwd(f->old_cwd, sizeof f->old_cwd) || chdir(f->dir) != 0) {
    free(f);
    return -1;
  }
  unsetenv("RAPPORT_RECORD");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (chdir(f->old_cwd) != 0) return -1;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  unsetenv("RAPPORT_RECORD");
  return rc == 0 ? 0 : -1;
}

static void put(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
}

// --- rp_inputs ---------------------------------------------------------------------------

static void test_inputs_found_by_identity(void **state) {
  fixture *f = *state;
  assert_int_equal(mkdir("sessions", 0700), 0);
  assert_int_equal(mkdir("sub", 0700), 0);
  put("sessions/jd.yaml", "type: soap\n");
  put("sessions/other.yaml", "type: soap\n");  // same bytes, another file
  assert_int_equal(link("sessions/jd.yaml", "hard.yaml"), 0);
  assert_int_equal(symlink("sessions/jd.yaml", "soft.yaml"), 0);
  assert_int_equal(symlink("soft.yaml", "soft2.yaml"), 0);  // a link to a link
  assert_int_equal(symlink("sessions", "dirlink"), 0);
  rp_inputs *in = rp_inputs_new();
  rp_inputs_add(in, "sessions/jd.yaml", "a session file of this run");
  char abs[512];
  snprintf(abs, sizeof abs, "%s/sessions/jd.yaml", f->dir);
  const char *spellings[] = {"sessions/jd.yaml",   "./sessions/jd.yaml",
                             "sessions//jd.yaml",  "sub/../sessions/jd.yaml",
                             "sessions/./jd.yaml", abs,
                             "hard.yaml",          "soft.yaml",
                             "soft2.yaml",         "dirlink/jd.yaml"};
  for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
    const char *what = rp_inputs_find(in, spellings[i]);
    if (!what) fail_msg("'%s' is the session and was not found", spellings[i]);
    assert_string_equal(what, "a session file of this run");
  }
  assert_null(rp_inputs_find(in, "sessions/other.yaml"));
  assert_null(rp_inputs_find(in, "missing.yaml"));
  assert_null(rp_inputs_find(in, "sessions"));
  rp_inputs_free(in);
}

static void test_inputs_missing_file_is_not_added(void **state) {
  (void)state;
  rp_inputs *in = rp_inputs_new();
  rp_inputs_add(in, "later.yaml", "a session file of this run");
  assert_null(rp_inputs_find(in, "later.yaml"));
  // Made after it was added: it was not an input then, and is not now.
  put("later.yaml", "type: soap\n");
  assert_null(rp_inputs_find(in, "later.yaml"));
  // A folder is never an input.
  assert_int_equal(mkdir("folder", 0700), 0);
  rp_inputs_add(in, "folder", "a session file of this run");
  assert_null(rp_inputs_find(in, "folder"));
  rp_inputs_free(in);
}

static void test_inputs_each_keeps_what_it_is(void **state) {
  (void)state;
  put("a.yaml", "a\n");
  put("b.yaml", "b\n");
  put("stdin.yaml", "c\n");
  rp_inputs *in = rp_inputs_new();
  rp_inputs_add(in, "a.yaml", "a session file of this run");
  rp_inputs_add(in, "b.yaml", "a template");
  int fd = open("stdin.yaml", O_RDONLY);
  assert_true(fd >= 0);
  rp_inputs_add_fd(in, fd, "the session read from standard input");
  close(fd);
  assert_string_equal(rp_inputs_find(in, "a.yaml"), "a session file of this run");
  assert_string_equal(rp_inputs_find(in, "b.yaml"), "a template");
  assert_string_equal(rp_inputs_find(in, "stdin.yaml"), "the session read from standard input");
  // A pipe is not a file: nothing is added.
  int p[2];
  assert_int_equal(pipe(p), 0);
  rp_inputs_add_fd(in, p[0], "the session read from standard input");
  close(p[0]);
  close(p[1]);
  assert_null(rp_inputs_find(in, "nothing-here.md"));
  rp_inputs_free(in);
}

static void test_inputs_of_the_workspace(void **state) {
  (void)state;
  assert_int_equal(mkdir("plugins", 0700), 0);
  assert_int_equal(mkdir("plugins/codes", 0700), 0);
  assert_int_equal(mkdir("templates", 0700), 0);
  assert_int_equal(mkdir("extra", 0700), 0);
  assert_int_equal(mkdir("more-templates", 0700), 0);
  put("plugins/clinic.lua", "-- a plugin\n");
  put("plugins/codes/init.lua", "-- a folder plugin\n");
  put("plugins/codes/README.md", "a file of a plugin\n");
  put("extra/x.lua", "-- from --plugins\n");
  put("templates/dap.md.mustache", "{{data}}\n");
  put("more-templates/t.md.mustache", "{{x}}\n");
  put("record.db", "SQLite\n");
  put("record.checkpoint", "1\n");
  put("elsewhere.db", "SQLite\n");
  const char *pdirs[] = {"extra"};
  const char *tdirs[] = {"more-templates"};
  rp_workspace ws = {
      .plugin_dirs = pdirs, .nplugin_dirs = 1, .template_dirs = tdirs, .ntemplate_dirs = 1};
  rp_inputs *in = rp_inputs_new();
  rp_inputs_add_workspace(in, &ws);
  assert_string_equal(rp_inputs_find(in, "plugins/clinic.lua"), "a plugin's file");
  assert_string_equal(rp_inputs_find(in, "plugins/codes/init.lua"), "a plugin's file");
  assert_string_equal(rp_inputs_find(in, "plugins/codes/README.md"), "a plugin's file");
  assert_string_equal(rp_inputs_find(in, "extra/x.lua"), "a plugin's file");
  assert_string_equal(rp_inputs_find(in, "templates/dap.md.mustache"), "a template");
  assert_string_equal(rp_inputs_find(in, "more-templates/t.md.mustache"), "a template");
  assert_string_equal(rp_inputs_find(in, "record.db"), "the record");
  assert_string_equal(rp_inputs_find(in, "record.checkpoint"), "the record's checkpoint");
  assert_null(rp_inputs_find(in, "elsewhere.db"));
  rp_inputs_free(in);
  // RAPPORT_RECORD names the record.
  setenv("RAPPORT_RECORD", "elsewhere.db", 1);
  in = rp_inputs_new();
  rp_inputs_add_workspace(in, &ws);
  assert_string_equal(rp_inputs_find(in, "elsewhere.db"), "the record");
  rp_inputs_free(in);
}

static void test_inputs_sessions_of_the_workspace(void **state) {
  (void)state;
  assert_int_equal(mkdir("sessions", 0700), 0);
  assert_int_equal(mkdir("sessions/sub", 0700), 0);
  assert_int_equal(mkdir("sessions/out", 0700), 0);
  put("sessions/jd.yaml", "a\n");
  put("sessions/sub/mk.json", "b\n");
  put("sessions/.hidden.yaml", "c\n");
  put("sessions/notes.md", "d\n");
  put("sessions/out/jd.json", "e\n");  // a JSON note of an earlier run
  const char *what = "a session file of the workspace";
  rp_inputs *in = rp_inputs_new();
  rp_inputs_add_sessions(in, "sessions", "sessions/out", what);
  assert_string_equal(rp_inputs_find(in, "sessions/jd.yaml"), what);
  assert_string_equal(rp_inputs_find(in, "sessions/sub/mk.json"), what);
  assert_null(rp_inputs_find(in, "sessions/.hidden.yaml"));
  assert_null(rp_inputs_find(in, "sessions/notes.md"));
  assert_null(rp_inputs_find(in, "sessions/out/jd.json"));
  rp_inputs_free(in);
  // Written with another spelling, the output folder is still skipped.
  in = rp_inputs_new();
  rp_inputs_add_sessions(in, "./sessions", "sessions/out/", what);
  assert_null(rp_inputs_find(in, "sessions/out/jd.json"));
  assert_string_equal(rp_inputs_find(in, "sessions/jd.yaml"), what);
  rp_inputs_free(in);
  // Notes written into the sessions folder itself: every session there
  // counts.
  in = rp_inputs_new();
  rp_inputs_add_sessions(in, "sessions", "./sessions", what);
  assert_string_equal(rp_inputs_find(in, "sessions/jd.yaml"), what);
  rp_inputs_free(in);
  // No sessions folder: nothing, and no crash.
  in = rp_inputs_new();
  rp_inputs_add_sessions(in, "missing", NULL, what);
  assert_null(rp_inputs_find(in, "sessions/jd.yaml"));
  rp_inputs_free(in);
}

// --- rp_output_inside --------------------------------------------------------------------

static void test_output_inside(void **state) {
  (void)state;
  assert_int_equal(mkdir("out", 0700), 0);
  assert_int_equal(mkdir("out/sub", 0700), 0);
  assert_int_equal(mkdir("out/sub/deeper", 0700), 0);
  assert_int_equal(mkdir("elsewhere", 0700), 0);
  assert_true(rp_output_inside("out", "out/a.md"));
  assert_true(rp_output_inside("out", "out/sub/a.md"));
  assert_true(rp_output_inside("out", "out/sub/deeper/a.md"));
  // Folders that do not exist yet (made on the way) are inside.
  assert_true(rp_output_inside("out", "out/new/newer/a.md"));
  // The file itself may be a link: it is replaced by a rename, not followed.
  assert_int_equal(symlink("../elsewhere/x.md", "out/linked.md"), 0);
  assert_true(rp_output_inside("out", "out/linked.md"));

  // Not under the folder at all.
  assert_false(rp_output_inside("out", "elsewhere/a.md"));
  assert_false(rp_output_inside("out", "outside/a.md"));
  assert_false(rp_output_inside("out", "out"));
  assert_false(rp_output_inside("out", "ou/a.md"));
  assert_false(rp_output_inside("out", "/out/a.md"));
  // "." and ".." and empty components.
  assert_false(rp_output_inside("out", "out/../a.md"));
  assert_false(rp_output_inside("out", "out/sub/../../a.md"));
  assert_false(rp_output_inside("out", "out/./a.md"));
  assert_false(rp_output_inside("out", "out/sub/./a.md"));
  assert_false(rp_output_inside("out", "out//a.md"));
  assert_false(rp_output_inside("out", "out/.."));
  assert_false(rp_output_inside("out", "out/."));
  assert_false(rp_output_inside("out", "out/"));
  assert_false(rp_output_inside("out", "out/sub/.."));
}

static void test_output_links_in_any_folder(void **state) {
  (void)state;
  assert_int_equal(mkdir("out", 0700), 0);
  assert_int_equal(mkdir("out/a", 0700), 0);
  assert_int_equal(mkdir("out/a/b", 0700), 0);
  assert_int_equal(mkdir("elsewhere", 0700), 0);
  // A link planted as the first, a middle and the last folder.
  assert_int_equal(symlink("../elsewhere", "out/first"), 0);
  assert_int_equal(symlink("../../elsewhere", "out/a/middle"), 0);
  assert_int_equal(mkdir("elsewhere/c", 0700), 0);
  assert_int_equal(symlink("../../../elsewhere/c", "out/a/b/last"), 0);
  assert_false(rp_output_inside("out", "out/first/x.md"));
  assert_false(rp_output_inside("out", "out/first/c/x.md"));
  assert_false(rp_output_inside("out", "out/a/middle/x.md"));
  assert_false(rp_output_inside("out", "out/a/middle/c/x.md"));
  assert_false(rp_output_inside("out", "out/a/b/last/x.md"));
  // Even a link that points back inside the folder is refused: only real
  // folders are trusted.
  assert_int_equal(symlink("a", "out/back"), 0);
  assert_false(rp_output_inside("out", "out/back/x.md"));
  // A dangling link too.
  assert_int_equal(symlink("nowhere", "out/dangling"), 0);
  assert_false(rp_output_inside("out", "out/dangling/x.md"));
  // The real folders beside them are fine.
  assert_true(rp_output_inside("out", "out/a/b/x.md"));

  // The output folder written with a trailing path: "sessions/out".
  assert_int_equal(mkdir("sessions", 0700), 0);
  assert_int_equal(mkdir("sessions/out", 0700), 0);
  assert_int_equal(symlink("../../elsewhere", "sessions/out/sub"), 0);
  assert_true(rp_output_inside("sessions/out", "sessions/out/x.json"));
  assert_false(rp_output_inside("sessions/out", "sessions/out/sub/x.json"));
}

// --- what a file is ----------------------------------------------------------------------

static void test_is_session(void **state) {
  (void)state;
  const char *yes[] = {"x.yaml",      "x.yml",     "x.json",       "X.YAML",
                       "x.Yml",       "x.JSON",    "jd-07.yaml",   "sessions/jd-07.yaml",
                       "a/b/c.json",  "x y.yaml",  "x~y.yaml",     "caf\xc3\xa9.yaml",
                       "x.json.yaml", "a.b.c.yml", "dir.d/x.yaml", ".dir/x.yaml"};
  const char *no[] = {
      ".x.yaml",           // hidden
      "sessions/.x.yaml",  // hidden, in a folder
      ".#x.yaml",          // emacs' lock link
      "#x.yaml#",          // emacs' autosave
      "#x.yaml",           // a '#' name
      "sub/#x.yaml",       // ... in a folder
      "x.yaml~",           // a backup
      "x.yaml.swp",        // vim's swap
      ".x.yaml.swp",
      "x.yaml.tmp",  // a temporary file renamed into place later
      "x.yaml___jb_tmp___",
      "4913",
      "x.jsonl",  // a batch, not one session
      "x.md",
      "x.lua",
      "x.yaml.md",
      "yaml",
      "x.yam",
      "x.yamll",
      "x.xyaml",
      "sessions/",
      "",
  };
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    if (!rp_workspace_is_session(yes[i])) fail_msg("'%s' is a session file", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    if (rp_workspace_is_session(no[i])) fail_msg("'%s' is not a session file", no[i]);
  assert_true(rp_workspace_is_json("x.json"));
  assert_true(rp_workspace_is_json("x.JSON"));
  assert_false(rp_workspace_is_json("x.yaml"));
  assert_false(rp_workspace_is_json("x.jsonl"));
  assert_true(rp_workspace_is_batch("day.jsonl"));
  assert_false(rp_workspace_is_batch("day.json"));
  assert_true(rp_workspace_is_plugin_file("plugins/clinic.lua"));
  assert_false(rp_workspace_is_plugin_file("plugins/.clinic.lua"));
  assert_false(rp_workspace_is_plugin_file("plugins/clinic.lua~"));
  assert_true(rp_workspace_is_template("templates/dap.md.mustache"));
  assert_false(rp_workspace_is_template("templates/.dap.md.mustache.swp"));
  assert_false(rp_workspace_is_template("templates/.dap.md.mustache"));
}

static void check_name(const char *dir, const char *input, long line, const char *ext,
                       const char *want) {
  char *got = rp_workspace_output_name(dir, input, line, ext);
  if (strcmp(got, want) != 0)
    fail_msg("the output of '%s' (line %ld) in %s is '%s', not '%s'", input, line, dir, got, want);
  free(got);
}

static void test_output_name(void **state) {
  (void)state;
  check_name("out", "sessions/jd-07.yaml", 0, ".md", "out/jd-07.md");
  check_name("out", "jd-07.yaml", 0, ".html", "out/jd-07.html");
  check_name("out", "jd-07.json", 0, ".json", "out/jd-07.json");
  check_name("notes/2026", "a/b/c.yml", 0, ".txt", "notes/2026/c.txt");
  // Only the last extension goes.
  check_name("out", "x.b.yaml", 0, ".md", "out/x.b.md");
  check_name("out", "dap.md.yaml", 0, ".md", "out/dap.md.md");
  // A folder's dot is not the file's extension; a name without one keeps
  // all of it; a leading dot is not an extension.
  check_name("out", "dir.d/notes", 0, ".md", "out/notes.md");
  check_name("out", ".hidden", 0, ".md", "out/.hidden.md");
  check_name("out", "-", 0, ".md", "out/-.md");
  // One line of a batch.
  check_name("out", "day.jsonl", 12, ".md", "out/day-12.md");
  check_name("out", "batches/day.jsonl", 1, ".json", "out/day-1.json");
  // Two inputs of the same name in different folders give the same output
  // name: the command that writes them must refuse the second.
  char *a = rp_workspace_output_name("out", "a/jd.yaml", 0, ".md");
  char *b = rp_workspace_output_name("out", "b/jd.yaml", 0, ".md");
  assert_string_equal(a, b);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_inputs_found_by_identity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inputs_missing_file_is_not_added, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inputs_each_keeps_what_it_is, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inputs_of_the_workspace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inputs_sessions_of_the_workspace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_output_inside, setup, teardown),
      cmocka_unit_test_setup_teardown(test_output_links_in_any_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_is_session, setup, teardown),
      cmocka_unit_test_setup_teardown(test_output_name, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
