// Global flags, command dispatch and help texts.
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
  const char *name;
  int (*run)(rp_cli *cli, int argc, char **argv);  // NULL: not available yet
  const char *usage;
  const char *help;
} command;

static const command commands[] = {
    {"mustache", rp_cmd_mustache,
     "rapport mustache [--partials DIR]... [--strict] TEMPLATE [DATA...]",
     "Render a plain Mustache template with JSON, YAML or JSONL data.\n"
     "\n"
     "Each DATA file is rendered in turn and the results are printed one after\n"
     "another on standard output.\n"
     "\n"
     "DATA is JSON (.json), YAML (.yaml, .yml), or JSON Lines (.jsonl: one context\n"
     "per line, rendered one by one as the file is read, so memory stays flat\n"
     "however long it is). '-' reads JSON from standard input. Without DATA the\n"
     "template is rendered once with an empty context.\n"
     "\n"
     "Options:\n"
     "  --partials DIR  look for partial NAME as DIR/NAME.mustache (repeatable;\n"
     "                  searched in order, then the template's own folder)\n"
     "  --strict        a missing name or partial is an error, with the\n"
     "                  template's line and column\n"
     "\n"
     "Filters: {{ value | upper }}, lower, default \"text\", join \", \",\n"
     "date \"%d %b %Y\", count. With the global --plugins DIR, the filters and\n"
     "lambdas of the plugins in DIR are available too (a fresh plugin run for\n"
     "each context). See docs/templates.md and docs/plugins.md.\n"
     "\n"
     "Example:\n"
     "  rapport mustache --partials examples/hello examples/hello/note.mustache \\\n"
     "      examples/hello/session.json\n"},
    {"render", rp_cmd_render,
     "rapport render FILE... [-o OUT] [--out-dir DIR] [--format md|html|txt|json] [--strict]",
     "Validate, compute and render session files into notes.\n"
     "\n"
     "Each session is checked against its note type (a problem is reported as\n"
     "PATH:LINE:COL: error: MESSAGE and that session gives no note), computed by\n"
     "the plugins (checklist summaries, measure scores) and rendered through its\n"
     "layout. One file without -o goes to standard output; several go to\n"
     "--out-dir (default out/), one note per session, written atomically with\n"
     "mode 0600 and never over a session file.\n"
     "\n"
     "FILE is a session (.yaml, .yml, .json), - for one session on standard\n"
     "input, or a .jsonl batch holding one session per line, rendered on every\n"
     "core: its notes go to standard output in order, an empty line after each\n"
     "(JSON Lines with --format json), to OUT whole (or not at all, if a session\n"
     "has problems), or to DIR/NAME-LINE.EXT with --out-dir (needed for html).\n"
     "\n"
     "Options:\n"
     "  -o OUT          write the note(s) of the one FILE to OUT\n"
     "  --out-dir DIR   write each note to DIR/NAME.md (.html, .txt, .json)\n"
     "  --format F      md (default), html (one self-contained page), txt (plain\n"
     "                  text for an EHR), json (the computed note as data)\n"
     "  --strict        a name the layout uses that the note lacks is an error\n"
     "\n"
     "Examples:\n"
     "  rapport render sessions/jd-07.yaml\n"
     "  rapport render --format html --out-dir out sessions/*.yaml\n"
     "  rapport render --format json day.jsonl > notes.jsonl\n"},
    {"new", rp_cmd_new, "rapport new TYPE [-o FILE]",
     "Write a commented session skeleton for a note type.\n"
     "\n"
     "Each field comes with its label, its kind of value, the values allowed\n"
     "and whether it is required. Without -o the skeleton goes to standard\n"
     "output. Note types: see rapport list (built in: soap, dap, birp, girp).\n"},
    {"check", rp_cmd_check, "rapport check [PATH...]",
     "Load every plugin and template, validate sessions, report every problem.\n"
     "\n"
     "Loads the built-in plugins, the workspace's plugins/ and each --plugins\n"
     "folder; compiles every template (built in, in templates/, in each\n"
     "--templates folder); and validates session files against their note\n"
     "type. PATH is a session file (.yaml, .yml, .json), a folder of them, or a\n"
     "template (.mustache); without PATH the workspace's sessions/ is checked.\n"
     "Every problem is one line PATH:LINE:COL: error: MESSAGE; the exit status is\n"
     "1 when there is any.\n"},
    {"list", rp_cmd_list, "rapport list",
     "List note types, checklists, measures, filters and plugins.\n"
     "\n"
     "Each line shows the file and line that defines the thing and, when it\n"
     "replaces something of the same name earlier on the search path, what it\n"
     "overrides.\n"},
    {"watch", rp_cmd_watch,
     "rapport watch [PATH...] [--out-dir DIR] [--format F] [--serve [PORT]] [--strict]",
     "Render every session, then keep the notes current as files change.\n"
     "\n"
     "PATH is a session file or a folder of them (default: sessions/). The\n"
     "sessions, the workspace's plugins/ and templates/ and every --plugins and\n"
     "--templates folder are watched, subfolders included. A change renders again\n"
     "only what it affects: a session its note, a template the notes whose layout\n"
     "uses it, a plugin every note (with the plugins loaded again). A session\n"
     "or plugin with a problem is reported as PATH:LINE:COL: error: MESSAGE, and\n"
     "the last good note and plugins stay in use until it is fixed. Each rebuild\n"
     "prints one line. Notes are written atomically, mode 0600. Ctrl-C stops.\n"
     "\n"
     "Options:\n"
     "  --out-dir DIR   where the notes go (default out/), as DIR/NAME.md\n"
     "  --format F      md (default), html, txt or json, as for render\n"
     "  --serve [PORT]  also serve a live preview on 127.0.0.1 (a free port\n"
     "                  unless PORT is given); open the URL it prints: pages\n"
     "                  refresh themselves and show a broken note's problems\n"
     "  --strict        a name the layout uses that the note lacks is an error\n"
     "  --debounce MS   wait for MS quiet milliseconds before rendering (15)\n"
     "\n"
     "Example:\n"
     "  rapport -C examples/clinic watch --serve\n"},
    {"test", rp_cmd_test, "rapport test [--match TEXT] [--builtin] [PATH...]",
     "Run plugin tests (rapport.test blocks) and report N passed, N failed.\n"
     "\n"
     "Runs the tests of the workspace's plugins/ and of each --plugins folder;\n"
     "PATH adds plugin folders. The built-in plugins load too, and their own\n"
     "tests run with --builtin.\n"
     "Each test starts from freshly loaded plugins and gets a helper table t:\n"
     "t.eq(actual, expected [, message]), t.ok(value [, message]),\n"
     "t.fails(fn [, text]) and t.render(template, data). A failure is reported as\n"
     "PATH:LINE:COL: error: test 'name' failed: ...; the exit status is 1 when a\n"
     "test fails or a plugin does not load.\n"
     "\n"
     "Options:\n"
     "  --match TEXT    run only the tests whose name contains TEXT\n"
     "  --builtin       also run the built-in plugins' tests\n"
     "\n"
     "See docs/plugins.md.\n"},
    {"key", rp_cmd_key, "rapport key new --name NAME [--credentials C]",
     "Create your signing key (an Ed25519 key pair) for the signed record.\n"
     "\n"
     "The key goes into your configuration folder ($XDG_CONFIG_HOME/rapport/, or\n"
     "~/.config/rapport/; mode 0700) as signing.key (mode 0600), its secret part\n"
     "encrypted with a passphrase asked on the terminal (or read from\n"
     "RAPPORT_PASSPHRASE), and signing.pub, the public key to give to whoever\n"
     "verifies the record. The public key and its fingerprint are printed and\n"
     "stored in the record. An existing key is never replaced.\n"
     "\n"
     "Options:\n"
     "  --name NAME         your name as it appears under every note you sign\n"
     "  --credentials C     your credentials, e.g. LCSW\n"
     "\n"
     "See docs/record.md.\n"},
    {"sign", rp_cmd_sign, "rapport sign FILE...",
     "Sign sessions into the record: validate, render and store each, locked.\n"
     "\n"
     "Each session is validated and rendered as render does; a session with\n"
     "problems is refused, every problem listed. Otherwise its file's bytes,\n"
     "its note (JSON and Markdown), what made it and your signature go into the\n"
     "record (record.db in the workspace, or --record PATH) as a new entry of\n"
     "its hash chain. A session already signed is locked: signing it again with\n"
     "other content is refused (amend it instead); with the same content it is\n"
     "a no-op. The passphrase of your key is asked on the terminal (or read\n"
     "from RAPPORT_PASSPHRASE). The new checkpoint is printed at the end.\n"
     "\n"
     "See docs/record.md.\n"},
    {"amend", rp_cmd_amend, "rapport amend FILE --reason TEXT",
     "Append a signed amendment to a signed session; the original stays.\n"
     "\n"
     "FILE is the session as it should now read. The amendment is a new entry\n"
     "that points at the original, with who, when and why; the original entry\n"
     "is kept as it was signed.\n"
     "\n"
     "Options:\n"
     "  --reason TEXT   why the note is amended (required)\n"},
    {"verify", rp_cmd_verify, "rapport verify [--key FILE]...",
     "Check every entry of the record and its latest signed checkpoint.\n"
     "\n"
     "Walks the hash chain from the first entry: each entry's number, its link\n"
     "to the one before, its hash and its signature; then the latest checkpoint\n"
     "(record.checkpoint beside the record, and the record's own copy), which\n"
     "must be signed and match the chain, so that removed or rewritten entries\n"
     "are found. Prints \"N entries verified\" and exits 0, or names the first\n"
     "bad entry and what is wrong with it and exits 1.\n"
     "\n"
     "Options:\n"
     "  --key FILE      a clinician's signing.pub (repeatable): every entry and\n"
     "                  the checkpoint must then be signed by one of these keys\n"},
    {"log", rp_cmd_log, "rapport log [--client ID]",
     "Show the record's audit trail: who signed, amended, verified, and when.\n"
     "\n"
     "The log is append-only and holds no clinical text: actions, entry\n"
     "numbers, client ids, names and key fingerprints.\n"
     "\n"
     "Options:\n"
     "  --client ID     only the events of one client\n"},
};

