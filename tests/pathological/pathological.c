// Pathological inputs for the template engine, with a bound on time.
//
// Each case builds an extreme template or data set, checks that the engine
// gives the right answer (or a clear error) without crashing, and checks
// CPU time two ways: an absolute bound (generous: 2 s, 10 s under the
// sanitizers), and linearity, by running the case at size N and 4N (the
// best of three runs each) and requiring the second to take less than 8
// times as long whenever it takes long enough (20 ms) to measure. A quadratic algorithm gives a
// ratio near 16 and fails; a linear one gives about 4.
//
// `pathological CASE` runs one case (ctest registers one test per case, see
// CMakeLists.txt); `pathological` alone runs them all. Exit status 0 means
// every case run passed.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/data.h"
#include "template/template.h"

#ifdef RP_SANITIZE
static const double time_bound = 10.0;
#else
static const double time_bound = 2.0;
#endif
static const double measurable = 0.020;
static const double max_ratio = 8.0;

static bool failed;  // set by CHECK; a case stops at its first failure

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      failed = true;                                                           \
      goto done;                                                               \
    }                                                                          \
  } while (0)

// The process's own CPU time, not the wall clock: on a shared machine other
// processes take turns on the cores, and that must not read as a slow engine.
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool has_msg(const rp_diags *d, const char *needle) {
  for (size_t i = 0; i < d->n; i++)
    if (strstr(d->items[i].msg, needle)) return true;
  return false;
}

static void repeat(rp_buf *b, const char *s, size_t times) {
  size_t len = strlen(s);
  rp_buf_grow(b, len * times);
  for (size_t i = 0; i < times; i++)
    rp_buf_add(b, s, len);
}

// Compiles and renders `src` against `root` of `doc` (NULL: an empty map),
// timing both. Returns the render status, or INT_MIN when compiling failed.
typedef struct run {
  rp_buf out;
  rp_diags diags;
  double secs;
  int rc;
  bool compiled;
} run;

static void run_free(run *r) {
  rp_buf_free(&r->out);
  rp_diags_free(&r->diags);
}

static run render_timed(rp_library *lib, const char *src, size_t len, rp_doc *doc, rp_value root) {
  run r = {RP_BUF_INIT, RP_DIAGS_INIT, 0, 0, false};
  rp_doc *own = NULL;
  if (!doc) {
    own = doc = rp_doc_new();
    root = rp_doc_map(doc);
  }
  double t0 = now();
  rp_template *t = rp_template_compile(lib, "p.mustache", src, len, &r.diags);
  if (t) {
    r.compiled = true;
    rp_ctx ctx = rp_doc_ctx(doc, root);
    r.rc = rp_template_render(t, &ctx, NULL, &r.out, &r.diags);
    rp_template_free(t);
  }
  r.secs = now() - t0;
  rp_doc_free(own);
  return r;
}

// A case at one size: does its checks and returns the seconds it measured.
typedef double (*sized_fn)(size_t n);

// The fastest of `runs` runs of fn(n): other processes on a busy machine
// only ever add time, so the minimum is the engine's own. Stops early once a
// run takes `enough` seconds, since more runs would not change the verdict.
static double best_of(sized_fn fn, size_t n, int runs, double enough) {
  double best = fn(n);
  for (int i = 1; i < runs && !failed && best < enough; i++) {
    double t = fn(n);
    if (t < best) best = t;
  }
  return best;
}

