// Unit tests of the note pipeline (core/notes/pipeline.c): a session in,
// a note out, through rp_notes_build and rp_notes_render, with the built-in
// plugins and layouts. Each test runs in an empty folder of its own, so no
// workspace plugin or template is found.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "notes/notes.h"

static const char soap[] =
    "type: soap\n"
    "client: { id: C-1042, initials: J.D. }\n"
    "session: { date: 2026-11-24, number: 7, minutes: 50, modality: video }\n"
    "clinician: { name: Dana Whitfield, credentials: LCSW }\n"
    "subjective: Client reports sleeping better.\n"
    "objective: Affect congruent <b>&amp; engaged</b>.\n"
    "assessment: Moderate progress toward goal 1.\n"
    "plan: Continue cognitive restructuring.\n"
    "risk: { level: none }\n"
    "alliance:\n"
    "  trust: 4\n"
    "  empathy: { rating: 5, note: \"said she felt understood\" }\n"
    "measures:\n"
    "  srs: [8.5, 9.0, 7.5, 8.0]\n";

typedef struct fixture {
  char dir[64];
  char *cwd;
  rp_workspace ws;
  rp_notes *n;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/rp-pipeline-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  f->cwd = getcwd(NULL, 0);
  if (chdir(f->dir) != 0) return -1;
  rp_diags d = RP_DIAGS_INIT;
  f->n = rp_notes_new(&f->ws, NULL, &d);
  if (d.errors) dump_diags(&d);
  rp_diags_free(&d);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rp_notes_free(f->n);
  if (chdir(f->cwd) != 0) return -1;
  rmdir(f->dir);
  free(f->cwd);
  free(f);
  return 0;
}

static int build(fixture *f, const char *text, rp_note *note, rp_diags *d) {
  rp_session_src src = {.path = "s.yaml", .text = text, .len = strlen(text)};
  return rp_notes_build(f->n, &src, note, d);
}

static void test_formats(void **state) {
  (void)state;
  rp_format fmt;
  assert_true(rp_format_parse("html", &fmt));
  assert_int_equal(fmt, RP_FMT_HTML);
  assert_false(rp_format_parse("pdf", &fmt));
  assert_false(rp_format_parse("MD", &fmt));
  assert_string_equal(rp_format_ext[RP_FMT_TXT], ".txt");
}

static void test_build_once_render_every_format(void **state) {
  fixture *f = *state;
  rp_note note = RP_NOTE_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = build(f, soap, &note, &d);
  if (rc != RP_OK) dump_diags(&d);
  assert_int_equal(rc, RP_OK);
  assert_int_equal(d.errors, 0);
  assert_string_equal(note.layout, "soap");
  rp_buf md = RP_BUF_INIT, md2 = RP_BUF_INIT, html = RP_BUF_INIT, txt = RP_BUF_INIT,
         json = RP_BUF_INIT;
  assert_int_equal(rp_notes_render(f->n, &note, RP_FMT_MD, false, &md, &d), RP_OK);
  assert_true(note.md_done);
  // The layout is rendered once: the second Markdown is the same bytes, and
  // HTML and text are made from them.
  assert_int_equal(rp_notes_render(f->n, &note, RP_FMT_MD, false, &md2, &d), RP_OK);
  assert_int_equal(md.len, md2.len);
  assert_memory_equal(md.data, md2.data, md.len);
  assert_int_equal(rp_notes_render(f->n, &note, RP_FMT_HTML, false, &html, &d), RP_OK);
  assert_int_equal(rp_notes_render(f->n, &note, RP_FMT_TXT, false, &txt, &d), RP_OK);
  assert_int_equal(rp_notes_render(f->n, &note, RP_FMT_JSON, true, &json, &d), RP_OK);
  assert_non_null(strstr(md.data, "said she felt understood"));
  // Typed text never becomes markup: the tags show as text in every format.
  assert_non_null(strstr(html.data, "&lt;b&gt;&amp;amp; engaged&lt;/b&gt;"));
  assert_null(strstr(html.data, "<b>"));
  assert_non_null(strstr(txt.data, "<b>&amp; engaged</b>"));
  assert_int_equal(json.data[json.len - 1], '\n');
  assert_null(memchr(json.data, '\n', json.len - 1));  // one JSON Lines record
  assert_non_null(strstr(json.data, "\"id\":\"soap\""));
  assert_non_null(strstr(json.data, "\"note_type\":{"));
  rp_buf_free(&md);
  rp_buf_free(&md2);
  rp_buf_free(&html);
  rp_buf_free(&txt);
  rp_buf_free(&json);
  rp_note_clear(&note);
  rp_diags_free(&d);
}

