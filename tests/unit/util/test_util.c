// Unit tests of core/util/ beyond atomic writes (test_atomic.c): buffers,
// the arena, diagnostics and the folder walker.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/dir.h"
#include "util/error.h"

// --- buffers ---------------------------------------------------------------------------------

static void test_buf_grows_and_detaches(void **state) {
  (void)state;
  rp_buf b = RP_BUF_INIT;
  for (int i = 0; i < 10000; i++)
    rp_buf_printf(&b, "%d,", i % 10);
  assert_int_equal(b.len, 20000);
  assert_int_equal(b.data[b.len], '\0');
  assert_memory_equal(b.data, "0,1,2,", 6);
  char *s = rp_buf_detach(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(strlen(s), 20000);
  free(s);
  rp_buf_add(&b, "a\0b", 3);  // bytes, NUL included
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.data, "a\0b", 3);
  rp_buf_clear(&b);
  assert_int_equal(b.len, 0);
  rp_buf_free(&b);
}

// --- the arena -------------------------------------------------------------------------------

static void test_arena_aligns_and_resets(void **state) {
  (void)state;
  rp_arena a = RP_ARENA_INIT;
  void *first = NULL;
  for (int i = 0; i < 1000; i++) {
    void *p = rp_arena_alloc(&a, (size_t)(i % 17) + 1);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
    if (!first) first = p;
  }
  char *s = rp_arena_strndup(&a, "hello world", 5);
  assert_string_equal(s, "hello");
  // A large block still comes out whole.
  char *big = rp_arena_alloc(&a, 1 << 20);
  memset(big, 'x', 1 << 20);
  rp_arena_reset(&a);
  // After a reset the first chunk is used again.
  assert_ptr_equal(rp_arena_alloc(&a, 1), first);
  rp_arena_free(&a);
}

// --- diagnostics -----------------------------------------------------------------------------

static void test_diag_format(void **state) {
  (void)state;
  rp_diags d = RP_DIAGS_INIT;
  rp_diags_add(&d, RP_SEV_ERROR, "s.yaml", 14, 3, "alliance.trust must be a rating (got %d)", 7);
  rp_diags_add(&d, RP_SEV_WARNING, "s.yaml", 2, 1, "a warning");
  rp_diags_add(&d, RP_SEV_ERROR, "out", 0, 0, "cannot create the output folder");
  char *a = rp_diag_format(&d.items[0]);
  char *b = rp_diag_format(&d.items[1]);
  char *c = rp_diag_format(&d.items[2]);
  assert_string_equal(a, "s.yaml:14:3: error: alliance.trust must be a rating (got 7)");
  assert_string_equal(b, "s.yaml:2:1: warning: a warning");
  assert_string_equal(c, "out: error: cannot create the output folder");
  assert_int_equal(d.errors, 2);
  free(a);
  free(b);
  free(c);
  rp_diags_free(&d);
}

static void test_diags_sort_from_top_to_bottom(void **state) {
  (void)state;
  rp_diags d = RP_DIAGS_INIT;
  rp_diags_add(&d, RP_SEV_ERROR, "z.yaml", 1, 1, "kept first: before `from`");
  rp_diags_add(&d, RP_SEV_ERROR, "s.yaml", 9, 2, "third");
  rp_diags_add(&d, RP_SEV_ERROR, "s.yaml", 3, 7, "second");
  rp_diags_add(&d, RP_SEV_ERROR, "s.yaml", 3, 1, "first");
  rp_diags_add(&d, RP_SEV_ERROR, "s.yaml", 9, 2, "fourth, same place: stays after third");
  rp_diags_sort(&d, 1);
  assert_string_equal(d.items[0].msg, "kept first: before `from`");
  assert_string_equal(d.items[1].msg, "first");
  assert_string_equal(d.items[2].msg, "second");
  assert_string_equal(d.items[3].msg, "third");
  assert_string_equal(d.items[4].msg, "fourth, same place: stays after third");
  rp_diags_free(&d);
}

