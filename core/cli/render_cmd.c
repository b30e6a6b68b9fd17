// `rapport render`: session files into finished notes.
//
//   rapport render FILE... [-o OUT] [--out-dir DIR] [--format md|html|txt|json] [--strict]
//
// Each session is validated against its note type, computed by the plugins
// (rules, checklist summaries, measure scores) and rendered through the note
// type's Markdown layout, with every value escaped so that what a therapist
// typed never turns into markup. The Markdown then becomes HTML or plain text
// with cmark-gfm, or the note is written as JSON data. A session with problems
// produces no note; the others of the run still render. Outputs are written
// atomically with mode 0600, never over an input file.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "notes/batch.h"
#include "notes/notes.h"
#include "record/record.h"
#include "util/atomic.h"
#include "util/dir.h"

static const char *is_input(void *ud, const char *path) {
  return rp_inputs_find(ud, path);
}

// An output already named by an earlier session of the run (two sessions
// named jd.yaml in different folders): the second is refused, both named.
typedef struct target_list {
  char **targets;
  const char **sources;
  size_t n;
} target_list;

static const char *target_taken(const target_list *tl, const char *target) {
  for (size_t i = 0; i < tl->n; i++)
    if (strcmp(tl->targets[i], target) == 0) return tl->sources[i];
  return NULL;
}

static void target_add(target_list *tl, const char *target, const char *source) {
  tl->targets = rp_xrealloc(tl->targets, (tl->n + 1) * sizeof *tl->targets);
  tl->sources = rp_xrealloc(tl->sources, (tl->n + 1) * sizeof *tl->sources);
  tl->targets[tl->n] = rp_xstrndup(target, strlen(target));
  tl->sources[tl->n++] = source;
}

static void target_list_free(target_list *tl) {
  for (size_t i = 0; i < tl->n; i++)
    free(tl->targets[i]);
  free(tl->targets);
  free(tl->sources);
}

// Renders one session file to `target` (NULL: standard output). Returns
// whether its note was written.
static bool render_one(rp_notes *n, rp_note *note, const char *file, rp_format fmt,
                       const char *target, const rp_inputs *inputs, rp_record *rec,
                       rp_diags *diags) {
  rp_session_src src = {.path = file};
  if (rp_notes_build(n, &src, note, diags) != RP_OK) return false;
  // A session signed in the record shows its signature.
  if (rp_record_mark_note(rec, note, file, diags) != RP_OK) return false;
  rp_buf out = RP_BUF_INIT;
  bool ok = false;
  const char *what;
  if (rp_notes_render(n, note, fmt, false, &out, diags) == RP_OK) {
    if (!target) {
      fwrite(out.data, 1, out.len, stdout);
      ok = true;
    } else if (rp_same_file(target, file)) {
      rp_diags_add(diags, RP_SEV_ERROR, target, 0, 0, "not written: it is the session file itself");
    } else if ((what = rp_inputs_find(inputs, target))) {
      rp_diags_add(diags, RP_SEV_ERROR, target, 0, 0, "not written: it is %s", what);
    } else {
      ok = rp_write_atomic(target, out.data ? out.data : "", out.len, diags) == RP_OK;
    }
  }
  rp_buf_free(&out);
  return ok;
}

