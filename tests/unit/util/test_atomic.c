// Unit tests for core/util/atomic: atomic, durable output files with mode
// 0600, no temporary files left behind on success or failure, refusals, and
// rp_same_file. Every test works in a fresh folder under $TMPDIR (or /tmp).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/buf.h"

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

typedef struct fixture {
  char dir[256];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/rp-atomic-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(f->dir)) {
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

// Removes the folder's entries (one level deep is all the tests make) and
// the folder.
static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      chmod(path, 0700);
      remove_tree(path);
    } else {
      unlink(path);
    }
  }
  closedir(d);
  rmdir(dir);
}

static int teardown(void **state) {
  fixture *f = *state;
  chmod(f->dir, 0700);
  remove_tree(f->dir);
  free(f);
  return 0;
}

static char *join(const fixture *f, const char *name) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s/%s", f->dir, name);
  return rp_buf_detach(&b);
}

static char *read_file(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  rp_buf b = RP_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
    rp_buf_add(&b, chunk, n);
  fclose(fp);
  *len = b.len;
  return rp_buf_detach(&b);
}

static void write_plain(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void expect_contents(const char *path, const char *data, size_t len) {
  size_t got_len = 0;
  char *got = read_file(path, &got_len);
  assert_non_null(got);
  assert_int_equal(got_len, len);
  assert_memory_equal(got, data, len);
  free(got);
}

// The names in `dir`, sorted and joined with spaces ("" for none).
static char *listing(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    assert_true(n < 64);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  rp_buf b = RP_BUF_INIT;
  rp_buf_adds(&b, "");
  for (size_t i = 0; i < n; i++) {
    if (i) rp_buf_addc(&b, ' ');
    rp_buf_adds(&b, names[i]);
    free(names[i]);
  }
  return rp_buf_detach(&b);
}

static void expect_listing(const char *dir, const char *want) {
  char *got = listing(dir);
  assert_string_equal(got, want);
  free(got);
}

static char *first_message(rp_diags *d) {
  assert_true(d->n >= 1);
  return rp_diag_format(&d->items[0]);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

static void test_writes_content_with_mode_0600(void **state) {
  fixture *f = *state;
  char *path = join(f, "note.md");
  mode_t old = umask(0);
  rp_diags d = RP_DIAGS_INIT;
  static const char text[] = "# Note\n\nClient reports sleeping better.\n";
  assert_int_equal(rp_write_atomic(path, text, sizeof text - 1, &d), RP_OK);
  umask(old);
  assert_int_equal(d.n, 0);
  expect_contents(path, text, sizeof text - 1);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  expect_listing(f->dir, "note.md");
  rp_diags_free(&d);
  free(path);
}

// A restrictive umask cannot make the note unreadable to its owner.
static void test_mode_is_0600_under_any_umask(void **state) {
  fixture *f = *state;
  char *path = join(f, "note.txt");
  mode_t old = umask(0277);
  assert_int_equal(rp_write_atomic(path, "x", 1, NULL), RP_OK);
  umask(old);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  free(path);
}

static void test_empty_and_large(void **state) {
  fixture *f = *state;
  char *empty = join(f, "empty");
  assert_int_equal(rp_write_atomic(empty, NULL, 0, NULL), RP_OK);
  expect_contents(empty, "", 0);

  size_t len = (size_t)9 << 20;
  char *big = malloc(len);
  for (size_t i = 0; i < len; i++)
    big[i] = (char)(i * 31 + (i >> 13));
  char *path = join(f, "big.bin");
  assert_int_equal(rp_write_atomic(path, big, len, NULL), RP_OK);
  expect_contents(path, big, len);
  expect_listing(f->dir, "big.bin empty");
  free(big);
  free(path);
  free(empty);
}

static void test_overwrite_keeps_other_files(void **state) {
  fixture *f = *state;
  char *a = join(f, "a.md"), *b = join(f, "b.md");
  write_plain(a, "old contents of a, longer than the new ones\n");
  write_plain(b, "b stays\n");
  chmod(a, 0644);
  struct stat before;
  assert_int_equal(stat(a, &before), 0);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_write_atomic(a, "new a\n", 6, &d), RP_OK);
  assert_int_equal(d.n, 0);
  expect_contents(a, "new a\n", 6);
  expect_contents(b, "b stays\n", 8);
  struct stat after;
  assert_int_equal(stat(a, &after), 0);
  assert_int_equal(after.st_mode & 07777, 0600);
  assert_true(after.st_ino != before.st_ino);  // replaced, not rewritten in place
  expect_listing(f->dir, "a.md b.md");
  rp_diags_free(&d);
  free(a);
  free(b);
}

// A relative path without a folder writes into the current folder.
static void test_relative_path(void **state) {
  fixture *f = *state;
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(f->dir), 0);
  int rc = rp_write_atomic("plain.txt", "p", 1, NULL);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rc, RP_OK);
  char *path = join(f, "plain.txt");
  expect_contents(path, "p", 1);
  expect_listing(f->dir, "plain.txt");
  free(path);
}