// Runs fn at n and 4n and checks the time bound and linearity.
static void linear(const char *name, sized_fn fn, size_t n) {
  double t1 = best_of(fn, n, 3, time_bound / 5);
  if (failed) return;
  // A linear engine would take about 4 * t1 at 4n; past a fifth of the
  // bound that is a failure already, and a quadratic one could run for
  // minutes, so stop here.
  if (t1 > time_bound / 5) {
    fprintf(stderr, "%s: %.3f s at n=%zu already; 4x the input cannot stay under %.1f s\n", name,
            t1, n, time_bound);
    failed = true;
    return;
  }
  double t4 = best_of(fn, 4 * n, 3, time_bound);
  if (failed) return;
  fprintf(stderr, "%s: n=%zu %.4f s, n=%zu %.4f s (best of 3)\n", name, n, t1, 4 * n, t4);
  if (t4 >= time_bound) {
    fprintf(stderr, "%s: %.3f s at n=%zu, over the bound of %.1f s\n", name, t4, 4 * n, time_bound);
    failed = true;
  }
  // Below `measurable` the clock and the allocator are all one sees.
  if (t4 > measurable && t4 / (t1 > 1e-6 ? t1 : 1e-6) >= max_ratio) {
    fprintf(stderr, "%s: 4x the input took %.1fx the time: not linear\n", name, t4 / t1);
    failed = true;
  }
}

static void bounded(const char *name, double secs) {
  fprintf(stderr, "%s: %.4f s\n", name, secs);
  if (secs >= time_bound) {
    fprintf(stderr, "%s: %.3f s, over the bound of %.1f s\n", name, secs, time_bound);
    failed = true;
  }
}

// --- the cases ----------------------------------------------------------------

// n nested sections, each printing a bracket around the next.
static double deep_sections(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, rp_doc_bool(doc, true));
  rp_buf src = RP_BUF_INIT, want = RP_BUF_INIT;
  repeat(&src, "{{#a}}<", n);
  rp_buf_adds(&src, "{{x}}");
  repeat(&src, ">{{/a}}", n);
  repeat(&want, "<", n);
  repeat(&want, ">", n);
  run r = render_timed(lib, src.data, src.len, doc, root);
  CHECK(r.compiled && r.rc == RP_OK, "n=%zu", n);
  CHECK(r.out.len == want.len && memcmp(r.out.data, want.data, want.len) == 0, "wrong output");
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_buf_free(&want);
  rp_doc_free(doc);
  rp_library_free(lib);
  return r.secs;
}

static void case_deep_sections(void) {
  linear("500 nested sections", deep_sections, 125);
}

// n nested openings and closings: refused at the 513th opening.
static double deep_nesting(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_buf src = RP_BUF_INIT;
  repeat(&src, "{{#a}}", n);
  repeat(&src, "{{/a}}", n);
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  CHECK(!r.compiled, "a template nested %zu deep compiled", n);
  CHECK(has_msg(&r.diags, "nested deeper than"), "no nesting error");
  CHECK(r.diags.n >= 1 && r.diags.items[0].line == 1 && r.diags.items[0].col == 512 * 6 + 1,
        "the first error is at %d:%d", r.diags.n ? r.diags.items[0].line : 0,
        r.diags.n ? r.diags.items[0].col : 0);
  CHECK(r.diags.n <= 1000, "%zu diagnostics", r.diags.n);
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return r.secs;
}

static void case_deep_nesting(void) {
  linear("100,000 nested sections", deep_nesting, 25000);
}

// A tag whose name is n bytes long, found in the data.
static double huge_tag_name(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  char *name = malloc(n);
  memset(name, 'k', n);
  rp_doc_map_set(doc, root, name, n, rp_doc_string(doc, "ok", 2));
  rp_buf src = RP_BUF_INIT;
  rp_buf_adds(&src, "[{{");
  rp_buf_add(&src, name, n);
  rp_buf_adds(&src, "}}|{{");
  // The same length of dotted name: n/2 parts, none of them there.
  for (size_t i = 0; i < n / 2; i++)
    rp_buf_adds(&src, "k.");
  rp_buf_adds(&src, "k}}]");
  run r = render_timed(lib, src.data, src.len, doc, root);
  CHECK(r.compiled && r.rc == RP_OK, "n=%zu", n);
  CHECK(strcmp(r.out.data, "[ok|]") == 0, "got %.20s", r.out.data);
  run_free(&r);

  // A space at the end of a huge name: reported at the space's column.
  rp_buf_clear(&src);
  rp_buf_adds(&src, "{{");
  rp_buf_add(&src, name, n);
  rp_buf_adds(&src, " x}}");
  run e = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  r.secs += e.secs;
  bool ok = !e.compiled && e.diags.n == 1 && e.diags.items[0].col == (int)n + 3;
  run_free(&e);
  CHECK(ok, "the space after a name of %zu bytes is not reported at column %zu", n, n + 3);
done:
  run_free(&r);
  rp_buf_free(&src);
  free(name);
  rp_doc_free(doc);
  rp_library_free(lib);
  return r.secs;
}

