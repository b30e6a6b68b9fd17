// Unit tests for core/watch/engine: rp_watch_session_id, the preview id of a
// session file. Every note has its own preview address (PRODUCT.md §9), so
// the encoding must never give two session files the same id: checked over
// names built to collide (spaces against underscores, folders against dots,
// escapes against what they escape, UTF-8 bytes, leading dots, long names),
// and every id must be one the preview accepts.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch/engine.h"
#include "serve/preview.h"

// Session paths under their root, without their extension; each is tried
// with ".yaml" after it.
static const char *const STEMS[] = {
    "x y",
    "x_y",
    "x__y",
    "x_20y",
    "x_5Fy",
    "x-y",
    "x.y",
    "x/y",
    "x_2Ey",
    "x_2Fy",
    "x__20y",
    "x___y",
    "x_",
    "x__",
    "_x",
    "__x",
    "x",
    "X",
    "sub/x",
    "sub.x",
    "sub_2Ex",
    "sub/x/y",
    "sub.x/y",
    "sub/x.y",
    "sub_x",
    "sub__x",
    "sub/_x",
    "a",
    "a b c",
    "a  b",
    "a\tb",
    "a%20b",
    "a+b",
    "a=b",
    ".hidden",
    "..x",
    "._x",
    "_2Ex",
    "sub/.x",
    "sub/..x",
    "sub_2F.x",
    "caf\xc3\xa9",
    "cafe\xcc\x81",
    "caf_C3_A9",
    "caf\xc3\xa9/x",
    "\xe2\x80\x8bx",
    "x\xe2\x80\x8b",
    "\xf0\x9f\x98\x80",
    "_F0_9F_98_80",
    "jd-07",
    "jd_07",
    "jd 07",
    "JD-07",
    "2026/11/24",
    "2026.11.24",
    "2026_11_24",
    "2026-11-24",
    "session",
    "-",
    "--",
    "-x",
    "x-",
    "a/b/c/d/e",
    "a.b.c.d.e",
};

#define NSTEMS (sizeof STEMS / sizeof *STEMS)

static bool id_chars_ok(const char *id) {
  for (const char *p = id; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  return *id != '\0';
}

// Checks that the n ids are pairwise different, naming the pair otherwise.
static void assert_distinct(char **ids, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(ids[i], ids[j]) == 0)
        fail_msg("'%s' and '%s' share the id '%s'", names[i], names[j], ids[i]);
}

