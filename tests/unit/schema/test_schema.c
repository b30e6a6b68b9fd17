// Tests of note-type schemas and session validation (core/schema/schema.c).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/data.h"
#include "schema/schema.h"

// A SOAP-like schema, written here by hand as a plugin would register it.
static rp_schema *soap_schema(void) {
  rp_schema *s = rp_schema_new("soap", "SOAP note");
  rp_field f;
  memset(&f, 0, sizeof f);
  f = (rp_field){.id = "client.id", .type = RP_FIELD_STRING, .required = true};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "client.initials", .type = RP_FIELD_STRING, .required = true};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "session.date", .type = RP_FIELD_DATE, .required = true};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "session.number", .type = RP_FIELD_INTEGER, .has_min = true, .min = 1};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "session.minutes",
                 .type = RP_FIELD_INTEGER,
                 .has_min = true,
                 .min = 1,
                 .has_max = true,
                 .max = 600};
  rp_schema_add_field(s, &f);
  char *modalities[] = {"in_person", "video", "phone"};
  f = (rp_field){.id = "session.modality",
                 .type = RP_FIELD_ENUM,
                 .values = modalities,
                 .nvalues = 3,
                 .default_text = "in_person"};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "subjective", .type = RP_FIELD_TEXT, .required = true};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "country", .type = RP_FIELD_STRING};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "code", .type = RP_FIELD_STRING};
  rp_schema_add_field(s, &f);
  f = (rp_field){.id = "consent", .type = RP_FIELD_BOOLEAN};
  rp_schema_add_field(s, &f);
  f = (rp_field){
      .id = "trust", .type = RP_FIELD_RATING, .has_min = true, .min = 1, .has_max = true, .max = 5};
  rp_schema_add_field(s, &f);
  rp_field code = {.id = "code", .type = RP_FIELD_STRING, .required = true};
  rp_field label = {.id = "label", .type = RP_FIELD_STRING};
  rp_field dx_fields[] = {code, label};
  rp_field dx_item = {.type = RP_FIELD_OBJECT, .fields = dx_fields, .nfields = 2};
  f = (rp_field){.id = "diagnoses", .type = RP_FIELD_LIST, .items = &dx_item};
  rp_schema_add_field(s, &f);
  rp_schema_add_passthrough(s, "alliance");
  return s;
}

typedef struct run {
  rp_doc *in, *out;
  rp_value typed;
  rp_diags d;
  int rc;
} run;

static void validate(run *r, const char *yaml) {
  rp_schema *s = soap_schema();
  r->in = rp_doc_new();
  r->out = rp_doc_new();
  memset(&r->d, 0, sizeof r->d);
  rp_value root;
  assert_int_equal(rp_yaml_parse_text(r->in, "s.yaml", yaml, strlen(yaml), &r->d, &root), RP_OK);
  r->rc = rp_schema_validate(s, r->in, root, "s.yaml", r->out, &r->typed, &r->d);
  rp_schema_free(s);
}

static void done(run *r) {
  rp_diags_free(&r->d);
  rp_doc_free(r->in);
  rp_doc_free(r->out);
}

static rp_value at(run *r, const char *a, const char *b) {
  rp_value v;
  assert_true(rp_doc_ops.get(r->out, r->typed, a, strlen(a), &v));
  if (b) assert_true(rp_doc_ops.get(r->out, v, b, strlen(b), &v));
  return v;
}

static void assert_text(run *r, rp_value v, const char *want) {
  size_t len;
  assert_int_equal(rp_doc_ops.kind(r->out, v), RP_KIND_STRING);
  const char *s = rp_doc_ops.str(r->out, v, &len);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(s, want, len);
}