static void case_huge_tag_name(void) {
  linear("1 MB tag name", huge_tag_name, 256 * 1024);
}

// n bytes of text without a tag, in 80-column lines, and n bytes without a
// newline, and n bytes of lone braces.
static double huge_text(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_buf src = RP_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    rp_buf_addc(&src, i % 80 == 79 ? '\n' : (char)('a' + i % 26));
  double secs = 0;
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  secs += r.secs;
  CHECK(r.compiled && r.rc == RP_OK, "lines");
  CHECK(r.out.len == src.len && memcmp(r.out.data, src.data, src.len) == 0, "lines changed");
  run_free(&r);
  for (size_t i = 0; i < n; i++)
    src.data[i] = (char)('a' + i % 26);
  r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  secs += r.secs;
  CHECK(r.compiled && r.out.len == src.len && memcmp(r.out.data, src.data, src.len) == 0,
        "one line changed");
  run_free(&r);
  for (size_t i = 0; i < n; i++)
    src.data[i] = i % 2 ? '{' : 'x';
  r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  secs += r.secs;
  CHECK(r.compiled && r.out.len == src.len && memcmp(r.out.data, src.data, src.len) == 0,
        "braces changed");
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return secs;
}

static void case_huge_text(void) {
  linear("1 MB of text", huge_text, 256 * 1024);
}

// n interpolations in one template, on one line and one per line.
static double many_tags(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "x", 1, rp_doc_string(doc, "<", 1));
  rp_buf src = RP_BUF_INIT;
  repeat(&src, "{{x}}", n);
  double secs = 0;
  run r = render_timed(lib, src.data, src.len, doc, root);
  secs += r.secs;
  CHECK(r.compiled && r.rc == RP_OK && r.out.len == 4 * n, "one line");
  CHECK(memcmp(r.out.data + 4 * (n - 1), "&lt;", 4) == 0, "not escaped");
  run_free(&r);
  // Standalone lines: every line removed.
  rp_buf_clear(&src);
  repeat(&src, "  {{#x}}\n{{/x}}\n", n / 2);
  r = render_timed(lib, src.data, src.len, doc, root);
  secs += r.secs;
  CHECK(r.compiled && r.rc == RP_OK && r.out.len == 0, "standalone lines: %zu bytes", r.out.len);
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_doc_free(doc);
  rp_library_free(lib);
  return secs;
}

static void case_many_tags(void) {
  linear("100,000 tags", many_tags, 25000);
}

// n delimiter changes back and forth.
static double delimiter_changes(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_buf src = RP_BUF_INIT;
  repeat(&src, "{{=<% %>=}}.<%={{ }}=%>", n / 2);
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  CHECK(r.compiled && r.rc == RP_OK && r.out.len == n / 2, "%zu bytes", r.out.len);
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return r.secs;
}

static void case_delimiter_changes(void) {
  linear("100,000 delimiter changes", delimiter_changes, 25000);
}

