// JSON Lines batches of sessions (batch.h).
#include "notes/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch/batch.h"
#include "util/file.h"

typedef struct job {
  const rp_notes_batch *b;
  bool inline_notes;  // the one worker uses b->notes
  _Atomic long done;  // lines done, for progress
  bool problems;
} job;

typedef struct worker {
  rp_notes *n;
  job *job;
  rp_note note;
  char *load_error;  // the first problem loading this worker's plugins
} worker;

static void *worker_new(void *ud) {
  job *j = ud;
  worker *w = rp_xcalloc(1, sizeof *w);
  w->job = j;
  // The calling thread loaded the same plugins and reported their
  // problems; a worker that meets one it did not (out of memory) renders
  // nothing rather than notes without a plugin.
  if (j->inline_notes) {
    w->n = j->b->notes;
    return w;
  }
  rp_diags quiet = RP_DIAGS_INIT;
  rp_notes_opts o = {.strict = j->b->strict, .quiet_plugins = true};
  w->n = rp_notes_new(j->b->ws, &o, &quiet);
  if (quiet.errors > j->b->main_errors) {
    for (size_t i = 0; i < quiet.n && !w->load_error; i++)
      if (quiet.items[i].sev == RP_SEV_ERROR)
        w->load_error = rp_xstrndup(quiet.items[i].msg, strlen(quiet.items[i].msg));
  }
  rp_diags_free(&quiet);
  return w;
}

static void worker_free(void *ud) {
  worker *w = ud;
  rp_note_clear(&w->note);
  if (!w->job->inline_notes) rp_notes_free(w->n);
  free(w->load_error);
  free(w);
}

static int session(worker *w, const char *line, size_t len, long lineno, rp_buf *out,
                   rp_diags *diags) {
  const rp_notes_batch *b = w->job->b;
  rp_session_src src = {.path = b->path, .text = line, .len = len, .line = lineno};
  int rc = rp_notes_build(w->n, &src, &w->note, diags);
  if (rc != RP_OK) return rc;
  if (!b->out_dir) {
    size_t mark = out->len;
    rc = rp_notes_render(w->n, &w->note, b->fmt, true, out, diags);
    if (rc != RP_OK) {
      // Nothing of a session with problems reaches the output.
      out->len = mark;
      if (out->data) out->data[mark] = '\0';
    } else if (b->fmt != RP_FMT_JSON) {
      // Notes one after another read as separate notes: an empty line
      // after each (JSON Lines stay one record per line).
      rp_buf_addc(out, '\n');
    }
    return rc;
  }
  rp_buf note = RP_BUF_INIT;
  rc = rp_notes_render(w->n, &w->note, b->fmt, false, &note, diags);
  if (rc == RP_OK) {
    char *target = rp_workspace_output_name(b->out_dir, b->path, lineno, rp_format_ext[b->fmt]);
    const char *what = b->is_input ? b->is_input(b->is_input_ud, target) : NULL;
    if (what) {
      rp_diags_add(diags, RP_SEV_ERROR, target, 0, 0, "not written: it is %s", what);
      rc = RP_EDATA;
    } else {
      rc = rp_write_atomic(target, note.data ? note.data : "", note.len, diags);
    }
    free(target);
  }
  rp_buf_free(&note);
  return rc;
}

static int line_fn(void *ud, const char *line, size_t len, long lineno, rp_buf *out,
                   rp_diags *diags) {
  worker *w = ud;
  const rp_notes_batch *b = w->job->b;
  w->job->done++;
  if (w->load_error) {
    rp_diags_add(diags, RP_SEV_ERROR, b->path, (int)lineno, 1,
                 "no note: the plugins did not load for this session (%s)", w->load_error);
    return RP_EDATA;
  }
  size_t first = diags->n;
  int rc = session(w, line, len, lineno, out, diags);
  if (rc != RP_OK) {
    // Every failed session is named by its line, even when its problems
    // are elsewhere (a plugin's file, a template).
    bool named = false;
    for (size_t i = first; i < diags->n && !named; i++)
      named = diags->items[i].sev == RP_SEV_ERROR && diags->items[i].line == (int)lineno &&
              strcmp(diags->items[i].path, b->path) == 0;
    if (!named)
      rp_diags_add(diags, RP_SEV_ERROR, b->path, (int)lineno, 1,
                   "no note for this session (the problems are above)");
  }
  return rc;
}

static void emit(void *ud, const rp_buf *out, const rp_diags *diags) {
  job *j = ud;
  const rp_notes_batch *b = j->b;
  if (diags->errors) j->problems = true;
  if (b->progress) fputs("\r\033[K", stderr);
  rp_diags_print(diags, stderr);
  if (out->len) {
    if (b->sink)
      rp_atomic_write(b->sink, out->data, out->len);
    else
      fwrite(out->data, 1, out->len, stdout);
  }
  if (b->progress) fprintf(stderr, "%ld sessions", (long)j->done);
}

void rp_notes_batch_run(const rp_notes_batch *b, rp_notes_batch_result *result) {
  memset(result, 0, sizeof *result);
  rp_diags od = RP_DIAGS_INIT;
  int open_status;
  FILE *f = rp_open_input(b->path, &od, &open_status);
  rp_diags_print(&od, stderr);
  rp_diags_free(&od);
  if (!f) {
    result->problems = true;
    return;
  }
  job j = {.b = b};
  rp_batch_opts bo = {0};
  bo.worker_new = worker_new;
  bo.worker_free = worker_free;
  bo.line = line_fn;
  bo.emit = emit;
  bo.ud = &j;
  const char *jobs = getenv("RAPPORT_JOBS");
  if (jobs) bo.workers = atoi(jobs);
  // A batch that fits one chunk runs on this thread with its own rp_notes.
  struct stat st;
  rp_lua_print_fn print = NULL;
  void *print_ud = NULL;
  if (b->notes && (bo.workers == 1 || !jobs) && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
      (size_t)st.st_size < RP_NOTES_BATCH_INLINE) {
    j.inline_notes = true;
    bo.workers = 1;
    rp_plugins *p = rp_notes_plugins(b->notes);
    rp_plugins_get_print(p, &print, &print_ud);
    rp_plugins_set_print(p, NULL, NULL);
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_batch_stats stats = {0};
  if (rp_batch_run(f, b->path, &bo, &stats, &diags) != RP_OK) j.problems = true;
  if (diags.errors) j.problems = true;
  rp_diags_print(&diags, stderr);
  rp_diags_free(&diags);
  if (j.inline_notes) rp_plugins_set_print(rp_notes_plugins(b->notes), print, print_ud);
  fclose(f);
  result->lines = stats.lines;
  result->rendered = stats.lines - stats.failed;
  result->problems = j.problems;
}
