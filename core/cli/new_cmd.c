// `rapport new TYPE [-o FILE]`: a commented session skeleton for a note type.
//
// Every field of the note type is written in schema order as `name:` with
// nothing after the colon, and a comment giving its label, its kind of value,
// the values allowed (enum values, ranges, what a list's items are), whether
// it is required or optional, its default and a sample value (`e.g. ...`).
// Sample values live only in comments: a skeleton left as it is must not
// validate, so that a form nobody filled in can never become a signed note.
// `rapport check` reports each required field at its own line; typing the
// values after the colons is all it takes to make the note.
//
// Parts a session may leave out that need more than a value after a colon,
// a list's items, the checklists' answers and the measures' scores, are
// written as comment lines in the shape they take: deleting the "# " at the
// start of a line makes it part of the session.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "lua/plugins.h"
#include "workspace/workspace.h"
#include "schema/schema.h"
#include "util/atomic.h"
#include "util/buf.h"
#include "util/number.h"

// Where the lines being written go: `hash` is -1 for lines that are part of
// the session, else the depth at which their "# " stands (the lines of a
// list's item, the checklists and the measures).
typedef struct out {
  rp_buf *b;
  int hash;
  bool item;  // the fields of a list's item: "required" holds in each item
} out;

static void indent(rp_buf *b, int depth) {
  for (int i = 0; i < depth; i++)
    rp_buf_adds(b, "  ");
}

static void line_start(out *o, int depth) {
  if (o->hash < 0) {
    indent(o->b, depth);
    return;
  }
  indent(o->b, o->hash);
  rp_buf_adds(o->b, "# ");
  indent(o->b, depth - o->hash);
}

// Turns the line breaks and other control characters that a plugin's label,
// title, value or example may hold into spaces from b->data[from] on: a
// comment ends at the end of its line.
static void one_line(rp_buf *b, size_t from) {
  for (size_t i = from; i < b->len; i++)
    if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f) b->data[i] = ' ';
}

// A name as a YAML key: plain when it reads back as itself, else in double
// quotes (a plugin may name a field `a b` or `x: y`).
static void yaml_key(rp_buf *b, const char *s) {
  bool plain = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_';
  for (const char *p = s; *p && plain; p++)
    plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '_' || *p == '-';
  if (plain) {
    rp_buf_adds(b, s);
    return;
  }
  rp_buf_addc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      rp_buf_printf(b, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      rp_buf_printf(b, "\\x%02x", *p);
    else
      rp_buf_addc(b, (char)*p);
  }
  rp_buf_addc(b, '"');
}

static void range_words(rp_buf *b, const rp_field *f) {
  char lo[RP_NUMBER_BUF], hi[RP_NUMBER_BUF];
  rp_number_format(f->min, lo);
  rp_number_format(f->max, hi);
  if (f->has_min && f->has_max)
    rp_buf_printf(b, " from %s to %s", lo, hi);
  else if (f->has_min)
    rp_buf_printf(b, " of at least %s", lo);
  else if (f->has_max)
    rp_buf_printf(b, " of at most %s", hi);
}

// The kind of value, in the words of docs/notes.md: "a date, YYYY-MM-DD",
// "one of none, low, moderate, high", "a rating from 1 to 5", "a list, one
// item per '- ' line; each item: text".
static void kind_words(rp_buf *b, const rp_field *f) {
  switch (f->type) {
    case RP_FIELD_TEXT:
      rp_buf_adds(b, "text");
      break;
    case RP_FIELD_STRING:
      rp_buf_adds(b, "text on one line");
      break;
    case RP_FIELD_INTEGER:
      rp_buf_adds(b, "a whole number");
      break;
    case RP_FIELD_NUMBER:
      rp_buf_adds(b, "a number");
      break;
    case RP_FIELD_BOOLEAN:
      rp_buf_adds(b, "true or false");
      break;
    case RP_FIELD_DATE:
      rp_buf_adds(b, "a date, YYYY-MM-DD");
      break;
    case RP_FIELD_DATETIME:
      rp_buf_adds(b, "a date and time, YYYY-MM-DDTHH:MM");
      break;
    case RP_FIELD_ENUM:
      rp_buf_adds(b, "one of");
      for (size_t i = 0; i < f->nvalues; i++)
        rp_buf_printf(b, "%s %s", i ? "," : "", f->values[i]);
      break;
    case RP_FIELD_RATING:
      rp_buf_adds(b, "a rating");
      break;
    case RP_FIELD_LIST:
      rp_buf_adds(b, "a list, one item per '- ' line");
      if (f->items) {
        rp_buf_adds(b, "; each item: ");
        kind_words(b, f->items);
      }
      break;
    case RP_FIELD_OBJECT:
      rp_buf_adds(b, "a group of fields");
      break;
  }
  if (f->type == RP_FIELD_INTEGER || f->type == RP_FIELD_NUMBER || f->type == RP_FIELD_RATING)
    range_words(b, f);
}

