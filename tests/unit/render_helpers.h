// Rendering a template against JSON data in a unit test, and comparing the
// output: shared by the template engine's test programs. Include after
// <cmocka.h> and helpers.h.
#pragma once

#include <stdio.h>
#include <string.h>

#include "data/data.h"
#include "helpers.h"
#include "template/template.h"

// The root of `json` (it must parse) read into doc.
static inline rp_value test_json(rp_doc *doc, const char *json) {
  rp_diags d = RP_DIAGS_INIT;
  rp_value root;
  int rc = rp_json_parse(doc, "data.json", json, strlen(json), &d, &root);
  if (rc != RP_OK) dump_diags(&d);
  assert_int_equal(rc, RP_OK);
  rp_diags_free(&d);
  return root;
}

// Renders the compiled `t` against `json` (NULL: an empty map) with `opts`
// (NULL: the defaults) into out; returns the render's status.
static inline int test_render_tpl(const rp_template *t, const char *json,
                                  const rp_render_opts *opts, rp_buf *out, rp_diags *diags) {
  rp_doc *doc = rp_doc_new();
  rp_value root = test_json(doc, json ? json : "{}");
  rp_ctx ctx = rp_doc_ctx(doc, root);
  int rc = rp_template_render(t, &ctx, opts, out, diags);
  rp_doc_free(doc);
  return rc;
}

// Compiles `src` as `path` in lib (it must compile without a diagnostic)
// and renders it as test_render_tpl does.
static inline int test_render(rp_library *lib, const char *path, const char *src, const char *json,
                              const rp_render_opts *opts, rp_buf *out, rp_diags *diags) {
  rp_diags cd = RP_DIAGS_INIT;
  rp_template *t = rp_template_compile(lib, path, src, strlen(src), &cd);
  if (!t) {
    fprintf(stderr, "template does not compile: %s\n", src);
    dump_diags(&cd);
  }
  assert_non_null(t);
  assert_int_equal(cd.n, 0);
  rp_diags_free(&cd);
  int rc = test_render_tpl(t, json, opts, out, diags);
  rp_template_free(t);
  return rc;
}

// Fails the test, showing both, unless the output is exactly `want`.
static inline void test_check_out(const char *src, const char *json, const char *got, size_t gotlen,
                                  const char *want) {
  if (gotlen != strlen(want) || memcmp(got, want, gotlen) != 0) {
    fprintf(stderr, "template: [%s] data: %s\nwant: [%s]\ngot:  [%.*s]\n", src, json ? json : "{}",
            want, (int)gotlen, got ? got : "");
    fail();
  }
}

// Renders successfully (RP_OK, no diagnostics) and gives exactly `want`.
static inline void test_expect(rp_library *lib, const char *path, const char *src, const char *json,
                               const rp_render_opts *opts, const char *want) {
  rp_buf out = RP_BUF_INIT;
  rp_diags d = RP_DIAGS_INIT;
  int rc = test_render(lib, path, src, json, opts, &out, &d);
  if (rc != RP_OK) dump_diags(&d);
  assert_int_equal(rc, RP_OK);
  assert_int_equal(d.n, 0);
  test_check_out(src, json, out.data, out.len, want);
  rp_buf_free(&out);
  rp_diags_free(&d);
}
