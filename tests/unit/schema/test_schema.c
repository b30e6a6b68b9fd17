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

// Whether the typed session has a (and, when b is given, a.b).
static bool has(run *r, const char *a, const char *b) {
  rp_value v;
  if (!rp_doc_ops.get(r->out, r->typed, a, strlen(a), &v)) return false;
  return !b || rp_doc_ops.get(r->out, v, b, strlen(b), &v);
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
  expect_problem(&r, 3, 18, "session.date is not a day of February 2026 (it has 28 days)");
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

// After problems the typed session still holds every field that validated,
// for the stages after validation (rules, checklists, measures) to check;
// the values with a problem are left out, never passed on as they were.
static void test_what_validated_is_kept_and_bad_values_left_out(void **state) {
  (void)state;
  run r;
  validate(&r,
           "type: soap\n"
           "client: { id: C-1, initials: J.D. }\n"
           "session: { date: 2026-13-01, number: 7, minutes: 9999, modality: Video }\n"
           "subjective: fine\n"
           "consent: maybe\n"
           "trust: 4\n"
           "country: [a]\n"
           "diagnoses:\n"
           "  - { code: F41.1 }\n"
           "  - { label: no code }\n"
           "alliance: { trust: 4 }\n");
  assert_int_equal(r.rc, RP_EDATA);
  assert_int_equal(r.d.n, 6);
  assert_int_equal(rp_doc_ops.kind(r.out, r.typed), RP_KIND_MAP);
  // What validated is typed as in a valid session.
  assert_text(&r, at(&r, "client", "initials"), "J.D.");
  assert_text(&r, at(&r, "subjective", NULL), "fine");
  assert_true(rp_doc_ops.number(r.out, at(&r, "session", "number")) == 7);
  assert_true(rp_doc_ops.number(r.out, at(&r, "trust", NULL)) == 4);
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "alliance", "trust")), RP_KIND_NUMBER);
  // The bad values are not there at all: not the text as written, not null.
  assert_false(has(&r, "session", "date"));
  assert_false(has(&r, "session", "minutes"));
  assert_false(has(&r, "session", "modality"));
  assert_false(has(&r, "consent", NULL));
  assert_false(has(&r, "country", NULL));
  // A list with a bad item is left out whole: a rule reading diagnoses[2]
  // must not be handed another item under that number.
  assert_false(has(&r, "diagnoses", NULL));
  // An absent optional field without a default is null, as always.
  assert_int_equal(rp_doc_ops.kind(r.out, at(&r, "code", NULL)), RP_KIND_NULL);
  done(&r);
}

// A date written right whose day its month lacks is not a slip of the
// format: the message names the month (leap years counted).
static void test_a_day_the_month_lacks(void **state) {
  (void)state;
  run r;
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "subjective: x\n"
           "session: { date: 2026-02-29 }\n");
  expect_problem(&r, 3, 18, "session.date is not a day of February 2026 (it has 28 days)");
  assert_int_equal(r.d.n, 1);
  done(&r);
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "subjective: x\n"
           "session: { date: 2028-02-29 }\n");
  assert_int_equal(r.rc, RP_OK);
  done(&r);
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "subjective: x\n"
           "session: { date: 2026-04-31 }\n");
  expect_problem(&r, 3, 18, "session.date is not a day of April 2026 (it has 30 days)");
  done(&r);
  // Not a date written right at all: the format is what is wrong.
  static const char *const wrong[] = {"2026-13-01", "2026-00-10", "2026-01-32",
                                      "2026-1-05",  "27/11/2026", "2026-02-30x"};
  for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
    char yaml[200];
    snprintf(yaml, sizeof yaml,
             "client: { id: C-1, initials: J.D. }\nsubjective: x\nsession: { date: '%s' }\n",
             wrong[i]);
    validate(&r, yaml);
    expect_problem(&r, 3, 18, "session.date must be a date written as YYYY-MM-DD, e.g. 2026-11-24");
    done(&r);
  }
}

