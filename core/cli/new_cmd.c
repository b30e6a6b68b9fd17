// `rapport new TYPE [-o FILE]`: a commented session skeleton for a note type.
//
// Every field of the note type is written with a comment giving its label,
// its kind of value, the values allowed and whether it is required. Sample
// values come from the plugin's `example` (or `default`); fields without one
// are left empty, so the skeleton validates once a person fills it in.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "lua/plugins.h"
#include "notes/schema.h"
#include "util/atomic.h"
#include "util/buf.h"

static void indent(rp_buf *b, int depth) {
  for (int i = 0; i < depth; i++)
    rp_buf_adds(b, "  ");
}

// A scalar as YAML: plain when that reads back as the same text, quoted
// otherwise.
static void yaml_scalar(rp_buf *b, const char *s) {
  bool plain = s[0] != '\0';
  for (const char *p = s; *p && plain; p++) {
    char c = *p;
    plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == ' ' || c == '.' || c == '-' || c == '_' || c == '/' || c == ',' || c == '(' ||
            c == ')';
  }
  if (plain && s[0] != '-' && s[0] != ' ' && s[strlen(s) - 1] != ' ') {
    rp_buf_adds(b, s);
    return;
  }
  rp_buf_addc(b, '"');
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') rp_buf_addc(b, '\\');
    rp_buf_addc(b, *p);
  }
  rp_buf_addc(b, '"');
}

static void describe(rp_buf *b, const rp_field *f) {
  rp_buf_adds(b, "  # ");
  if (f->label) rp_buf_printf(b, "%s: ", f->label);
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
      break;
    case RP_FIELD_OBJECT:
      rp_buf_adds(b, "a group of fields");
      break;
  }
  if (f->type == RP_FIELD_INTEGER || f->type == RP_FIELD_NUMBER || f->type == RP_FIELD_RATING) {
    if (f->has_min && f->has_max)
      rp_buf_printf(b, " from %g to %g", f->min, f->max);
    else if (f->has_min)
      rp_buf_printf(b, " of at least %g", f->min);
    else if (f->has_max)
      rp_buf_printf(b, " of at most %g", f->max);
  }
  if (f->default_text) rp_buf_printf(b, " (default %s)", f->default_text);
  if (f->required) rp_buf_adds(b, "; required");
  rp_buf_addc(b, '\n');
}

static void write_fields(rp_buf *b, const rp_field *fields, size_t n, int depth);

static void write_field(rp_buf *b, const rp_field *f, int depth) {
  indent(b, depth);
  rp_buf_printf(b, "%s:", f->id);
  if (f->type == RP_FIELD_OBJECT) {
    describe(b, f);
    write_fields(b, f->fields, f->nfields, depth + 1);
    return;
  }
  if (f->type == RP_FIELD_LIST) {
    describe(b, f);
    const rp_field *item = f->items;
    indent(b, depth + 1);
    if (item && item->type == RP_FIELD_OBJECT && item->nfields) {
      // The first field of an item on the "- " line, the others under it.
      for (size_t i = 0; i < item->nfields; i++) {
        if (i) indent(b, depth + 2);
        const rp_field *g = &item->fields[i];
        rp_buf_printf(b, "%s%s: ", i ? "" : "- ", g->id);
        const char *v = g->example_text ? g->example_text : g->default_text;
        if (v) yaml_scalar(b, v);
        describe(b, g);
      }
    } else {
      // Without a sample, the item line stays a comment: an empty item would
      // be a problem, an empty list is not.
      const char *v = item ? (item->example_text ? item->example_text : item->default_text) : NULL;
      rp_buf_adds(b, v ? "- " : "# - ");
      if (v) yaml_scalar(b, v);
      rp_buf_addc(b, '\n');
    }
    return;
  }
  const char *v = f->example_text ? f->example_text : f->default_text;
  if (f->type == RP_FIELD_TEXT && !v) {
    // A block: the text goes on the lines below, indented.
    rp_buf_adds(b, " |");
    describe(b, f);
    indent(b, depth + 1);
    rp_buf_addc(b, '\n');
    return;
  }
  if (v) {
    rp_buf_addc(b, ' ');
    yaml_scalar(b, v);
  }
  describe(b, f);
}

static void write_fields(rp_buf *b, const rp_field *fields, size_t n, int depth) {
  for (size_t i = 0; i < n; i++)
    write_field(b, &fields[i], depth);
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
  rp_plugins *p = rp_cli_load_plugins(cli, NULL, 0, &diags);
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
    rp_buf_printf(&b,
                  "# %s session. Fill in the values; lines marked \"required\" must be\n"
                  "# filled in, the others may be left empty or removed.\n"
                  "# Check it with: rapport check FILE\n"
                  "type: %s\n",
                  s->title ? s->title : s->id, s->id);
    write_fields(&b, s->fields, s->nfields, 0);
    for (size_t i = 0; i < s->npassthrough; i++)
      rp_buf_printf(&b, "# %s: see `rapport list` and docs/notes.md\n", s->passthrough[i]);
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