int rp_cmd_render(rp_cli *cli, int argc, char **argv) {
  const char *out_path = NULL, *out_dir = NULL;
  rp_format fmt = RP_FMT_MD;
  bool strict = false;
  const char **files = rp_xcalloc((size_t)argc, sizeof *files);
  size_t nfiles = 0, nstdin = 0, njsonl = 0;
  int status = RP_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("render");
      goto done;
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out-dir") == 0 || strcmp(a, "--format") == 0) {
      if (i + 1 >= argc) {
        status = rp_cli_usage_error("render", "option '%s' needs a value", a);
        goto done;
      }
      const char *v = argv[++i];
      if (a[1] == 'o')
        out_path = v;
      else if (a[2] == 'o')
        out_dir = v;
      else if (!rp_format_parse(v, &fmt)) {
        status = rp_cli_usage_error("render", "--format takes md, html, txt or json, not '%s'", v);
        goto done;
      }
    } else if (strcmp(a, "--strict") == 0) {
      strict = true;
    } else if (a[0] == '-' && a[1]) {
      status = rp_cli_usage_error("render", "unknown option '%s'", a);
      goto done;
    } else {
      if (strcmp(a, "-") == 0) nstdin++;
      if (rp_workspace_is_batch(a)) njsonl++;
      files[nfiles++] = a;
    }
  }
  if (nfiles == 0) {
    status = rp_cli_usage_error("render", "give session files to render");
    goto done;
  }
  if (out_path && out_dir) {
    status = rp_cli_usage_error("render", "give -o or --out-dir, not both");
    goto done;
  }
  if (out_path && nfiles != 1) {
    status = rp_cli_usage_error("render", "-o takes one session file (or one JSONL file)");
    goto done;
  }
  if (nfiles > 1 && !out_path && !out_dir) out_dir = "out";
  if (nstdin > 1 || (nstdin && out_dir)) {
    status = rp_cli_usage_error(
        "render", "a session from standard input goes to standard output or -o, once");
    goto done;
  }
  if (njsonl && fmt == RP_FMT_HTML && !out_dir) {
    status = rp_cli_usage_error("render",
                                "HTML notes of a JSONL batch are separate pages: give --out-dir");
    goto done;
  }
  rp_diags diags = RP_DIAGS_INIT;
  // One session file: one note, nothing to keep apart from another session.
  rp_notes_opts no = {.strict = strict, .one_session = nfiles == 1 && njsonl == 0};
  rp_notes *n = rp_notes_new(&cli->ws, &no, &diags);
  rp_note note = RP_NOTE_INIT;
  size_t load_errors = diags.errors;
  bool problems = diags.errors > 0;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  // Every file the run reads: no note is written over one of them.
  rp_inputs *inputs = rp_inputs_new();
  rp_inputs_add_workspace(inputs, &cli->ws);
  for (size_t i = 0; i < nfiles; i++) {
    if (strcmp(files[i], "-") == 0)
      rp_inputs_add_fd(inputs, STDIN_FILENO, "the session read from standard input");
    else
      rp_inputs_add(inputs, files[i], "a session file of this run");
  }
  // The workspace's other sessions too (a note is never written over a
  // session), after the run's own so that those are named as such.
  rp_inputs_add_sessions(inputs, "sessions", out_dir, "a session file of the workspace");
  target_list taken = {0};
  // The record, when the workspace has one: signed notes show it.
  rp_record *rec = NULL;
  if (rp_record_open_if_any(rp_cli_record_path(cli), &rec, &diags) != RP_OK) problems = true;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  long rendered = 0, total = 0;
  bool progress = (nfiles > 1 || njsonl) && isatty(STDERR_FILENO) && !cli->quiet;
  if (out_dir && !rp_is_dir(out_dir) && mkdir(out_dir, 0700) != 0) {
    fprintf(stderr, "%s: error: cannot create the output folder: %s\n", out_dir, strerror(errno));
    problems = true;
    goto finish;
  }
  for (size_t i = 0; i < nfiles; i++) {
    if (rp_workspace_is_batch(files[i])) {
      rp_notes_batch job = {.ws = &cli->ws,
                            .strict = strict,
                            .fmt = fmt,
                            .path = files[i],
                            .out_dir = out_dir,
                            .progress = progress,
                            .main_errors = load_errors,
                            .notes = n,
                            .is_input = is_input,
                            .is_input_ud = inputs};
      rp_atomic sink;
      if (out_path) {
        const char *what = rp_inputs_find(inputs, out_path);
        if (what) {
          rp_diags_add(&diags, RP_SEV_ERROR, out_path, 0, 0, "not written: it is %s",
                       rp_same_file(out_path, files[i]) ? "the session file itself" : what);
          problems = true;
          break;
        }
        if (rp_atomic_open(&sink, out_path, &diags) != RP_OK) break;
        job.sink = &sink;
      }
      rp_notes_batch_result res;
      rp_notes_batch_run(&job, &res);
      total += res.lines;
      rendered += res.rendered;
      if (res.problems) problems = true;
      // A batch into one file is written whole or not at all.
      if (job.sink && problems) {
        rp_atomic_abort(&sink);
        rp_diags_add(&diags, RP_SEV_ERROR, out_path, 0, 0,
                     "not written: some sessions have problems (reported above)");
        rendered = 0;
      } else if (job.sink && rp_atomic_commit(&sink, &diags) != RP_OK) {
        rendered = 0;
      }
      continue;
    }
    total++;
    char *target =
        out_path
            ? rp_xstrndup(out_path, strlen(out_path))
            : (out_dir ? rp_workspace_output_name(out_dir, files[i], 0, rp_format_ext[fmt]) : NULL);
    const char *first = target ? target_taken(&taken, target) : NULL;
    if (first) {
      rp_diags_add(&diags, RP_SEV_ERROR, files[i], 0, 0,
                   "not written: %s is the note of %s already (give the sessions different "
                   "names, or render them into different folders)",
                   target, first);
    } else {
      if (target) target_add(&taken, target, files[i]);
      if (render_one(n, &note, files[i], fmt, target, inputs, rec, &diags)) rendered++;
    }
    free(target);
    if (diags.errors) problems = true;
    if (progress) fputs("\r\033[K", stderr);
    rp_diags_print(&diags, stderr);
    rp_diags_clear(&diags);
    if (progress) fprintf(stderr, "%zu/%zu files", i + 1, nfiles);
  }
  if (diags.errors) problems = true;
  rp_diags_print(&diags, stderr);
  rp_diags_clear(&diags);
  if (progress) fputs("\r\033[K", stderr);
  if ((out_dir || njsonl) && !cli->quiet) {
    const char *where = out_dir ? out_dir : out_path ? out_path : "standard output";
    fprintf(stderr, "rapport: rendered %ld of %ld session%s into %s\n", rendered, total,
            total == 1 ? "" : "s", where);
  }
finish:
  if (fflush(stdout) != 0) problems = true;
  status = problems ? RP_EXIT_PROBLEM : RP_EXIT_OK;
  target_list_free(&taken);
  rp_record_close(rec);
  rp_inputs_free(inputs);
  rp_note_clear(&note);
  rp_notes_free(n);
  rp_diags_free(&diags);
done:
  free(files);
  return status;
}