// A plain key no field has gets the nearest known name, when one is near;
// the required field it stands for is reported at the misspelt key.
static void test_a_misspelt_field_gets_the_name_it_means(void **state) {
  (void)state;
  run r;
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"  // 1
           "session: { dtae: 2026-11-24 }\n"        // 2
           "subjetcive: fine\n"                     // 3
           "Consent: true\n"                        // 4
           "turst: 4\n"                             // 5
           "homework: [a]\n");                      // 6
  assert_int_equal(r.rc, RP_EDATA);
  expect_problem(&r, 2, 12, "unknown field 'session.dtae' (did you mean 'session.date'?)");
  expect_problem(&r, 2, 12, "session.date is required");
  expect_problem(&r, 3, 1, "unknown field 'subjetcive' (did you mean 'subjective'?)");
  expect_problem(&r, 3, 1, "subjective is required");
  expect_problem(&r, 4, 1, "unknown field 'Consent' (did you mean 'consent'?)");
  expect_problem(&r, 5, 1, "unknown field 'turst' (did you mean 'trust'?)");
  // Far from every name: no guess.
  expect_problem(&r, 6, 1, "unknown field 'homework'");
  assert_int_equal(r.d.n, 7);
  done(&r);
  // A name the group has already is not suggested for a second key.
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "session: { date: 2026-11-24 }\n"
           "subjective: fine\n"
           "subjectiv: more\n");
  expect_problem(&r, 4, 1, "unknown field 'subjectiv'");
  assert_int_equal(r.d.n, 1);
  done(&r);
}

// An enum value in another case, or near a value, says so.
static void test_enum_value_case_and_near_misses(void **state) {
  (void)state;
  run r;
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "subjective: x\n"
           "session: { date: 2026-11-24, modality: VIDEO }\n");
  expect_problem(&r, 3, 40, "session.modality must be 'video', written in exactly that case");
  assert_int_equal(r.d.n, 1);
  done(&r);
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "subjective: x\n"
           "session: { date: 2026-11-24, modality: vidoe }\n");
  expect_problem(&r, 3, 40,
                 "session.modality must be in_person, video or phone (did you mean 'video'?)");
  done(&r);
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"
           "subjective: x\n"
           "session: { date: 2026-11-24, modality: zoom }\n");
  expect_problem(&r, 3, 40, "session.modality must be in_person, video or phone");
  done(&r);
}

// A line of the session's text that YAML read as a key (indented wrongly,
// with a colon in it) may hold health information: it is "an unknown
// field" at its line and column, never shown.
static void test_a_key_that_is_text_is_never_shown(void **state) {
  (void)state;
  run r;
  validate(&r,
           "client: { id: C-1, initials: J.D. }\n"                    // 1
           "session: { date: 2026-11-24 }\n"                          // 2
           "subjective: fine\n"                                       // 3
           "SECRET disclosed abuse by her uncle: passive ideation\n"  // 4
           "client2:\n"                                               // 5
           "  x: 1\n"                                                 // 6
           "diagnoses:\n"                                             // 7
           "  - code: F41.1\n"                                        // 8
           "    SECRET Mentioned the uncle again: yes\n"              // 9
           "\"SECRET, quoted\": 1\n"                                  // 10
           "SECRET\u00e9t\u00e9: 1\n");                               // 11
  assert_int_equal(r.rc, RP_EDATA);
  expect_problem(&r, 4, 1,
                 "an unknown field (if this line is text, it belongs in a text field, after "
                 "'|')");
  expect_problem(&r, 9, 5,
                 "an unknown field in diagnoses[1] (if this line is text, it belongs in a text "
                 "field, after '|')");
  expect_problem(&r, 5, 1, "unknown field 'client2'");  // client is there already
  assert_int_equal(r.d.n, 5);
  for (size_t i = 0; i < r.d.n; i++) {
    assert_null(strstr(r.d.items[i].msg, "SECRET"));
    assert_null(strstr(r.d.items[i].msg, "uncle"));
  }
  done(&r);
}

