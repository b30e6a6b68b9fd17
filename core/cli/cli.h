// The command line: `rapport [GLOBAL FLAGS] COMMAND [ARGS]`.
//
// rp_cli_main parses the global flags (-C DIR, --plugins, --templates, -q,
// --color), then hands the rest to one command. Each command returns the
// process exit status: 0 success, 1 a problem in the user's files (reported
// as PATH:LINE:COL: error: MESSAGE), 2 a usage error.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lua/plugins.h"
#include "template/template.h"
#include "util/error.h"

enum { RP_EXIT_OK = 0, RP_EXIT_PROBLEM = 1, RP_EXIT_USAGE = 2 };

typedef struct rp_cli {
  const char *workspace;  // -C DIR, or NULL
  const char **plugin_dirs;
  size_t nplugin_dirs;
  const char **template_dirs;
  size_t ntemplate_dirs;
  bool quiet;
  int color;           // 0 never, 1 always, -1 auto
  const char *record;  // --record PATH, or NULL ($RAPPORT_RECORD, else record.db)
} rp_cli;

int rp_cli_main(int argc, char **argv);

// Commands: argv[0] is the command's name.
int rp_cmd_mustache(rp_cli *cli, int argc, char **argv);
int rp_cmd_list(rp_cli *cli, int argc, char **argv);
int rp_cmd_check(rp_cli *cli, int argc, char **argv);
int rp_cmd_test(rp_cli *cli, int argc, char **argv);
int rp_cmd_new(rp_cli *cli, int argc, char **argv);
int rp_cmd_render(rp_cli *cli, int argc, char **argv);
int rp_cmd_watch(rp_cli *cli, int argc, char **argv);
// The signed record (record_cmd.c).
int rp_cmd_key(rp_cli *cli, int argc, char **argv);
int rp_cmd_sign(rp_cli *cli, int argc, char **argv);
int rp_cmd_amend(rp_cli *cli, int argc, char **argv);
int rp_cmd_verify(rp_cli *cli, int argc, char **argv);
int rp_cmd_log(rp_cli *cli, int argc, char **argv);

// The workspace's folder of `kind` ("plugins" or "templates") followed by
// each --plugins or --templates folder. *dirs is malloc'd; the strings are
// borrowed.
void rp_cli_search_path(const rp_cli *cli, const char *kind, const char ***dirs, size_t *n);

// A library of layouts and their partials: NAME is NAME.mustache in the
// --templates folders (the last given first), the workspace's templates/,
// then the built-in templates/. Free with rp_cli_layouts_free(lib, *handle).
rp_library *rp_cli_layouts(const rp_cli *cli, const rp_filters *filters, bool strict,
                           const char ***handle);
void rp_cli_layouts_free(rp_library *lib, const char **handle);

// Loads the plugins: built-ins, the search path, then `extra` folders.
rp_plugins *rp_cli_load_plugins(const rp_cli *cli, const char **extra, size_t nextra,
                                rp_diags *diags);

// --- Rendering notes (render_cmd.c), shared by render and watch ----------------

typedef enum rp_format { RP_FMT_MD, RP_FMT_HTML, RP_FMT_TXT, RP_FMT_JSON } rp_format;
// ".md", ".html", ".txt", ".json"
extern const char *const rp_format_ext[];
// "md" -> RP_FMT_MD ...; false for anything else.
bool rp_format_parse(const char *s, rp_format *fmt);

// What one thread needs to turn sessions into notes: its own plugins (a Lua
// state is single-threaded), filters and layouts. `in` holds the session
// being rendered.
typedef struct rp_renderer {
  rp_plugins *p;
  rp_filters *filters;
  rp_library *lib;
  const char **layouts;
  struct rp_doc *in;
} rp_renderer;

// Loads the plugins (problems to diags) and the layouts. `plugins`, when not
// NULL, is used instead of loading them (the renderer then owns it).
rp_renderer *rp_renderer_new(const rp_cli *cli, bool strict, rp_plugins *plugins, rp_diags *diags);
void rp_renderer_free(rp_renderer *w);

// Renders the session `root` of w->in (named `path` in messages) into `out`
// in `fmt`; `one_line` writes JSON as one JSON Lines record. When `layout`
// is not NULL it receives the compiled layout used (owned by w->lib), or
// NULL when none was reached. Returns RP_OK, or an error with every problem
// in diags (then `out` must not be used).
int rp_render_note(rp_renderer *w, const char *path, rp_value root, rp_format fmt, bool one_line,
                   rp_buf *out, const rp_template **layout, rp_diags *diags);

// Reads the session file `path` ("-": standard input, named <stdin>) into
// w->in and renders it, as rp_render_note.
int rp_render_file(rp_renderer *w, const char *path, rp_format fmt, rp_buf *out,
                   const rp_template **layout, rp_diags *diags);

// Prints the help of one command (or the overview for NULL) to stdout.
// Returns false when there is no such command.
bool rp_cli_help(const char *command);

// Reports a usage error the way every command does, with a pointer to help.
int rp_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
