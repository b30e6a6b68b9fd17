// Note-type schemas and session validation.
//
// A note type's fields (registered by a plugin with rapport.note_type) become
// an rp_schema; rp_schema_validate checks a session file's data tree against
// it and builds the typed session: scalars typed by the schema (a YAML
// session read with rp_yaml_parse_text keeps every unquoted scalar as text,
// so `country: no` stays "no" for a text field and `0777` stays "0777"),
// dotted field ids (session.date) as nested maps, and defaults filled in.
// Every problem of the file is reported at once, each at the line and column
// of the value (or key) at fault, in words a therapist understands:
//   sessions/jd-07.yaml:14:3: alliance.trust must be a rating from 1 to 5 (got 7)
// Messages name fields and show numbers that are out of range, but never
// repeat a text a therapist wrote.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "data/data.h"
#include "util/error.h"

typedef enum rp_field_type {
  RP_FIELD_TEXT,      // free text, any length, may span lines
  RP_FIELD_STRING,    // a short text on one line
  RP_FIELD_INTEGER,   // a whole number, optionally within min..max
  RP_FIELD_NUMBER,    // a number, optionally within min..max
  RP_FIELD_BOOLEAN,   // true or false
  RP_FIELD_DATE,      // YYYY-MM-DD
  RP_FIELD_DATETIME,  // YYYY-MM-DDTHH:MM[:SS]
  RP_FIELD_ENUM,      // one of `values`
  RP_FIELD_RATING,    // a whole number from min to max
  RP_FIELD_LIST,      // a list of `items`
  RP_FIELD_OBJECT,    // a map of `fields`
} rp_field_type;

// "text", "string", ... as plugins write them; -1 from rp_field_type_parse
// for an unknown name.
const char *rp_field_type_name(rp_field_type t);
int rp_field_type_parse(const char *name);

typedef struct rp_field rp_field;

struct rp_field {
  char *id;  // a name, or a dotted path (session.date) at the top level
  rp_field_type type;
  char *label;  // may be NULL
  bool required;
  bool has_min, has_max;
  double min, max;
  char **values;  // ENUM
  size_t nvalues;
  rp_field *items;   // LIST: the element (its id is NULL)
  rp_field *fields;  // OBJECT
  size_t nfields;
  size_t fieldcap;  // room in `fields` that schema.c made; 0: nfields exactly
  // The default, as text for scalars (typed like a plain YAML scalar), or
  // NULL for none.
  char *default_text;
  char *example_text;  // a sample value for skeletons (rapport new), or NULL
};

typedef struct rp_schema {
  char *id;
  char *title;
  rp_field *fields;
  size_t nfields;
  size_t fieldcap;  // room in `fields`
  // Top-level keys that other definitions check (the checklists' and
  // measures' data: `alliance`, `measures`), accepted as they are.
  char **passthrough;
  size_t npassthrough;
} rp_schema;

// An empty schema to fill; free with rp_schema_free (NULL is fine).
rp_schema *rp_schema_new(const char *id, const char *title);
void rp_schema_free(rp_schema *s);
// Adds a field (copied deeply) at the top level.
void rp_schema_add_field(rp_schema *s, const rp_field *f);
// Adds a field at the top level as rp_schema_add_field does, taking what *f
// owns instead of copying it; *f is left empty (nothing to clear).
void rp_schema_take_field(rp_schema *s, rp_field *f);
void rp_schema_add_passthrough(rp_schema *s, const char *key);
// Frees what a field owns (not the struct itself).
void rp_field_clear(rp_field *f);

// Validates `root` (a value of `in`, read from `path`) against s, building the
// typed session in `out` (a separate document, which may be `in` itself only
// when no typing is needed) and setting *typed. The top-level `type` key is
// always allowed. Returns RP_OK, or RP_EDATA after reporting every problem.
// After problems *typed still holds every field that validated, so that the
// stages after this one can check the rest of the session at once: a value
// with a problem is left out (a list with a bad item, the whole list), a
// group keeps its good fields, and an absent field is null as always. Only
// a root that is not a map gives a null *typed.
//
// Messages name fields, never the text of a value, nor a key that is not a
// plain name (util/names.h: a line of text YAML took for a key is "an
// unknown field" at its line:col). A plain unknown key, or an enum value,
// near a known one gets "did you mean '...'?"; an enum value in another case
// says so; a date with a day its month lacks says "not a day of MONTH YEAR".
int rp_schema_validate(const rp_schema *s, rp_doc *in, rp_value root, const char *path, rp_doc *out,
                       rp_value *typed, rp_diags *diags);