static const command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

bool rp_cli_help(const char *name) {
  if (name) {
    const command *c = find_command(name);
    if (!c) return false;
    printf("usage: %s\n\n%s", c->usage, c->help);
    return true;
  }
  printf(
      "usage: rapport [-C DIR] [--plugins DIR] [--templates DIR] [-q] [--color WHEN]\n"
      "               COMMAND [ARGS]\n"
      "\n"
      "Rapport turns short session files into structured therapy notes.\n"
      "\n"
      "Commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    // The overview shows the first line of each command's help.
    const char *h = commands[i].help;
    int len = (int)strcspn(h, "\n");
    printf("  %-9s %.*s\n", commands[i].name, len, h);
  }
  printf(
      "  help      show help for a command: rapport help COMMAND\n"
      "\n"
      "Global options:\n"
      "  -C DIR          run in the workspace DIR (as make -C and git -C do)\n"
      "  --plugins DIR   also load plugins from DIR (repeatable)\n"
      "  --templates DIR also load templates from DIR (repeatable)\n"
      "  -q, --quiet     print only problems\n"
      "  --color WHEN    auto, always or never\n"
      "  --record PATH   the signed record (default: $RAPPORT_RECORD, else record.db)\n"
      "  --version       print the version\n"
      "  -h, --help      print this help\n"
      "\n"
      "Exit status: 0 success, 1 a problem in your files (reported as\n"
      "PATH:LINE:COL: error: MESSAGE), 2 a usage error.\n");
  return true;
}

