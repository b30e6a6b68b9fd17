// Unit tests of core/batch/: lines processed on several workers come out
// in input order, with their diagnostics, and failures are counted.
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "batch/batch.h"
#include "helpers.h"

typedef struct run {
  rp_buf out;
  rp_diags diags;
  int workers_made;
} run;

static void *worker_new(void *ud) {
  run *r = ud;
  __atomic_add_fetch(&r->workers_made, 1, __ATOMIC_SEQ_CST);
  return r;
}

static void worker_free(void *w) {
  (void)w;
}

// Upper-cases the line and prefixes its number; a line starting with '!'
// fails with a diagnostic at its line.
static int line(void *w, const char *s, size_t len, long lineno, rp_buf *out, rp_diags *diags) {
  (void)w;
  if (len && s[0] == '!') {
    rp_diags_add(diags, RP_SEV_ERROR, "in.jsonl", (int)lineno, 1, "bad line");
    return RP_EDATA;
  }
  rp_buf_printf(out, "%ld:", lineno);
  for (size_t i = 0; i < len; i++)
    rp_buf_addc(out, (char)toupper((unsigned char)s[i]));
  rp_buf_addc(out, '\n');
  return RP_OK;
}

static void emit(void *ud, const rp_buf *out, const rp_diags *diags) {
  run *r = ud;
  rp_buf_add(&r->out, out->data ? out->data : "", out->len);
  for (size_t i = 0; i < diags->n; i++)
    rp_diags_add(&r->diags, diags->items[i].sev, diags->items[i].path, diags->items[i].line,
                 diags->items[i].col, "%s", diags->items[i].msg);
}

static void run_batch(const char *input, int workers, size_t chunk, run *r, rp_batch_stats *stats,
                      int *status) {
  memset(r, 0, sizeof *r);
  FILE *f = fmemopen((void *)input, strlen(input), "r");
  assert_non_null(f);
  rp_batch_opts o = {.workers = workers,
                     .chunk_size = chunk,
                     .worker_new = worker_new,
                     .worker_free = worker_free,
                     .line = line,
                     .emit = emit,
                     .ud = r};
  rp_diags d = RP_DIAGS_INIT;
  *status = rp_batch_run(f, "in.jsonl", &o, stats, &d);
  rp_diags_move(&r->diags, &d);
  rp_diags_free(&d);
  fclose(f);
}

static void test_order_is_kept_on_many_workers(void **state) {
  (void)state;
  rp_buf in = RP_BUF_INIT, want = RP_BUF_INIT;
  for (int i = 1; i <= 5000; i++) {
    rp_buf_printf(&in, "line %d\n", i);
    rp_buf_printf(&want, "%d:LINE %d\n", i, i);
  }
  for (int workers = 1; workers <= 4; workers++) {
    run r;
    rp_batch_stats st = {0};
    int rc;
    // Small chunks, so that many are in flight at once.
    run_batch(in.data, workers, 256, &r, &st, &rc);
    assert_int_equal(rc, RP_OK);
    assert_int_equal(st.lines, 5000);
    assert_int_equal(st.failed, 0);
    assert_int_equal(r.out.len, want.len);
    assert_memory_equal(r.out.data, want.data, want.len);
    assert_true(r.workers_made >= 1 && r.workers_made <= workers);
    rp_buf_free(&r.out);
    rp_diags_free(&r.diags);
  }
  rp_buf_free(&in);
  rp_buf_free(&want);
}

static void test_blank_lines_and_failures(void **state) {
  (void)state;
  run r;
  rp_batch_stats st = {0};
  int rc;
  run_batch("a\n\n   \n!b\nc\r\n!d", 2, 0, &r, &st, &rc);
  assert_int_equal(rc, RP_EDATA);
  assert_int_equal(st.lines, 4);
  assert_int_equal(st.failed, 2);
  // Line numbers count the blank lines; a CRLF ending is not part of a line.
  assert_string_equal(r.out.data, "1:A\n5:C\n");
  assert_int_equal(r.diags.n, 2);
  assert_int_equal(r.diags.items[0].line, 4);
  assert_int_equal(r.diags.items[1].line, 6);
  rp_buf_free(&r.out);
  rp_diags_free(&r.diags);
}

// A line that does not fit the limit (one that no chunk can hold) is
// reported at its line and skipped; the lines around it are processed.
static void test_a_line_over_the_limit_is_reported(void **state) {
  (void)state;
  rp_buf in = RP_BUF_INIT;
  rp_buf_adds(&in, "short\n");
  for (int i = 0; i < 3000; i++)
    rp_buf_addc(&in, 'x');
  rp_buf_adds(&in, "\nafter\n");
  run r;
  memset(&r, 0, sizeof r);
  FILE *f = fmemopen(in.data, in.len, "r");
  rp_batch_opts o = {.workers = 2,
                     .chunk_size = 256,
                     .max_line = 1000,
                     .worker_new = worker_new,
                     .worker_free = worker_free,
                     .line = line,
                     .emit = emit,
                     .ud = &r};
  rp_diags d = RP_DIAGS_INIT;
  rp_batch_stats st = {0};
  int rc = rp_batch_run(f, "in.jsonl", &o, &st, &d);
  rp_diags_move(&r.diags, &d);
  fclose(f);
  assert_int_equal(rc, RP_EDATA);
  assert_int_equal(st.lines, 3);
  assert_int_equal(st.failed, 1);
  assert_string_equal(r.out.data, "1:SHORT\n3:AFTER\n");
  assert_true(has_diag_at_line(&r.diags, "in.jsonl", 2));
  rp_buf_free(&r.out);
  rp_buf_free(&in);
  rp_diags_free(&r.diags);
  rp_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_is_kept_on_many_workers),
      cmocka_unit_test(test_blank_lines_and_failures),
      cmocka_unit_test(test_a_line_over_the_limit_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