// Whether a session must have the field: a group is needed when one of its
// fields is (an absent group still owes its required fields).
static bool needed(const rp_field *f) {
  if (f->required) return true;
  if (f->type == RP_FIELD_OBJECT)
    for (size_t i = 0; i < f->nfields; i++)
      if (needed(&f->fields[i])) return true;
  return false;
}

// "  # LABEL: KIND; required|optional (default D); e.g. SAMPLE" and the end
// of the line.
static void describe(rp_buf *b, const rp_field *f, bool item) {
  rp_buf_adds(b, "  # ");
  size_t from = b->len;
  if (f->label) rp_buf_printf(b, "%s: ", f->label);
  kind_words(b, f);
  rp_buf_adds(b, needed(f) ? (item ? "; required in each item" : "; required") : "; optional");
  if (f->default_text) rp_buf_printf(b, " (default %s)", f->default_text);
  const char *sample = f->example_text;
  if (!sample && f->type == RP_FIELD_LIST && f->items) sample = f->items->example_text;
  if (sample) rp_buf_printf(b, "; e.g. %s", sample);
  one_line(b, from);
  rp_buf_addc(b, '\n');
}

static void write_fields(out *o, const rp_field *fields, size_t n, int depth);

// One field at `depth`; `dash` starts the first field of a list's item.
static void write_field(out *o, const rp_field *f, int depth, bool dash) {
  line_start(o, depth - (dash ? 1 : 0));
  if (dash) rp_buf_adds(o->b, "- ");
  yaml_key(o->b, f->id);
  rp_buf_addc(o->b, ':');
  describe(o->b, f, o->item);
  if (f->type == RP_FIELD_OBJECT) {
    write_fields(o, f->fields, f->nfields, depth + 1);
  } else if (f->type == RP_FIELD_LIST && f->items && f->items->type == RP_FIELD_OBJECT &&
             f->items->nfields) {
    // An item's fields, as comment lines: an empty item would be a problem,
    // an empty list is not.
    out item = {o->b, o->hash < 0 ? depth + 1 : o->hash, true};
    line_start(&item, depth + 1);
    rp_buf_adds(o->b, "For each item, write these lines without the \"# \" at their start:\n");
    const rp_field *g = f->items;
    for (size_t i = 0; i < g->nfields; i++)
      write_field(&item, &g->fields[i], depth + 2, i == 0);
  }
}

static void write_fields(out *o, const rp_field *fields, size_t n, int depth) {
  for (size_t i = 0; i < n; i++)
    write_field(o, &fields[i], depth, false);
}

// --- the checklists and the measures --------------------------------------------
//
// The plugin host does not hand the CLI a checklist's items or a measure's
// range, so the built-in alliance checklist and measures are described here
// from their definitions in plugins/alliance.lua and plugins/measures.lua
// (tests/e2e/test_notes.py checks that the two agree). These words are used
// only while the definition in use is the built-in one: a clinic's own
// checklist or measure of the same id gets the plain description below.