static void dep(void *ud, const char *name, size_t len) {
  rp_buf *b = ud;
  rp_buf_printf(b, "[%.*s]", (int)len, name);
}

static void test_layout_deps(void **state) {
  fixture *f = *state;
  rp_note note = RP_NOTE_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(build(f, soap, &note, &d), RP_OK);
  rp_buf deps = RP_BUF_INIT;
  // Before a human format was rendered, no layout is known.
  assert_false(rp_notes_layout_deps(&note, dep, &deps));
  assert_int_equal(deps.len, 0);
  rp_buf md = RP_BUF_INIT;
  assert_int_equal(rp_notes_render(f->n, &note, RP_FMT_MD, false, &md, &d), RP_OK);
  rp_notes_layout_deps(&note, dep, &deps);
  assert_non_null(deps.data);
  assert_non_null(strstr(deps.data, "[soap.md]"));
  assert_non_null(strstr(deps.data, "[note-tail.md]"));
  rp_buf_free(&deps);
  rp_buf_free(&md);
  rp_note_clear(&note);
  rp_diags_free(&d);
}

// Every problem of a session at once, top to bottom: a misspelt field, an
// out-of-range rating and a bad measure item, and no note.
static void test_every_problem_at_once(void **state) {
  fixture *f = *state;
  const char *bad =
      "type: soap\n"
      "client: { id: C-1042, initials: J.D. }\n"
      "session: { date: 2026-11-24, number: 7, minutes: 50, modality: video }\n"
      "clinician: { name: Dana Whitfield, credentials: LCSW }\n"
      "subjective: s\n"
      "objective: o\n"
      "assesment: a\n"
      "plan: p\n"
      "risk: { level: none }\n"
      "alliance:\n"
      "  trust: 7\n"
      "measures:\n"
      "  srs: [8.5, 19.0, 7.5, 8.0]\n";
  rp_note note = RP_NOTE_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(build(f, bad, &note, &d), RP_EDATA);
  assert_null(note.doc);
  assert_true(has_diag_at_line(&d, "s.yaml", 7));   // the misspelt field
  assert_true(has_diag_at_line(&d, "s.yaml", 11));  // trust 7 of 5
  assert_true(has_diag_at_line(&d, "s.yaml", 13));  // the SRS item
  for (size_t i = 1; i < d.n; i++)
    assert_true(d.items[i - 1].line <= d.items[i].line);
  rp_buf out = RP_BUF_INIT;
  assert_int_not_equal(rp_notes_render(f->n, &note, RP_FMT_MD, false, &out, &d), RP_OK);
  assert_int_equal(out.len, 0);
  rp_note_clear(&note);
  rp_diags_free(&d);
}

static void test_unknown_type_and_bad_input(void **state) {
  fixture *f = *state;
  rp_note note = RP_NOTE_INIT;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(build(f, "type: nosuch\n", &note, &d), RP_EDATA);
  assert_true(has_diag(&d, "s.yaml", 1, 7, "unknown note type 'nosuch' (note types: "));
  rp_diags_clear(&d);
  assert_int_equal(build(f, "plan: p\n", &note, &d), RP_EDATA);
  assert_true(has_diag(&d, "s.yaml", 1, 1, "no 'type' line"));
  rp_diags_clear(&d);
  assert_int_equal(build(f, "type: soap\n  bad: [\n", &note, &d), RP_EDATA);
  assert_true(d.errors > 0);
  rp_diags_clear(&d);
  // A JSON session given as text.
  rp_session_src src = {.path = "s.json", .text = "{\"type\": 5}", .len = 11};
  assert_int_equal(rp_notes_build(f->n, &src, &note, &d), RP_EDATA);
  assert_true(has_diag_at_line(&d, "s.json", 1));
  rp_note_clear(&note);
  rp_diags_free(&d);
}