// A loader making p0 -> p1 -> ... -> p<last>.
static int chain_loader(void *ud, const char *name, size_t namelen, char **src, size_t *srclen,
                        char **path, rp_diags *diags) {
  int last = *(int *)ud;
  if (namelen < 2 || name[0] != 'p') return 0;
  int i = atoi(name + 1);
  char buf[64];
  int len = i < last ? snprintf(buf, sizeof buf, "%d,{{>p%d}}", i, i + 1)
                     : snprintf(buf, sizeof buf, "%d.", i);
  *src = malloc((size_t)len + 1);
  memcpy(*src, buf, (size_t)len + 1);
  *srclen = (size_t)len;
  *path = malloc(namelen + 1);
  memcpy(*path, name, namelen);
  (*path)[namelen] = '\0';
  return 1;
}

static void case_partial_chain(void) {
  int last = 149;
  rp_library_opts o = {.loader = chain_loader, .loader_ud = &last};
  rp_library *lib = rp_library_new(&o);
  rp_buf want = RP_BUF_INIT;
  for (int i = 0; i < last; i++)
    rp_buf_printf(&want, "%d,", i);
  rp_buf_printf(&want, "%d.", last);
  run r = render_timed(lib, "{{>p0}}", 7, NULL, (rp_value){0});
  CHECK(r.compiled && r.rc == RP_OK, "rc %d", r.rc);
  CHECK(strcmp(r.out.data, want.data) == 0, "got %.40s", r.out.data);
  bounded("150 partials in a chain", r.secs);
done:
  run_free(&r);
  rp_buf_free(&want);
  rp_library_free(lib);
}

static void case_recursive_partial(void) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *p = "x{{#a}}{{>p}}{{/a}}";
  rp_library_add(lib, "p", "p.mustache", p, strlen(p), &d);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, rp_doc_bool(doc, true));
  run r = render_timed(lib, "{{>p}}", 6, doc, root);
  CHECK(r.compiled && r.rc == RP_ELIMIT, "rc %d", r.rc);
  CHECK(has_msg(&r.diags, "nested deeper than"), "no depth error");
  bounded("a partial including itself", r.secs);
done:
  run_free(&r);
  rp_diags_free(&d);
  rp_doc_free(doc);
  rp_library_free(lib);
}

// The two depth limits at once: 500 nested sections in a partial that
// includes itself inside them, so the renderer recurses through 200
// partials of 500 sections each. It must end with the depth error, not
// overflow the stack.
static void case_recursive_deep_partial(void) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  rp_buf p = RP_BUF_INIT;
  repeat(&p, "{{#a}}", 500);
  rp_buf_adds(&p, "{{>p}}");
  repeat(&p, "{{/a}}", 500);
  rp_template *pt = rp_library_add(lib, "p", "p.mustache", p.data, p.len, &d);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, rp_doc_bool(doc, true));
  run r = {RP_BUF_INIT, RP_DIAGS_INIT, 0, 0, false};
  CHECK(pt != NULL, "p does not compile");
  r = render_timed(lib, "{{>p}}", 6, doc, root);
  CHECK(r.compiled && r.rc == RP_ELIMIT, "rc %d", r.rc);
  CHECK(has_msg(&r.diags, "nested deeper than"), "no depth error");
  bounded("200 partials of 500 sections", r.secs);
done:
  run_free(&r);
  rp_buf_free(&p);
  rp_diags_free(&d);
  rp_doc_free(doc);
  rp_library_free(lib);
}

// n openings that never close, in three spellings.
static double unclosed_tags(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  const char *const forms[] = {"{{", "{{x", "a{{{b}}\n"};
  double secs = 0;
  rp_buf src = RP_BUF_INIT;
  run r = {RP_BUF_INIT, RP_DIAGS_INIT, 0, 0, false};
  for (size_t f = 0; f < 3; f++) {
    rp_buf_clear(&src);
    repeat(&src, forms[f], n);
    r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
    secs += r.secs;
    CHECK(!r.compiled && r.diags.n >= 1 && r.diags.n <= 1000, "form %zu: %zu diagnostics", f,
          r.diags.n);
    CHECK(has_msg(&r.diags, "unclosed tag"), "form %zu: no unclosed tag error", f);
    CHECK(r.diags.items[0].line == 1 && r.diags.items[0].col == (f == 2 ? 2 : 1),
          "form %zu: at %d:%d", f, r.diags.items[0].line, r.diags.items[0].col);
    run_free(&r);
  }
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return secs;
}