// A name near the file system's limit still gets a temporary name that fits.
static void test_long_name(void **state) {
  fixture *f = *state;
  char name[256];
  memset(name, 'n', 250);
  strcpy(name + 250, ".md");
  char *path = join(f, name);
  assert_int_equal(rp_write_atomic(path, "long", 4, NULL), RP_OK);
  expect_contents(path, "long", 4);
  expect_listing(f->dir, name);
  free(path);
}

// ---------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------

// Writing into a folder the process may not write to: run as an ordinary
// user. As root (which ignores permissions), a child process drops to
// nobody first. The child reports through its exit status: 0 when the write
// failed with the expected message.
static int try_read_only_folder(const char *dir, const char *path) {
  rp_diags d = RP_DIAGS_INIT;
  int rc = rp_write_atomic(path, "secret", 6, &d);
  if (rc != RP_EIO || d.n != 1) return 10;
  char *msg = rp_diag_format(&d.items[0]);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: %s", path, strerror(EACCES));
  int bad = strcmp(msg, want) != 0;
  if (bad) fprintf(stderr, "got '%s', want '%s'\n", msg, want);
  free(msg);
  rp_diags_free(&d);
  (void)dir;
  return bad ? 11 : 0;
}

static void test_read_only_folder(void **state) {
  fixture *f = *state;
  char *sub = join(f, "ro");
  assert_int_equal(mkdir(sub, 0755), 0);
  char path[512];
  snprintf(path, sizeof path, "%s/note.md", sub);
  write_plain(path, "old\n");
  assert_int_equal(chmod(sub, 0555), 0);
  assert_int_equal(chmod(f->dir, 0755), 0);  // nobody must reach ro/

  int status;
  if (geteuid() == 0) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(20);
      _exit(try_read_only_folder(sub, path));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    status = WEXITSTATUS(status);
  } else {
    status = try_read_only_folder(sub, path);
  }
  assert_int_equal(status, 0);
  expect_contents(path, "old\n", 4);
  expect_listing(sub, "note.md");
  chmod(sub, 0700);
  free(sub);
}

// A failure after the temporary file exists (the file size limit is hit in
// the middle of the write): the error is reported, the old file is intact
// and the temporary file is gone.
static void test_failure_mid_write_leaves_nothing(void **state) {
  fixture *f = *state;
  char *path = join(f, "note.md");
  write_plain(path, "old\n");
  struct rlimit old, small = {4096, 4096};
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  small.rlim_max = old.rlim_max;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  size_t len = 100000;
  char *data = malloc(len);
  memset(data, 'x', len);
  rp_diags d = RP_DIAGS_INIT;
  int rc = rp_write_atomic(path, data, len, &d);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  assert_int_equal(rc, RP_EIO);
  char *msg = first_message(&d);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: %s", path, strerror(EFBIG));
  assert_string_equal(msg, want);
  expect_contents(path, "old\n", 4);
  expect_listing(f->dir, "note.md");
  free(msg);
  free(data);
  rp_diags_free(&d);
  free(path);
}

static void test_missing_folder(void **state) {
  fixture *f = *state;
  char *path = join(f, "no/such/note.md");
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_write_atomic(path, "x", 1, &d), RP_EIO);
  char *msg = first_message(&d);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: %s", path, strerror(ENOENT));
  assert_string_equal(msg, want);
  expect_listing(f->dir, "");
  free(msg);
  rp_diags_free(&d);
  free(path);
}