// A session read from a file, and a batch line: the path and line name it.
static void test_sources(void **state) {
  fixture *f = *state;
  FILE *fp = fopen("jd.yaml", "w");
  assert_non_null(fp);
  fputs(soap, fp);
  fclose(fp);
  rp_note note = RP_NOTE_INIT;
  rp_diags d = RP_DIAGS_INIT;
  rp_session_src file = {.path = "jd.yaml"};
  assert_int_equal(rp_notes_build(f->n, &file, &note, &d), RP_OK);
  assert_string_equal(note.path, "jd.yaml");
  unlink("jd.yaml");
  rp_session_src missing = {.path = "jd.yaml"};
  assert_int_equal(rp_notes_build(f->n, &missing, &note, &d), RP_EDATA);
  assert_true(d.errors == 1 && strcmp(d.items[0].path, "jd.yaml") == 0);
  rp_diags_clear(&d);
  const char *line = "{\"type\": \"soap\", \"risk\": {\"level\": \"extreme\"}}";
  rp_session_src batch = {.path = "day.jsonl", .text = line, .len = strlen(line), .line = 12};
  assert_int_equal(rp_notes_build(f->n, &batch, &note, &d), RP_EDATA);
  for (size_t i = 0; i < d.n; i++) {
    assert_string_equal(d.items[i].path, "day.jsonl");
    assert_int_equal(d.items[i].line, 12);
  }
  rp_note_clear(&note);
  rp_diags_free(&d);
}

// A pipeline for one session (`rapport render` of one file) keeps no
// snapshot of the plugins: its one note is the note any pipeline builds, and
// a second session, which nothing could keep apart from the first, is
// refused with an error instead of running on what the first left.
static void test_one_session(void **state) {
  fixture *f = *state;
  rp_diags d = RP_DIAGS_INIT;
  rp_notes_opts o = {.one_session = true};
  rp_notes *one = rp_notes_new(&f->ws, &o, &d);
  assert_int_equal(d.errors, 0);
  rp_session_src src = {.path = "s.yaml", .text = soap, .len = strlen(soap)};
  rp_note a = RP_NOTE_INIT, b = RP_NOTE_INIT;
  assert_int_equal(rp_notes_build(one, &src, &a, &d), RP_OK);
  assert_int_equal(rp_notes_build(f->n, &src, &b, &d), RP_OK);
  rp_buf x = RP_BUF_INIT, y = RP_BUF_INIT;
  assert_int_equal(rp_notes_render(one, &a, RP_FMT_JSON, false, &x, &d), RP_OK);
  assert_int_equal(rp_notes_render(f->n, &b, RP_FMT_JSON, false, &y, &d), RP_OK);
  assert_true(x.len > 0 && x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
  assert_int_equal(d.errors, 0);
  rp_note_clear(&a);
  assert_int_equal(rp_notes_build(one, &src, &a, &d), RP_EDATA);
  assert_int_equal(d.errors, 1);
  char *msg = rp_diag_format(&d.items[0]);
  assert_string_equal(
      msg, "s.yaml: error: internal error: the plugins were loaded for one session only");
  free(msg);
  rp_buf_free(&x);
  rp_buf_free(&y);
  rp_note_clear(&a);
  rp_note_clear(&b);
  rp_notes_free(one);
  rp_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formats),
      cmocka_unit_test_setup_teardown(test_build_once_render_every_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_layout_deps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_problem_at_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_type_and_bad_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_session, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