static void case_unclosed_tags(void) {
  linear("200,000 unclosed tags", unclosed_tags, 50000);
}

// n sections left open, each closed over by its outer section's closing
// tag, so that every one is an error: the count is exact, the stored
// diagnostics stop at the limit.
static double unclosed_sections(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_buf src = RP_BUF_INIT;
  repeat(&src, "{{#a}}{{#b}}{{/a}}", n);
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  CHECK(!r.compiled, "compiled");
  CHECK(r.diags.errors == n, "%zu errors, want %zu", r.diags.errors, n);
  CHECK(r.diags.n == 1000 && r.diags.dropped == n - 1000, "%zu stored, %zu dropped", r.diags.n,
        r.diags.dropped);
  CHECK(r.diags.items[999].col == 999 * 18 + 7, "the 1000th is at column %d",
        r.diags.items[999].col);
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return r.secs;
}

static void case_unclosed_sections(void) {
  linear("50,000 unclosed sections", unclosed_sections, 12500);
}

// One tag with n filters that do not exist: every one is an error, and
// finding their columns must not rescan the tag each time.
static double unknown_filters(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_buf src = RP_BUF_INIT;
  rp_buf_adds(&src, "{{x");
  repeat(&src, "|zz", n);
  rp_buf_adds(&src, "}}");
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  CHECK(!r.compiled && r.diags.errors == n, "%zu errors", r.diags.errors);
  CHECK(r.diags.items[999].col == 3 + 999 * 3 + 2, "the 1000th is at column %d",
        r.diags.items[999].col);
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return r.secs;
}

static void case_unknown_filters(void) {
  linear("100,000 unknown filters in one tag", unknown_filters, 25000);
}

// n partial tags, each naming a different partial that does not exist.
static double many_partial_names(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_buf src = RP_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    rp_buf_printf(&src, "{{>p%zu}}", i);
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  CHECK(r.compiled && r.rc == RP_OK && r.out.len == 0, "rc %d", r.rc);
done:
  run_free(&r);
  rp_buf_free(&src);
  rp_library_free(lib);
  return r.secs;
}

static void case_many_partial_names(void) {
  linear("100,000 partial names", many_partial_names, 25000);
}

// A parent with n blocks, all overridden.
static double many_blocks(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  rp_buf parent = RP_BUF_INIT, src = RP_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    rp_buf_printf(&parent, "{{$b%zu}}-{{/b%zu}}", i, i);
  rp_library_add(lib, "parent", "parent.mustache", parent.data, parent.len, &d);
  rp_buf_adds(&src, "{{<parent}}");
  for (size_t i = 0; i < n; i++)
    rp_buf_printf(&src, "{{$b%zu}}+{{/b%zu}}", i, i);
  rp_buf_adds(&src, "{{/parent}}");
  run r = render_timed(lib, src.data, src.len, NULL, (rp_value){0});
  CHECK(r.compiled && r.rc == RP_OK && r.out.len == n, "rc %d, %zu bytes", r.rc, r.out.len);
  CHECK(r.out.data[0] == '+' && r.out.data[n - 1] == '+', "not overridden");
done:
  run_free(&r);
  rp_buf_free(&parent);
  rp_buf_free(&src);
  rp_diags_free(&d);
  rp_library_free(lib);
  return r.secs;
}

static void case_many_blocks(void) {
  linear("20,000 blocks", many_blocks, 5000);
}