// A field that owns everything it points to, as the Lua side builds one.
static rp_field owned_field(const char *id) {
  rp_field f = {.id = rp_xstrndup(id, strlen(id)), .type = RP_FIELD_LIST};
  f.label = rp_xstrndup("Label", 5);
  f.default_text = rp_xstrndup("x", 1);
  f.items = rp_xcalloc(1, sizeof *f.items);
  f.items->type = RP_FIELD_ENUM;
  f.items->values = rp_xcalloc(2, sizeof *f.items->values);
  f.items->values[f.items->nvalues++] = rp_xstrndup("x", 1);
  f.items->values[f.items->nvalues++] = rp_xstrndup("y", 1);
  return f;
}

static void expect_owned_shape(const rp_field *f, const char *id) {
  assert_string_equal(f->id, id);
  assert_int_equal(f->type, RP_FIELD_LIST);
  assert_string_equal(f->label, "Label");
  assert_string_equal(f->default_text, "x");
  assert_non_null(f->items);
  assert_int_equal(f->items->type, RP_FIELD_ENUM);
  assert_int_equal(f->items->nvalues, 2);
  assert_string_equal(f->items->values[1], "y");
}

// Taking a field gives the schema the shape adding a copy gives, dotted ids
// split into objects, and leaves the field taken from empty: the schema owns
// all of it now (the sanitizer build checks nothing is freed twice or lost).
static void test_take_field_moves_what_add_field_copies(void **state) {
  (void)state;
  rp_schema *taken = rp_schema_new("t", NULL);
  rp_schema *added = rp_schema_new("t", NULL);
  const char *ids[] = {"a.b", "c", "a.d.e"};
  for (size_t i = 0; i < 3; i++) {
    rp_field f = owned_field(ids[i]);
    rp_schema_add_field(added, &f);
    rp_field_clear(&f);
    f = owned_field(ids[i]);
    rp_schema_take_field(taken, &f);
    rp_field empty = {0};
    assert_memory_equal(&f, &empty, sizeof f);
  }
  const rp_schema *both[] = {taken, added};
  for (size_t k = 0; k < 2; k++) {
    const rp_schema *s = both[k];
    assert_int_equal(s->nfields, 2);
    assert_string_equal(s->fields[0].id, "a");
    assert_int_equal(s->fields[0].type, RP_FIELD_OBJECT);
    assert_int_equal(s->fields[0].nfields, 2);
    expect_owned_shape(&s->fields[0].fields[0], "b");
    assert_string_equal(s->fields[0].fields[1].id, "d");
    assert_int_equal(s->fields[0].fields[1].nfields, 1);
    expect_owned_shape(&s->fields[0].fields[1].fields[0], "e");
    expect_owned_shape(&s->fields[1], "c");
  }
  rp_schema_free(taken);
  rp_schema_free(added);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_session_is_typed_by_the_schema),
      cmocka_unit_test(test_every_problem_at_its_position),
      cmocka_unit_test(test_messages_never_repeat_text),
      cmocka_unit_test(test_absent_and_wrong_shapes),
      cmocka_unit_test(test_empty_slots_are_reported_at_their_names),
      cmocka_unit_test(test_an_empty_group_at_its_name),
      cmocka_unit_test(test_what_validated_is_kept_and_bad_values_left_out),
      cmocka_unit_test(test_a_day_the_month_lacks),
      cmocka_unit_test(test_a_misspelt_field_gets_the_name_it_means),
      cmocka_unit_test(test_enum_value_case_and_near_misses),
      cmocka_unit_test(test_a_key_that_is_text_is_never_shown),
      cmocka_unit_test(test_take_field_moves_what_add_field_copies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
