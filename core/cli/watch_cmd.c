// `rapport watch`: render every session once, then keep the notes current
// as sessions, templates and plugins change, with an optional live preview.
//
//   rapport watch [PATH...] [--out-dir DIR] [--format F] [--serve [PORT]] [--strict]
//
// This file reads the flags and connects the pieces: the watch engine
// (core/watch/engine.h) watches, renders and runs the loop until Ctrl-C or
// SIGTERM; the preview server, on the engine's loop, shows the notes.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "watch/engine.h"
#include "serve/preview.h"

typedef struct watch_cmd {
  rp_preview *preview;
} watch_cmd;

// --- the engine's news, for the preview ----------------------------------------------------

static void on_page(void *ud, const char *id, const char *path, const char *html, size_t len) {
  watch_cmd *c = ud;
  if (c->preview) rp_preview_set_page(c->preview, id, path, html, len);
}

static void on_error(void *ud, const char *id, const char *path, const char *problems) {
  watch_cmd *c = ud;
  if (c->preview) rp_preview_set_error(c->preview, id, path, problems);
}

static void on_removed(void *ud, const char *id) {
  watch_cmd *c = ud;
  if (c->preview) rp_preview_remove(c->preview, id);
}

static void on_rebuilt(void *ud) {
  watch_cmd *c = ud;
  if (c->preview) rp_preview_changed(c->preview);
}

static void on_stopping(void *ud) {
  watch_cmd *c = ud;
  if (c->preview) rp_preview_close(c->preview, NULL, NULL);
  c->preview = NULL;
}

// --- the command -------------------------------------------------------------------------

static bool all_digits(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

int rp_cmd_watch(rp_cli *cli, int argc, char **argv) {
  rp_watch_opts wo = {.ws = &cli->ws,
                      .out_dir = "out",
                      .fmt = RP_FMT_MD,
                      .quiet = cli->quiet,
                      .record = rp_cli_record_path(cli)};
  bool serve = false;
  int port = 0;
  const char **roots = rp_xcalloc((size_t)argc + 1, sizeof *roots);
  size_t nroots = 0;
  int status = RP_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("watch");
      goto done;
    } else if (strcmp(a, "--out-dir") == 0 || strcmp(a, "--format") == 0 ||
               strcmp(a, "--debounce") == 0) {
      if (i + 1 >= argc) {
        status = rp_cli_usage_error("watch", "option '%s' needs a value", a);
        goto done;
      }
      const char *v = argv[++i];
      if (a[2] == 'o') {
        wo.out_dir = v;
      } else if (a[2] == 'f') {
        if (!rp_format_parse(v, &wo.fmt)) {
          status = rp_cli_usage_error("watch", "--format takes md, html, txt or json, not '%s'", v);
          goto done;
        }
      } else {
        if (!all_digits(v) || atoi(v) < 1 || atoi(v) > 1000) {
          status = rp_cli_usage_error("watch", "--debounce takes milliseconds from 1 to 1000");
          goto done;
        }
        wo.quiet_ms = (unsigned)atoi(v);
      }
    } else if (strcmp(a, "--serve") == 0) {
      serve = true;
      if (i + 1 < argc && all_digits(argv[i + 1])) {
        port = atoi(argv[++i]);
        if (port < 1 || port > 65535) {
          status = rp_cli_usage_error("watch", "--serve takes a port from 1 to 65535");
          goto done;
        }
      }
    } else if (strcmp(a, "--strict") == 0) {
      wo.strict = true;
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("watch", "unknown option '%s'", a);
      goto done;
    } else if (strcmp(a, "-") == 0) {
      status = rp_cli_usage_error("watch", "watch reads session files, not standard input");
      goto done;
    } else {
      roots[nroots++] = a;
    }
  }
  if (nroots == 0) roots[nroots++] = "sessions";
  wo.roots = roots;
  wo.nroots = nroots;
  signal(SIGPIPE, SIG_IGN);

  watch_cmd c = {0};
  wo.events = (rp_watch_events){on_page, on_error, on_removed, on_rebuilt, on_stopping, &c};
  wo.want_html = serve;
  rp_watch *w = rp_watch_new(&wo);
  rp_diags diags = RP_DIAGS_INIT;
  bool ok = true;
  if (serve) {
    c.preview = rp_preview_start(rp_watch_loop(w), port, &diags);
    ok = c.preview != NULL;
  }
  ok = ok && rp_watch_start(w, &diags) == RP_OK;
  rp_diags_print(&diags, stderr);
  rp_diags_free(&diags);
  if (!ok) {
    on_stopping(&c);
    status = RP_EXIT_PROBLEM;
  } else {
    size_t folders = rp_watch_folders(w);
    int outlen = (int)strlen(wo.out_dir);
    while (outlen > 1 && wo.out_dir[outlen - 1] == '/')
      outlen--;
    if (!cli->quiet)
      fprintf(stderr, "rapport: watching %zu folder%s; notes in %.*s/; Ctrl-C stops\n", folders,
              folders == 1 ? "" : "s", outlen, wo.out_dir);
    if (c.preview) fprintf(stderr, "rapport: preview at %s\n", rp_preview_url(c.preview));
    fflush(stderr);
    rp_watch_run(w);
    if (!cli->quiet) fprintf(stderr, "rapport: stopped\n");
  }
  rp_watch_free(w);
done:
  free(roots);
  return status;
}