// 64 levels of data, the most the loaders accept, read through 63 nested
// sections and through a 64-part dotted name; and a 64-deep list printed.
static void case_deep_data(void) {
  rp_library *lib = rp_library_new(NULL);
  rp_doc *doc = rp_doc_new();
  rp_diags d = RP_DIAGS_INIT;
  rp_buf json = RP_BUF_INIT, src = RP_BUF_INIT;
  run r = {RP_BUF_INIT, RP_DIAGS_INIT, 0, 0, false};
  rp_value root;
  rp_buf_adds(&json, "{\"top\":\"T\",\"a\":");
  repeat(&json, "{\"a\":", 62);
  rp_buf_adds(&json, "{\"v\":\"deep\"}");
  repeat(&json, "}", 62);
  rp_buf_adds(&json, "}");
  int rc = rp_json_parse(doc, "deep.json", json.data, json.len, &d, &root);
  CHECK(rc == RP_OK, "64 levels of JSON refused");
  repeat(&src, "{{#a}}", 63);
  rp_buf_adds(&src, "{{v}}{{top}}");
  repeat(&src, "{{/a}}", 63);
  rp_buf_adds(&src, "|{{");
  repeat(&src, "a.", 63);
  rp_buf_adds(&src, "v}}");
  r = render_timed(lib, src.data, src.len, doc, root);
  CHECK(r.compiled && r.rc == RP_OK, "rc %d", r.rc);
  CHECK(strcmp(r.out.data, "deepT|deep") == 0, "got %s", r.out.data);
  double secs = r.secs;
  run_free(&r);

  rp_value list;
  rp_buf_clear(&json);
  repeat(&json, "[", 63);
  rp_buf_adds(&json, "[1,2]");
  repeat(&json, "]", 63);
  rc = rp_json_parse(doc, "list.json", json.data, json.len, &d, &list);
  CHECK(rc == RP_OK, "a 64-deep list refused");
  rp_value m = rp_doc_map(doc);
  rp_doc_map_set(doc, m, "l", 1, list);
  r = render_timed(lib, "{{l}}", 5, doc, m);
  CHECK(r.compiled && r.rc == RP_OK && strcmp(r.out.data, "1,2") == 0, "got %s", r.out.data);
  bounded("64 levels of data", secs + r.secs);
done:
  run_free(&r);
  rp_buf_free(&json);
  rp_buf_free(&src);
  rp_diags_free(&d);
  rp_doc_free(doc);
  rp_library_free(lib);
}

// A section over a list of n numbers.
static double huge_list(size_t n) {
  rp_library *lib = rp_library_new(NULL);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_value xs = rp_doc_list(doc);
  for (size_t i = 0; i < n; i++)
    rp_doc_list_push(doc, xs, rp_doc_number(doc, (double)i));
  rp_doc_map_set(doc, root, "xs", 2, xs);
  rp_buf want = RP_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    rp_buf_printf(&want, "%zu,", i);
  const char *src = "{{#xs}}{{.}},{{/xs}}";
  run r = render_timed(lib, src, strlen(src), doc, root);
  CHECK(r.compiled && r.rc == RP_OK, "rc %d", r.rc);
  CHECK(r.out.len == want.len && memcmp(r.out.data, want.data, want.len) == 0, "wrong output");
done:
  run_free(&r);
  rp_buf_free(&want);
  rp_doc_free(doc);
  rp_library_free(lib);
  return r.secs;
}

static void case_huge_list(void) {
  linear("a list of 1,000,000", huge_list, 250000);
}

// {"a": {"a": ... {"a": false}}}, `levels` maps deep.
static rp_value nested_a(rp_doc *doc, int levels) {
  rp_value v = rp_doc_bool(doc, false);
  for (int i = 0; i < levels; i++) {
    rp_value m = rp_doc_map(doc);
    rp_doc_map_set(doc, m, "a", 1, v);
    v = m;
  }
  return v;
}