static void expect_problem(run *r, int line, int col, const char *msg) {
  for (size_t i = 0; i < r->d.n; i++) {
    if (r->d.items[i].line == line && r->d.items[i].col == col &&
        strcmp(r->d.items[i].msg, msg) == 0)
      return;
  }
  for (size_t i = 0; i < r->d.n; i++)
    fprintf(stderr, "  %d:%d: %s\n", r->d.items[i].line, r->d.items[i].col, r->d.items[i].msg);
  fail_msg("no problem %d:%d: %s", line, col, msg);
}

static const char *const GOOD =
    "type: soap\n"
    "client: { id: C-1042, initials: J.D. }\n"
    "session: { date: 2026-11-24, number: 7, minutes: 50 }\n"
    "subjective: |\n"
    "  Client reports sleeping better.\n"
    "country: no\n"
    "code: 0777\n"
    "consent: true\n"
    "trust: 4\n"
    "diagnoses:\n"
    "  - { code: F41.1, label: Generalized anxiety disorder }\n"
    "alliance: { trust: 4 }\n";

static void test_valid_session_is_typed_by_the_schema(void **state) {
  (void)state;
  run r;
  validate(&r, GOOD);
  assert_int_equal(r.rc, RP_OK);
  assert_int_equal(r.d.n, 0);
  assert_text(&r, at(&r, "client", "initials"), "J.D.");
  assert_text(&r, at(&r, "session", "date"), "2026-11-24");
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "session", "number")), RP_KIND_NUMBER);
  assert_true(rp_doc_ops.number(r.out, at(&r, "session", "number")) == 7);
  // Not YAML 1.1 guessing: the schema says these are text.
  assert_text(&r, at(&r, "country", NULL), "no");
  assert_text(&r, at(&r, "code", NULL), "0777");
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "consent", NULL)), RP_KIND_BOOL);
  // The default fills an absent optional field.
  assert_text(&r, at(&r, "session", "modality"), "in_person");
  // Text keeps its lines, but not the line break that ends every YAML block.
  assert_text(&r, at(&r, "subjective", NULL), "Client reports sleeping better.");
  // Pass-through data (the checklists' and measures' answers) is kept, typed
  // as YAML 1.2 reads unquoted scalars.
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "alliance", "trust")), RP_KIND_NUMBER);
  done(&r);
}

static void test_every_problem_at_its_position(void **state) {
  (void)state;
  run r;
  validate(&r,
           "type: soap\n"                                            // 1
           "client: { id: C-1 }\n"                                   // 2
           "session: { date: 2026-02-30, number: 0, minutes: x }\n"  // 3
           "subjective: fine\n"                                      // 4
           "consent: yes\n"                                          // 5
           "trust: 7\n"                                              // 6
           "feilds: 1\n"                                             // 7
           "diagnoses:\n"                                            // 8
           "  - { label: no code }\n"                                // 9
           "session2: {}\n");                                        // 10
  assert_int_equal(r.rc, RP_EDATA);
  expect_problem(&r, 2, 9, "client.initials is required");
  expect_problem(&r, 3, 18, "session.date must be a date written as YYYY-MM-DD, e.g. 2026-11-24");
  expect_problem(&r, 3, 38, "session.number must be a whole number of at least 1 (got 0)");
  expect_problem(&r, 3, 50, "session.minutes must be a whole number from 1 to 600");
  expect_problem(&r, 5, 10, "consent must be true or false");
  expect_problem(&r, 6, 8, "trust must be a rating from 1 to 5 (got 7)");
  expect_problem(&r, 7, 1, "unknown field 'feilds'");
  expect_problem(&r, 9, 5, "diagnoses[1].code is required");
  expect_problem(&r, 10, 1, "unknown field 'session2'");
  assert_int_equal(r.d.n, 9);
  done(&r);
}

static void test_messages_never_repeat_text(void **state) {
  (void)state;
  run r;
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "session: { date: SECRET-CANARY, number: SECRET-CANARY2 }\n"
           "subjective: x\n"
           "session.modality: SECRET-CANARY3\n");
  assert_int_equal(r.rc, RP_EDATA);
  for (size_t i = 0; i < r.d.n; i++)
    assert_null(strstr(r.d.items[i].msg, "SECRET"));
  done(&r);
}