static const char ALLIANCE[] =
    "\n"
    "# The therapeutic alliance (optional). To fill in a line, delete the \"# \" at\n"
    "# its start and type the value after the colon. Rate each element from\n"
    "# 1 (poor) to 5 (strong); to add a note, write { rating: 4, note: your note }.\n"
    "# Fill in a challenge only when you noticed it, and a rupture only when there\n"
    "# was one.\n"
    "# alliance:  # Therapeutic alliance: a group of fields; optional\n"
    "#   trust:  # Trust: a rating from 1 to 5; optional\n"
    "#   empathy:  # Empathy: a rating from 1 to 5; optional\n"
    "#   collaboration:  # Collaboration: a rating from 1 to 5; optional\n"
    "#   respect:  # Respect: a rating from 1 to 5; optional\n"
    "#   authenticity:  # Authenticity: a rating from 1 to 5; optional\n"
    "#   challenges:  # Challenges you noticed: a group of fields; optional\n"
    "#     cultural_differences:  # Cultural differences: a group of fields; optional\n"
    "#       noticed:  # Noticed: true or false; required in each challenge\n"
    "#       plan:  # What you will do about it: text; optional\n"
    "#     power_imbalance:  # Power imbalance: a group of fields; optional\n"
    "#       noticed:  # Noticed: true or false; required in each challenge\n"
    "#       plan:  # What you will do about it: text; optional\n"
    "#     countertransference:  # Countertransference: a group of fields; optional\n"
    "#       noticed:  # Noticed: true or false; required in each challenge\n"
    "#       plan:  # What you will do about it: text; optional\n"
    "#   rupture:  # Rupture and repair: a group of fields; optional\n"
    "#     noticed:  # How it showed: one of withdrawal, confrontation, none; optional\n"
    "#     addressed:  # Addressed in the session: true or false; optional\n";

static const struct builtin_measure {
  const char *id;
  int items;
  int min, max;
} BUILTIN_MEASURES[] = {
    {"wai_sr", 12, 1, 5}, {"srs", 4, 0, 10}, {"ors", 4, 0, 10},
    {"phq9", 9, 0, 3},    {"gad7", 7, 0, 3},
};

// Whether registration `it` comes from a built-in plugin that no plugin of
// the workspace or of --plugins replaced.
static bool builtin_item(const rp_plugins *p, const rp_item_info *it) {
  for (size_t i = 0; i < rp_plugins_count(p); i++) {
    rp_plugin_info pi;
    rp_plugins_plugin(p, i, &pi);
    if (pi.builtin && !pi.failed && strcmp(pi.path, it->path) == 0) return true;
  }
  return false;
}

static bool find_item(const rp_plugins *p, rp_item_kind kind, const char *id, rp_item_info *it) {
  for (size_t i = 0; rp_plugins_item(p, kind, i, it); i++)
    if (strcmp(it->id, id) == 0) return true;
  return false;
}

static void write_checklist(rp_buf *b, const rp_plugins *p, const char *id) {
  rp_item_info it;
  bool known = find_item(p, RP_ITEM_CHECKLIST, id, &it);
  if (known && strcmp(id, "alliance") == 0 && builtin_item(p, &it)) {
    rp_buf_adds(b, ALLIANCE);
    return;
  }
  const char *title = known && it.title ? it.title : id;
  size_t from = b->len;
  rp_buf_printf(b, "\n# %s (optional): a checklist; its plugin says what it holds.", title);
  one_line(b, from + 1);
  rp_buf_adds(b, "\n# ");
  yaml_key(b, id);
  from = b->len;
  rp_buf_printf(b, ":  # %s: a group of fields; optional", title);
  if (known) rp_buf_printf(b, "; see %s", it.path);
  one_line(b, from);
  rp_buf_addc(b, '\n');
}

static void write_measures(rp_buf *b, const rp_plugins *p, bool builtin_type) {
  rp_buf_adds(b,
              "\n"
              "# Measures (optional): the client's item scores, in item order, in square\n"
              "# brackets: srs: [9, 9, 8.5, 9]. To fill in a line, delete the \"# \" at its\n"
              "# start and type the scores after the colon. Rapport works out the totals,\n"
              "# the subscales and the flags.\n");
  if (!builtin_type)
    rp_buf_adds(b, "# This note type may use only some of these: rapport check names them.\n");
  rp_buf_adds(b, "# measures:  # Measures: a group of fields; optional\n");
  rp_item_info it;
  for (size_t i = 0; rp_plugins_item(p, RP_ITEM_MEASURE, i, &it); i++) {
    const struct builtin_measure *m = NULL;
    for (size_t k = 0; k < sizeof BUILTIN_MEASURES / sizeof *BUILTIN_MEASURES; k++)
      if (strcmp(BUILTIN_MEASURES[k].id, it.id) == 0) m = &BUILTIN_MEASURES[k];
    rp_buf_adds(b, "#   ");
    yaml_key(b, it.id);
    size_t from = b->len;
    rp_buf_printf(b, ":  # %s: ", it.title ? it.title : it.id);
    if (m && builtin_item(p, &it))
      rp_buf_printf(b, "a list of %d scores, each a number from %d to %d; optional", m->items,
                    m->min, m->max);
    else
      rp_buf_printf(b, "a list of scores, in item order; optional; see %s", it.path);
    one_line(b, from);
    rp_buf_addc(b, '\n');
  }
}