static void test_diags_are_capped(void **state) {
  (void)state;
  rp_diags d = RP_DIAGS_INIT;
  for (int i = 0; i < 5000; i++)
    rp_diags_add(&d, RP_SEV_ERROR, "t.mustache", 1, i + 1, "problem %d", i);
  assert_int_equal(d.n, 1000);
  assert_int_equal(d.errors, 5000);
  assert_int_equal(d.dropped, 4000);
  rp_diags m = RP_DIAGS_INIT;
  rp_diags_add(&m, RP_SEV_ERROR, "a", 1, 1, "one");
  rp_diags_move(&d, &m);
  assert_int_equal(m.n, 0);
  assert_int_equal(d.errors, 5001);
  rp_diags_free(&m);
  rp_diags_free(&d);
}

// --- the folder walker -----------------------------------------------------------------------

typedef struct seen {
  char paths[32][256];
  int n;
} seen;

static void collect(void *ud, const char *path, const char *name, const struct stat *st) {
  seen *s = ud;
  assert_true(S_ISREG(st->st_mode));
  assert_non_null(strstr(path, name));
  if (s->n < 32) snprintf(s->paths[s->n++], sizeof s->paths[0], "%s", path);
}

static void touch(const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("x", f);
  fclose(f);
}

static bool yaml_only(const char *name) {
  return rp_has_ext(name, ".yaml");
}

static void test_dir_walk(void **state) {
  (void)state;
  char root[] = "/tmp/rp-dir-XXXXXX";
  assert_non_null(mkdtemp(root));
  char p[512];
  const char *dirs[] = {"b", "a", "a/z", ".git", "out"};
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
    assert_int_equal(mkdir(p, 0700), 0);
  }
  const char *files[] = {"b/2.yaml",    "a/1.yaml",   "a/z/3.YAML",  "a/.hidden.yaml",
                         ".git/x.yaml", "out/o.yaml", "a/notes.txt", "top.yaml"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(p, sizeof p, "%s/%s", root, files[i]);
    touch(p);
  }
  // In name order, hidden entries and the skipped folder left out.
  struct stat st;
  snprintf(p, sizeof p, "%s/out", root);
  assert_int_equal(stat(p, &st), 0);
  rp_dir_walk_opts o = {
      .keep = yaml_only, .skip_dev = st.st_dev, .skip_ino = st.st_ino, .skip_set = true};
  seen s = {0};
  rp_dir_walk(root, &o, collect, &s);
  assert_int_equal(s.n, 4);
  const char *want[] = {"a/1.yaml", "a/z/3.YAML", "b/2.yaml", "top.yaml"};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/%s", root, want[i]);
    assert_string_equal(s.paths[i], p);
  }
  // The folder itself only.
  o.no_subfolders = true;
  s.n = 0;
  rp_dir_walk(root, &o, collect, &s);
  assert_int_equal(s.n, 1);
  // A missing folder, or a file, reports nothing.
  s.n = 0;
  snprintf(p, sizeof p, "%s/missing", root);
  rp_dir_walk(p, NULL, collect, &s);
  snprintf(p, sizeof p, "%s/top.yaml", root);
  rp_dir_walk(p, NULL, collect, &s);
  assert_int_equal(s.n, 0);
  assert_false(rp_is_dir(p));
  assert_true(rp_is_dir(root));
  assert_true(rp_has_ext("A.JSON", ".json"));
  assert_false(rp_has_ext(".json", ".json"));
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buf_grows_and_detaches),
      cmocka_unit_test(test_arena_aligns_and_resets),
      cmocka_unit_test(test_diag_format),
      cmocka_unit_test(test_diags_sort_from_top_to_bottom),
      cmocka_unit_test(test_diags_are_capped),
      cmocka_unit_test(test_dir_walk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