static void test_absent_and_wrong_shapes(void **state) {
  (void)state;
  run r;
  validate(&r,
           "client: [a, b]\n"
           "session:\n"
           "subjective: ~\n"
           "diagnoses: F41.1\n");
  assert_int_equal(r.rc, RP_EDATA);
  expect_problem(&r, 1, 9, "client must be a group of fields (name: value lines)");
  // A name with nothing after it: the problem is at the name.
  expect_problem(&r, 2, 1, "session.date is required");
  expect_problem(&r, 3, 1, "subjective is required");
  expect_problem(&r, 4, 12, "diagnoses must be a list (items on lines starting with '- ')");
  done(&r);
}

// A skeleton left as `rapport new` writes it: every value slot empty. Each
// required field is reported at its own name, the optional ones (and the
// lists) left empty are absent, and a default fills its field.
static void test_empty_slots_are_reported_at_their_names(void **state) {
  (void)state;
  run r;
  validate(&r,
           "type: soap  # a comment\n"  // 1
           "client:  # a group\n"       // 2
           "  id:  # required\n"        // 3
           "  initials:\n"              // 4
           "session:\n"                 // 5
           "  date: ~\n"                // 6
           "  number:\n"                // 7
           "  minutes:  # optional\n"   // 8
           "  modality:\n"              // 9
           "subjective:  # required\n"  // 10
           "country:\n"                 // 11
           "consent:\n"                 // 12
           "trust:\n"                   // 13
           "diagnoses:  # a list\n"     // 14
           "  # - code:\n"              // 15
           "code:");                    // 16: the last line, without its line break
  assert_int_equal(r.rc, RP_EDATA);
  expect_problem(&r, 3, 3, "client.id is required");
  expect_problem(&r, 4, 3, "client.initials is required");
  expect_problem(&r, 6, 3, "session.date is required");
  expect_problem(&r, 10, 1, "subjective is required");
  assert_int_equal(r.d.n, 4);
  done(&r);

  // Filled in after the colons, it is valid; the empty optional fields are
  // null in the typed session and the default is used.
  validate(&r,
           "type: soap\n"
           "client:\n"
           "  id: C-1042  # required\n"
           "  initials: J.D.\n"
           "session:\n"
           "  date: 2026-11-24\n"
           "  number:\n"
           "  minutes:\n"
           "  modality:\n"
           "subjective: Slept better.  # required\n"
           "country:\n"
           "diagnoses:\n");
  assert_int_equal(r.rc, RP_OK);
  assert_int_equal(r.d.n, 0);
  assert_text(&r, at(&r, "session", "modality"), "in_person");
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "session", "number")), RP_KIND_NULL);
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "diagnoses", NULL)), RP_KIND_NULL);
  done(&r);
}

// An empty group is reported at its name for each required field it lacks;
// a group left out, at the start of the group that should hold it.
static void test_an_empty_group_at_its_name(void **state) {
  (void)state;
  run r;
  validate(&r,
           "type: soap\n"     // 1
           "session:\n"       // 2
           "subjective: x\n"  // 3
           "client:\n"        // 4
           "  id: C-1\n");    // 5
  assert_int_equal(r.rc, RP_EDATA);
  expect_problem(&r, 2, 1, "session.date is required");
  expect_problem(&r, 5, 3, "client.initials is required");
  assert_int_equal(r.d.n, 2);
  done(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_session_is_typed_by_the_schema),
      cmocka_unit_test(test_every_problem_at_its_position),
      cmocka_unit_test(test_messages_never_repeat_text),
      cmocka_unit_test(test_absent_and_wrong_shapes),
      cmocka_unit_test(test_empty_slots_are_reported_at_their_names),
      cmocka_unit_test(test_an_empty_group_at_its_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