// A partial that includes itself twice inside a section, over data 40
// levels deep: 2^40 expansions with no output and no nesting past 40. The
// render's work bound stops it, at the partial tag.
static void case_doubling_partials(void) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  const char *p = "{{#a}}{{>p}}{{>p}}{{/a}}";
  rp_library_add(lib, "p", "p.mustache", p, strlen(p), &d);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, nested_a(doc, 40));
  run r = render_timed(lib, "{{>p}}", 6, doc, root);
  CHECK(r.compiled && r.rc == RP_ELIMIT, "rc %d", r.rc);
  CHECK(has_msg(&r.diags, "steps"), "no work error");
  CHECK(r.diags.n == 1 && strcmp(r.diags.items[0].path, "p.mustache") == 0 &&
            r.diags.items[0].line == 1 && r.diags.items[0].col > 1,
        "not at a tag of p.mustache");
  bounded("2^40 partial expansions", r.secs);
done:
  run_free(&r);
  rp_diags_free(&d);
  rp_doc_free(doc);
  rp_library_free(lib);
}

// The same with a kilobyte of text per expansion: the output bound stops it
// long before the work bound would.
static void case_doubling_output(void) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  rp_buf p = RP_BUF_INIT;
  rp_buf_adds(&p, "{{#a}}{{>p}}{{>p}}{{/a}}");
  repeat(&p, "0123456789abcdef", 64);
  rp_library_add(lib, "p", "p.mustache", p.data, p.len, &d);
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, nested_a(doc, 40));
  run r = render_timed(lib, "{{>p}}", 6, doc, root);
  CHECK(r.compiled && r.rc == RP_ELIMIT, "rc %d", r.rc);
  CHECK(has_msg(&r.diags, "the output passes 256 MiB"), "no output error");
  CHECK(r.out.len <= RP_RENDER_MAX_OUTPUT + 4096, "wrote %zu bytes", r.out.len);
  bounded("2^40 kilobytes", r.secs);
done:
  run_free(&r);
  rp_buf_free(&p);
  rp_diags_free(&d);
  rp_doc_free(doc);
  rp_library_free(lib);
}

// A context of one lambda, `l`, that returns a template calling it twice
// inside {{#a}} over 40 levels of `a` (read from a data tree): 2^40 calls.
typedef struct lambda_ctx {
  rp_doc *doc;
  long calls;
} lambda_ctx;

static const rp_value the_lambda = {NULL, (uintptr_t)-1};

static bool is_lambda(rp_value v) {
  return v.p == NULL && v.n == (uintptr_t)-1;
}
static rp_kind lx_kind(void *ud, rp_value v) {
  return is_lambda(v) ? RP_KIND_LAMBDA : rp_doc_ops.kind(((lambda_ctx *)ud)->doc, v);
}
static bool lx_get(void *ud, rp_value m, const char *k, size_t n, rp_value *out) {
  if (is_lambda(m)) return false;
  if (n == 1 && k[0] == 'l') {
    *out = the_lambda;
    return true;
  }
  return rp_doc_ops.get(((lambda_ctx *)ud)->doc, m, k, n, out);
}
static size_t lx_len(void *ud, rp_value v) {
  return is_lambda(v) ? 0 : rp_doc_ops.len(((lambda_ctx *)ud)->doc, v);
}
static rp_value lx_at(void *ud, rp_value v, size_t i) {
  return rp_doc_ops.at(((lambda_ctx *)ud)->doc, v, i);
}
static const char *lx_str(void *ud, rp_value v, size_t *len) {
  return is_lambda(v) ? NULL : rp_doc_ops.str(((lambda_ctx *)ud)->doc, v, len);
}
static double lx_number(void *ud, rp_value v) {
  return rp_doc_ops.number(((lambda_ctx *)ud)->doc, v);
}
static bool lx_boolean(void *ud, rp_value v) {
  return rp_doc_ops.boolean(((lambda_ctx *)ud)->doc, v);
}
static int lx_call(void *ud, rp_value fn, const char *text, size_t len, rp_buf *out,
                   char **errmsg) {
  (void)fn, (void)text, (void)len, (void)errmsg;
  ((lambda_ctx *)ud)->calls++;
  rp_buf_adds(out, "{{#a}}{{#l}}{{/l}}{{#l}}{{/l}}{{/a}}");
  return RP_OK;
}
static const rp_ctx_ops lambda_ops = {lx_kind,   lx_get,     lx_len,  lx_at, lx_str,
                                      lx_number, lx_boolean, lx_call, NULL,  NULL};