static void test_documented_examples(void **state) {
  (void)state;
  static const char *const cases[][3] = {
      // rel, id without the extension, id with it
      {"x y.yaml", "x_20y", "x_20y_2Eyaml"},
      {"x_y.yaml", "x__y", "x__y_2Eyaml"},
      {"sub/x.yaml", "sub.x", "sub.x_2Eyaml"},
      {"sub.x.yaml", "sub_2Ex", "sub_2Ex_2Eyaml"},
      {"jd-07.yaml", "jd-07", "jd-07_2Eyaml"},
      {"a.json", "a", "a_2Ejson"},
      // A leading dot is not an extension.
      {".yaml", "_2Eyaml", "_2Eyaml"},
      {"sub/.x", "sub._2Ex", "sub._2Ex"},
      {"caf\xc3\xa9.yaml", "caf_C3_A9", "caf_C3_A9_2Eyaml"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *a = rp_watch_session_id(cases[i][0], false);
    char *b = rp_watch_session_id(cases[i][0], true);
    assert_string_equal(a, cases[i][1]);
    assert_string_equal(b, cases[i][2]);
    free(a);
    free(b);
  }
}

// Without the extension: every stem gets its own id.
static void test_injective_without_extension(void **state) {
  (void)state;
  char *names[NSTEMS];
  char *ids[NSTEMS];
  for (size_t i = 0; i < NSTEMS; i++) {
    size_t len = strlen(STEMS[i]) + 6;
    names[i] = malloc(len);
    snprintf(names[i], len, "%s.yaml", STEMS[i]);
    ids[i] = rp_watch_session_id(names[i], false);
    if (!id_chars_ok(ids[i])) fail_msg("'%s' has the id '%s'", names[i], ids[i]);
  }
  assert_distinct(ids, (const char *const *)names, NSTEMS);
  for (size_t i = 0; i < NSTEMS; i++) {
    free(names[i]);
    free(ids[i]);
  }
}

// With the extension: every file gets its own id, also files that differ
// only by their extension (a.yaml, a.json, a.yml, a.YAML) or by where the
// dot is (a.b.yaml, a_2Eb.yaml).
static void test_injective_with_extension(void **state) {
  (void)state;
  static const char *const exts[] = {".yaml", ".yml", ".json", ".YAML", ".Json", ""};
  size_t next = sizeof exts / sizeof *exts;
  size_t n = NSTEMS * next;
  char **names = calloc(n, sizeof *names);
  char **ids = calloc(n, sizeof *ids);
  for (size_t i = 0; i < NSTEMS; i++) {
    for (size_t e = 0; e < next; e++) {
      size_t k = i * next + e;
      size_t len = strlen(STEMS[i]) + strlen(exts[e]) + 1;
      names[k] = malloc(len);
      snprintf(names[k], len, "%s%s", STEMS[i], exts[e]);
    }
  }
  // Drop the names that are the same file twice ("x.y" with no extension
  // is "x.y" + ""; "x" + ".y..." never is): only distinct paths count.
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    bool dup = false;
    for (size_t j = 0; j < m && !dup; j++)
      dup = strcmp(names[j], names[k]) == 0;
    if (dup) {
      free(names[k]);
      continue;
    }
    names[m++] = names[k];
  }
  for (size_t k = 0; k < m; k++) {
    ids[k] = rp_watch_session_id(names[k], true);
    if (!id_chars_ok(ids[k])) fail_msg("'%s' has the id '%s'", names[k], ids[k]);
  }
  assert_distinct(ids, (const char *const *)names, m);
  for (size_t k = 0; k < m; k++) {
    free(names[k]);
    free(ids[k]);
  }
  free(names);
  free(ids);
}

// Long names: no truncation inside the encoding, so two names that differ
// only at their end keep different ids.
static void test_long_names(void **state) {
  (void)state;
  enum { LEN = 4000 };
  char *a = malloc(LEN + 8), *b = malloc(LEN + 8), *c = malloc(LEN + 8);
  memset(a, 'x', LEN);
  memcpy(b, a, LEN);
  memcpy(c, a, LEN);
  strcpy(a + LEN, "a.yaml");
  strcpy(b + LEN, "b.yaml");
  strcpy(c + LEN, "_.yaml");
  char *ia = rp_watch_session_id(a, false);
  char *ib = rp_watch_session_id(b, false);
  char *ic = rp_watch_session_id(c, false);
  assert_int_equal(strlen(ia), LEN + 1);
  assert_int_equal(strlen(ic), LEN + 2);
  assert_string_not_equal(ia, ib);
  assert_string_not_equal(ia, ic);
  assert_string_not_equal(ib, ic);
  free(ia);
  free(ib);
  free(ic);
  free(a);
  free(b);
  free(c);
}

// Every id of a name that is not too long is an id the preview serves.
static void test_ids_are_preview_ids(void **state) {
  (void)state;
  for (size_t i = 0; i < NSTEMS; i++) {
    for (int with_ext = 0; with_ext < 2; with_ext++) {
      char name[256];
      snprintf(name, sizeof name, "%s.yaml", STEMS[i]);
      char *id = rp_watch_session_id(name, with_ext);
      if (strlen(id) <= 128 && !rp_preview_id_valid(id))
        fail_msg("the preview refuses '%s', the id of '%s'", id, name);
      free(id);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_documented_examples),
      cmocka_unit_test(test_injective_without_extension),
      cmocka_unit_test(test_injective_with_extension),
      cmocka_unit_test(test_long_names),
      cmocka_unit_test(test_ids_are_preview_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
