// The note pipeline: a session file in, a finished note out.
//
// Every command that makes notes (render, check, watch, a JSONL batch, and
// later sign and export) goes through two calls and nothing below them:
//
//   rp_notes_build   session -> computed note: the session is read (YAML with
//                    its scalars kept as text, or JSON), validated and typed
//                    by its note type's schema (core/schema/), then handed to
//                    the plugins (core/lua/, through rp_plugins_compute) for
//                    the note type's rules, checklist summaries, measure
//                    scores and compute.
//   rp_notes_render  computed note + format -> bytes: the note type's layout
//                    (a Mustache template that produces Markdown, every value
//                    escaped so that typed text never becomes markup), then
//                    HTML or plain text with cmark-gfm (output.h), or the
//                    note as JSON.
//
// An rp_notes is what one thread needs for that: a plugin set (a Lua state
// is single-threaded), its filters, the layouts and a document for the
// session being read. Use one per thread.
//
// Every problem goes to the caller's rp_diags as PATH:LINE:COL, all of them
// at once: a session whose fields have problems still has its rules,
// checklist answers and measures checked.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "data/data.h"
#include "lua/plugins.h"
#include "template/template.h"
#include "util/buf.h"
#include "util/error.h"
#include "workspace/workspace.h"

typedef enum rp_format { RP_FMT_MD, RP_FMT_HTML, RP_FMT_TXT, RP_FMT_JSON } rp_format;
#define RP_FORMATS 4
// ".md", ".html", ".txt", ".json"
extern const char *const rp_format_ext[RP_FORMATS];
// "md" -> RP_FMT_MD ...; false for anything else.
bool rp_format_parse(const char *s, rp_format *fmt);

typedef struct rp_notes rp_notes;

typedef struct rp_notes_opts {
  bool strict;  // a name the layout uses that the note lacks is an error
  // A plugin set to use instead of loading one from the workspace (the
  // rp_notes then owns it), or NULL.
  rp_plugins *plugins;
  // Drop what plugins print (a batch worker, whose output must come out
  // in order).
  bool quiet_plugins;
  // At most one session goes through (rp_plugins_opts.one_session).
  bool one_session;
} rp_notes_opts;

// Loads the plugins (problems to diags) and prepares the layouts of the
// workspace. Never NULL: a plugin that failed is disabled, and a session
// that needs it gets no note.
rp_notes *rp_notes_new(const rp_workspace *ws, const rp_notes_opts *opts, rp_diags *diags);
void rp_notes_free(rp_notes *n);

// The plugin set in use (owned by n).
rp_plugins *rp_notes_plugins(rp_notes *n);

// Compiles the layouts again from the files as they are now (watch mode,
// after a template changed).
void rp_notes_reload_layouts(rp_notes *n);

// Where a session comes from.
typedef struct rp_session_src {
  // The session file to read, or "-" for standard input; when `text` is
  // set, only the name the session has in messages.
  const char *path;
  // The session's bytes already in memory (one line of a JSONL batch; a
  // session given as text, read as JSON when `path` ends in .json and as
  // YAML otherwise), or NULL to read `path`.
  const char *text;
  size_t len;
  long line;  // the line of a batch that `text` is (JSON), or 0
} rp_session_src;

// A computed note. Zero-initialise it (RP_NOTE_INIT); rp_note_clear frees
// what it holds and leaves it ready for another build.
typedef struct rp_note {
  rp_doc *doc;                  // owns the note's data
  rp_value data;                // the computed note
  char *layout;                 // the layout's name ("soap"), malloc'd
  char *path;                   // the session's name in messages, malloc'd
  rp_buf md;                    // the rendered Markdown, once a human format was asked for
  bool md_done;                 // md holds the layout's output
  const rp_template *layout_t;  // the compiled layout used (owned by the rp_notes)
  char *signature_md;           // the signature block a signed note carries, or NULL
} rp_note;

#define RP_NOTE_INIT \
  { 0 }
void rp_note_clear(rp_note *note);

// Builds the note of one session (see above). Returns RP_OK, or RP_EDATA
// when the session has problems (every one reported to diags; `note` then
// holds nothing).
int rp_notes_build(rp_notes *n, const rp_session_src *src, rp_note *note, rp_diags *diags);

// Marks a built note as signed: `md` (`len` bytes of Markdown, the signature
// block) ends the note in every human format, and the note's data gets a
// `signature` object of the `nfields` text pairs in `fields` (name, value,
// name, value...), which the JSON format shows. Copies what it is given.
void rp_note_set_signature(rp_note *note, const char *md, size_t len, const char *const *fields,
                           size_t nfields);

// Appends the note in `fmt` to `out`. `one_line` writes JSON as one JSON
// Lines record. The layout is rendered once per note however many formats
// are asked for. Returns RP_OK, or an error reported to diags (then `out`
// is unchanged).
int rp_notes_render(rp_notes *n, rp_note *note, rp_format fmt, bool one_line, rp_buf *out,
                    rp_diags *diags);

// The templates the note's layout uses: calls fn with the layout's own name
// ("soap.md") and every partial it names. Returns true when it also names
// templates only known at render time (dynamic names, lambdas), so any
// template change may concern it.
bool rp_notes_layout_deps(const rp_note *note, void (*fn)(void *ud, const char *name, size_t len),
                          void *ud);

// Reads a session file into doc: YAML (any extension but .json) with its
// unquoted scalars kept as text for the schema to type, or JSON; "-" reads
// standard input (named <stdin>). Problems (unreadable, too large,
// malformed) go to diags. Returns RP_OK or a status.
int rp_session_load(rp_doc *doc, const char *path, rp_value *root, rp_diags *diags);