static void case_doubling_lambda(void) {
  rp_library *lib = rp_library_new(NULL);
  rp_diags d = RP_DIAGS_INIT;
  rp_doc *doc = rp_doc_new();
  rp_value root = rp_doc_map(doc);
  rp_doc_map_set(doc, root, "a", 1, nested_a(doc, 40));
  lambda_ctx lc = {doc, 0};
  const char *src = "\n  {{#l}}{{/l}}";
  double t0 = now();
  rp_template *t = rp_template_compile(lib, "p.mustache", src, strlen(src), &d);
  CHECK(t != NULL, "does not compile");
  rp_ctx ctx = {&lambda_ops, &lc, root};
  rp_buf out = RP_BUF_INIT;
  int rc = rp_template_render(t, &ctx, NULL, &out, &d);
  double secs = now() - t0;
  rp_buf_free(&out);
  rp_template_free(t);
  CHECK(rc == RP_ELIMIT, "rc %d", rc);
  CHECK(has_msg(&d, "steps"), "no work error");
  CHECK(lc.calls <= (long)(RP_RENDER_MAX_WORK / RP_RENDER_LAMBDA_COST) + 1, "%ld calls", lc.calls);
  // Reported at the lambda's tag, line 2 column 3, not inside its expansion.
  CHECK(d.n == 1 && strcmp(d.items[0].path, "p.mustache") == 0 && d.items[0].line == 2 &&
            d.items[0].col == 3,
        "not at p.mustache:2:3");
  bounded("2^40 lambda calls", secs);
done:
  rp_diags_free(&d);
  rp_doc_free(doc);
  rp_library_free(lib);
}

static const struct {
  const char *name;
  void (*fn)(void);
} cases[] = {
    {"deep_sections", case_deep_sections},
    {"deep_nesting", case_deep_nesting},
    {"huge_tag_name", case_huge_tag_name},
    {"huge_text", case_huge_text},
    {"many_tags", case_many_tags},
    {"delimiter_changes", case_delimiter_changes},
    {"partial_chain", case_partial_chain},
    {"recursive_partial", case_recursive_partial},
    {"recursive_deep_partial", case_recursive_deep_partial},
    {"unclosed_tags", case_unclosed_tags},
    {"unclosed_sections", case_unclosed_sections},
    {"unknown_filters", case_unknown_filters},
    {"many_partial_names", case_many_partial_names},
    {"many_blocks", case_many_blocks},
    {"deep_data", case_deep_data},
    {"huge_list", case_huge_list},
    {"doubling_partials", case_doubling_partials},
    {"doubling_output", case_doubling_output},
    {"doubling_lambda", case_doubling_lambda},
};

int main(int argc, char **argv) {
  size_t ncases = sizeof cases / sizeof *cases;
  int bad = 0, ran = 0;
  for (size_t i = 0; i < ncases; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
    failed = false;
    cases[i].fn();
    ran++;
    if (failed) {
      fprintf(stderr, "FAIL %s\n", cases[i].name);
      bad++;
    }
  }
  if (ran == 0) {
    fprintf(stderr, "pathological: no case named '%s'\n", argc > 1 ? argv[1] : "");
    return 2;
  }
  return bad ? 1 : 0;
}