int rp_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("rapport: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'rapport help%s%s' for more information.\n", cmd ? " " : "",
          cmd ? cmd : "");
  return RP_EXIT_USAGE;
}

static void add_dir(const char ***list, size_t *n, const char *dir) {
  *list = realloc(*list, (*n + 1) * sizeof **list);
  if (!*list) abort();
  (*list)[(*n)++] = dir;
}

const char *rp_cli_record_path(const rp_cli *cli) {
  if (cli->record) return cli->record;
  const char *env = getenv("RAPPORT_RECORD");
  return env && *env ? env : "record.db";
}

int rp_cli_main(int argc, char **argv) {
  rp_cli cli = {0};
  cli.color = -1;
  int i = 1;
  int status = RP_EXIT_OK;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *value = NULL;
    if (a[0] != '-' || strcmp(a, "-") == 0) break;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help(NULL);
      goto done;
    }
    if (strcmp(a, "--version") == 0) {
      printf("rapport %s\n", RP_VERSION);
      goto done;
    }
    if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      cli.quiet = true;
      continue;
    }
    // Options with a value: "-C DIR", "--plugins DIR", "--plugins=DIR".
    const char *names[] = {"-C", "--plugins", "--templates", "--color", "--record"};
    size_t which = 5;
    for (size_t k = 0; k < 5; k++) {
      size_t len = strlen(names[k]);
      if (strncmp(a, names[k], len) == 0 && (a[len] == '\0' || a[len] == '=')) {
        which = k;
        value = a[len] == '=' ? a + len + 1 : NULL;
        break;
      }
    }
    if (which == 5) {
      status = rp_cli_usage_error(NULL, "unknown option '%s'", a);
      goto done;
    }
    if (!value) {
      if (i + 1 >= argc) {
        status = rp_cli_usage_error(NULL, "option '%s' needs a value", a);
        goto done;
      }
      value = argv[++i];
    }
    if (which == 0) {
      cli.workspace = value;
    } else if (which == 1) {
      add_dir(&cli.ws.plugin_dirs, &cli.ws.nplugin_dirs, value);
    } else if (which == 2) {
      add_dir(&cli.ws.template_dirs, &cli.ws.ntemplate_dirs, value);
    } else if (which == 4) {
      cli.record = value;
    } else {
      if (strcmp(value, "auto") == 0)
        cli.color = -1;
      else if (strcmp(value, "always") == 0)
        cli.color = 1;
      else if (strcmp(value, "never") == 0)
        cli.color = 0;
      else {
        status = rp_cli_usage_error(NULL, "--color takes auto, always or never, not '%s'", value);
        goto done;
      }
    }
  }
  if (i >= argc) {
    fputs(
        "usage: rapport [-C DIR] [--plugins DIR] [--templates DIR] [-q] [--color WHEN]\n"
        "               COMMAND [ARGS]\n",
        stderr);
    status = rp_cli_usage_error(NULL, "a command is needed, e.g. 'rapport mustache TEMPLATE DATA'");
    goto done;
  }
  const char *name = argv[i];
  if (strcmp(name, "help") == 0) {
    if (i + 1 < argc && !rp_cli_help(argv[i + 1]))
      status = rp_cli_usage_error(NULL, "no command named '%s'", argv[i + 1]);
    else if (i + 1 >= argc)
      rp_cli_help(NULL);
    goto done;
  }
  const command *c = find_command(name);
  if (!c) {
    status = rp_cli_usage_error(NULL, "no command named '%s'", name);
    goto done;
  }
  if (cli.workspace && chdir(cli.workspace) != 0) {
    status =
        rp_cli_usage_error(NULL, "cannot use workspace '%s': %s", cli.workspace, strerror(errno));
    goto done;
  }
  status = c->run(&cli, argc - i, argv + i);
done:
  free(cli.ws.plugin_dirs);
  free(cli.ws.template_dirs);
  return status;
}