static void test_directory_refused(void **state) {
  fixture *f = *state;
  char *path = join(f, "out");
  assert_int_equal(mkdir(path, 0755), 0);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_write_atomic(path, "x", 1, &d), RP_EIO);
  char *msg = first_message(&d);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: %s", path, strerror(EISDIR));
  assert_string_equal(msg, want);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  expect_listing(f->dir, "out");
  free(msg);
  rp_diags_clear(&d);

  // A trailing slash names a folder too, existing or not.
  char *slash = join(f, "new/");
  assert_int_equal(rp_write_atomic(slash, "x", 1, &d), RP_EIO);
  expect_listing(f->dir, "out");
  free(slash);
  rp_diags_free(&d);
  free(path);
}

static void test_fifo_refused(void **state) {
  fixture *f = *state;
  char *path = join(f, "pipe");
  assert_int_equal(mkfifo(path, 0600), 0);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_write_atomic(path, "x", 1, &d), RP_EIO);
  char *msg = first_message(&d);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: not a regular file", path);
  assert_string_equal(msg, want);
  expect_listing(f->dir, "pipe");
  free(msg);
  rp_diags_free(&d);
  free(path);
}

// ---------------------------------------------------------------------------
// Symbolic links
// ---------------------------------------------------------------------------

// The link itself is replaced; the file it pointed to keeps its contents.
static void test_symlink_is_replaced_not_followed(void **state) {
  fixture *f = *state;
  char *target = join(f, "input.yaml"), *link = join(f, "note.md");
  write_plain(target, "type: soap\n");
  assert_int_equal(symlink("input.yaml", link), 0);
  assert_int_equal(rp_write_atomic(link, "note\n", 5, NULL), RP_OK);
  struct stat st;
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  expect_contents(link, "note\n", 5);
  expect_contents(target, "type: soap\n", 11);
  expect_listing(f->dir, "input.yaml note.md");

  // A dangling link is replaced as well.
  char *dangling = join(f, "dangling.md");
  assert_int_equal(symlink("nowhere/at/all", dangling), 0);
  assert_int_equal(rp_write_atomic(dangling, "d", 1, NULL), RP_OK);
  assert_int_equal(lstat(dangling, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  free(dangling);
  free(target);
  free(link);
}

// A link to a folder is refused like the folder.
static void test_symlink_to_directory_refused(void **state) {
  fixture *f = *state;
  char *dir = join(f, "d"), *link = join(f, "l");
  assert_int_equal(mkdir(dir, 0755), 0);
  assert_int_equal(symlink("d", link), 0);
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_write_atomic(link, "x", 1, &d), RP_EIO);
  assert_int_equal(d.n, 1);
  struct stat st;
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  expect_listing(f->dir, "d l");
  expect_listing(dir, "");
  rp_diags_free(&d);
  free(dir);
  free(link);
}

// ---------------------------------------------------------------------------
// rp_same_file
// ---------------------------------------------------------------------------

static void test_same_file(void **state) {
  fixture *f = *state;
  char *a = join(f, "session.yaml"), *hard = join(f, "hard.yaml"), *soft = join(f, "soft.yaml"),
       *other = join(f, "other.yaml"), *missing = join(f, "missing.yaml");
  write_plain(a, "type: soap\n");
  write_plain(other, "type: soap\n");
  assert_int_equal(link(a, hard), 0);
  assert_int_equal(symlink("session.yaml", soft), 0);
  assert_true(rp_same_file(a, a));
  assert_true(rp_same_file(a, hard));
  assert_true(rp_same_file(hard, a));
  assert_true(rp_same_file(a, soft));
  assert_true(rp_same_file(soft, hard));
  assert_false(rp_same_file(a, other));
  assert_false(rp_same_file(a, missing));
  assert_false(rp_same_file(missing, missing));

  // Through a different spelling of the same path.
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(f->dir), 0);
  bool same = rp_same_file("./session.yaml", a);
  assert_int_equal(chdir(cwd), 0);
  assert_true(same);
  free(a);
  free(hard);
  free(soft);
  free(other);
  free(missing);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_writes_content_with_mode_0600, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mode_is_0600_under_any_umask, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_and_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overwrite_keeps_other_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_only_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failure_mid_write_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_directory_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_is_replaced_not_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_to_directory_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_same_file, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