int rp_cmd_new(rp_cli *cli, int argc, char **argv) {
  const char *type = NULL, *out_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("new");
      return RP_EXIT_OK;
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc) return rp_cli_usage_error("new", "option '-o' needs a file name");
      out_path = argv[++i];
    } else if (a[0] == '-' && a[1]) {
      return rp_cli_usage_error("new", "unknown option '%s'", a);
    } else if (!type) {
      type = a;
    } else {
      return rp_cli_usage_error("new", "unexpected argument '%s'", a);
    }
  }
  if (!type) return rp_cli_usage_error("new", "a note type is needed, e.g. rapport new soap");
  rp_diags diags = RP_DIAGS_INIT;
  // Only the note type's schema is read: no session runs.
  rp_plugins *p = rp_workspace_load_plugins(&cli->ws, NULL, 0, true, &diags);
  rp_diags_print(&diags, stderr);
  rp_schema *s = rp_plugins_schema(p, type);
  int status = RP_EXIT_OK;
  if (!s) {
    rp_buf known = RP_BUF_INIT;
    rp_item_info it;
    for (size_t i = 0; rp_plugins_item(p, RP_ITEM_NOTE_TYPE, i, &it); i++)
      rp_buf_printf(&known, "%s%s", i ? ", " : "", it.id);
    status = rp_cli_usage_error("new", "no note type '%s' (note types: %s)", type,
                                known.data ? known.data : "none");
    rp_buf_free(&known);
  } else {
    rp_buf b = RP_BUF_INIT;
    rp_buf_printf(&b, "# %s", s->title ? s->title : s->id);
    one_line(&b, 0);
    rp_buf_printf(&b,
                  ": one session. Type each value after its colon.\n"
                  "# Fields marked \"required\" must be filled in before the note can be made;\n"
                  "# leave the others empty when they do not apply. A # and what follows it\n"
                  "# on a line is a comment, not part of the note. For text of several lines,\n"
                  "# write | after the colon and the text on the lines below, indented.\n"
                  "# Check the file with: rapport check FILE\n"
                  "type: ");
    yaml_key(&b, s->id);
    rp_buf_addc(&b, '\n');
    out o = {&b, -1, false};
    write_fields(&o, s->fields, s->nfields, 0);
    rp_item_info nt;
    bool builtin_type = find_item(p, RP_ITEM_NOTE_TYPE, s->id, &nt) && builtin_item(p, &nt);
    for (size_t i = 0; i < s->npassthrough; i++) {
      if (strcmp(s->passthrough[i], "measures") == 0)
        write_measures(&b, p, builtin_type);
      else
        write_checklist(&b, p, s->passthrough[i]);
    }
    struct stat st;
    if (out_path && lstat(out_path, &st) == 0) {
      // A skeleton never replaces a file: it may be a session already filled in.
      rp_diags_add(&diags, RP_SEV_ERROR, out_path, 0, 0,
                   "already exists; not overwritten (remove it or choose another name)");
      rp_diags_print(&diags, stderr);
      status = RP_EXIT_PROBLEM;
    } else if (out_path) {
      if (rp_write_atomic(out_path, b.data, b.len, &diags) != RP_OK) {
        rp_diags_print(&diags, stderr);
        status = RP_EXIT_PROBLEM;
      }
    } else {
      fwrite(b.data, 1, b.len, stdout);
    }
    rp_buf_free(&b);
    rp_schema_free(s);
  }
  rp_diags_free(&diags);
  rp_plugins_free(p);
  return status;
}
