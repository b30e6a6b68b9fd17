// Fuzzes the plugin host: a plugin whose source is the input, loaded under
// the sandbox with a small instruction budget and memory cap, then asked
// for what it registered: its tests run, its note types' schemas and
// layouts built, its filters rendered, its lambdas called, and the plugins
// reset. An input that names the SOAP note type or an event (`soap`,
// `rapport.on`) is loaded after the built-in plugins, and a SOAP session is
// built into a note, so that its hooks, or its own SOAP type, run on it.
//
// Plugins are files on a search path (plugins.h has no in-memory way), so
// the input is written to a temporary folder, next to a fixed companion
// plugin it can require.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data.h"
#include "fuzz_common.h"
#include "lua/plugins.h"
#include "notes/notes.h"
#include "schema/schema.h"
#include "template/template.h"
#include "util/buf.h"

enum {
  INPUT_CAP = 16 * 1024,
  MAX_CALLS = 4,  // of each kind of item; each call has the whole budget
  BUDGET = 20000,
};

static char dir[64];
static char plugin_path[96];
static char helper_path[96];
static rp_doc *doc;

static const char helper_src[] =
    "-- A plugin other plugins can require.\n"
    "local M = {}\n"
    "function M.twice(x) return x .. x end\n"
    "rapport.filter('twice', M.twice)\n"
    "return M\n";

// A SOAP session that validates (examples/clinic/sessions/jd-07.yaml).
static const char session_yaml[] =
    "type: soap\n"
    "client: { id: C-1042, initials: J.D. }\n"
    "session: { date: 2026-11-24, number: 7, minutes: 50, modality: video }\n"
    "clinician: { name: Dana Whitfield, credentials: LCSW }\n"
    "subjective: |\n  Client reports sleeping better.\n"
    "objective: Affect congruent.\n"
    "assessment: Moderate progress.\n"
    "plan: Continue.\n"
    "risk: { level: none }\n"
    "alliance:\n  trust: 4\n  empathy: { rating: 5, note: understood }\n"
    "  collaboration: 3\n  respect: 5\n  authenticity: 4\n"
    "measures:\n  srs: [8.5, 9.0, 7.5, 8.0]\n";

static void write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
    perror(path);
    abort();
  }
}

static void cleanup(void) {
  unlink(plugin_path);
  unlink(helper_path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/rapport-fuzz-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror(dir);
    abort();
  }
  snprintf(plugin_path, sizeof plugin_path, "%s/fuzz.lua", dir);
  snprintf(helper_path, sizeof helper_path, "%s/helper.lua", dir);
  write_file(helper_path, helper_src, sizeof helper_src - 1);
  atexit(cleanup);
  doc = rp_doc_new();
  return 0;
}

static bool contains(const uint8_t *data, size_t size, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i + n <= size; i++)
    if (memcmp(data + i, s, n) == 0) return true;
  return false;
}

static void render_filters(rp_plugins *p, rp_diags *d) {
  rp_filters *f = rp_filters_new();
  rp_plugins_add_filters(p, f);
  rp_library_opts lo = {.filters = f};
  rp_library *lib = rp_library_new(&lo);
  rp_doc_reset(doc);
  rp_value globals;
  rp_value root = fuzz_data_tree(doc, &globals);
  size_t n = rp_plugins_item_count(p, RP_ITEM_FILTER);
  for (size_t i = 0; i < n && i < MAX_CALLS; i++) {
    rp_item_info info;
    if (!rp_plugins_item(p, RP_ITEM_FILTER, i, &info)) break;
    rp_buf src = RP_BUF_INIT;
    rp_buf_printf(&src, "{{x | %s}}{{n | %s 1 \"a\"}}{{list | %s}}{{missing | %s}}", info.id,
                  info.id, info.id, info.id);
    rp_template *t = rp_template_compile(lib, "filters.mustache", src.data, src.len, d);
    if (t) {
      fuzz_budget b;
      rp_ctx ctx = fuzz_budget_ctx(&b, doc, root, BUDGET);
      rp_render_opts ro = {.escape = RP_ESCAPE_HTML, .user = p};
      rp_buf out = RP_BUF_INIT;
      rp_template_render(t, &ctx, &ro, &out, d);
      rp_buf_free(&out);
      rp_template_free(t);
    }
    rp_buf_free(&src);
  }
  rp_library_free(lib);
  rp_filters_free(f);
}

// Builds the sample session's note through the pipeline with the plugin
// set p, which the pipeline owns from here on (and frees).
static void build_note(rp_plugins *p, rp_diags *d) {
  rp_workspace no_folders = {0};
  rp_notes_opts no = {.plugins = p};
  rp_notes *n = rp_notes_new(&no_folders, &no, d);
  rp_note note = RP_NOTE_INIT;
  rp_session_src s = {.path = "s.yaml", .text = session_yaml, .len = sizeof session_yaml - 1};
  if (rp_notes_build(n, &s, &note, d) == RP_OK) {
    rp_buf json = RP_BUF_INIT;
    rp_notes_render(n, &note, RP_FMT_JSON, false, &json, d);
    rp_buf_free(&json);
  }
  rp_note_clear(&note);
  rp_notes_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  write_file(plugin_path, data, size);
  bool builtins = contains(data, size, "soap") || contains(data, size, "rapport.on");
  const char *dirs[] = {dir};
  rp_plugins_opts po = {
      .builtins = builtins,
      .dirs = dirs,
      .ndirs = 1,
      .lua = {.memory_limit = 8u << 20, .instruction_budget = 100000},
  };
  rp_diags d = RP_DIAGS_INIT;
  rp_plugins *p = rp_plugins_load(&po, &d);
  rp_plugins_set_print(p, NULL, NULL);

  if (rp_plugins_item_count(p, RP_ITEM_TEST) <= MAX_CALLS) {
    rp_test_result res;
    rp_plugins_run_tests(p, NULL, false, &res, &d);
  }
  size_t n = rp_plugins_item_count(p, RP_ITEM_NOTE_TYPE);
  for (size_t i = 0; i < n && i < MAX_CALLS; i++) {
    rp_item_info info;
    if (!rp_plugins_item(p, RP_ITEM_NOTE_TYPE, i, &info)) break;
    char *id = strdup(info.id);
    rp_schema_free(rp_plugins_schema(p, id));
    free(rp_plugins_layout(p, id));
    free(id);
  }
  render_filters(p, &d);
  n = rp_plugins_item_count(p, RP_ITEM_LAMBDA);
  for (size_t i = 0; i < n && i < MAX_CALLS; i++) {
    rp_buf out = RP_BUF_INIT;
    char *err = NULL;
    rp_plugins_call_lambda(p, i, NULL, 0, &out, &err);
    free(err);
    err = NULL;
    rp_plugins_call_lambda(p, i, "text {{x}}", 10, &out, &err);
    free(err);
    rp_buf_free(&out);
  }
  rp_plugins_reset(p, &d);
  if (builtins)
    build_note(p, &d);  // frees p
  else
    rp_plugins_free(p);
  rp_diags_free(&d);
  return 0;
}
