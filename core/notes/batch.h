// A JSON Lines file of sessions, one per line, made into notes on every core
// (core/batch/ runs the lines; each worker has its own rp_notes).
//
// The notes go, in input order, to standard output (an empty line after each
// human-format note; JSON Lines with RP_FMT_JSON), to one sink in order
// (`-o FILE`: the caller commits it whole or not at all), or to one file per
// session in an output folder (DIR/NAME-LINE.EXT). Every failed line is
// named by its line, even when its problem is in a plugin's file.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "notes/notes.h"
#include "util/atomic.h"

// Batches smaller than this (bytes) run on the calling thread when it hands
// its rp_notes: the chunk size of core/batch, so it would be one chunk.
#define RP_NOTES_BATCH_INLINE ((size_t)256 << 10)

typedef struct rp_notes_batch {
  const rp_workspace *ws;
  bool strict;
  rp_format fmt;
  const char *path;     // the .jsonl file
  const char *out_dir;  // one note per line: DIR/NAME-LINE.EXT, or NULL
  rp_atomic *sink;      // every note in order, or NULL (then stdout)
  bool progress;        // a "N sessions" line on standard error as it goes
  // Problems the calling thread met loading the same plugins (reported
  // already): a worker that meets more renders nothing.
  size_t main_errors;
  // The calling thread's own rp_notes (made with the same options), or
  // NULL: a batch small enough for one chunk runs on the calling thread
  // with it, rather than loading the plugins again for workers it would not
  // keep busy (one session as a .jsonl file costs one plugin load, not
  // three). Plugin prints are dropped meanwhile, as on a worker.
  rp_notes *notes;
  // The files the run reads (sessions, plugins, templates): a note is never
  // written over one of them. Returns what the file is, or NULL. May be NULL.
  const char *(*is_input)(void *ud, const char *path);
  void *is_input_ud;
} rp_notes_batch;

typedef struct rp_notes_batch_result {
  long lines;     // sessions (non-blank lines) read
  long rendered;  // notes made and written
  bool problems;  // some line, or the file itself, had a problem (reported)
} rp_notes_batch_result;

// Runs the batch; problems are printed to standard error as they come, in
// input order.
void rp_notes_batch_run(const rp_notes_batch *b, rp_notes_batch_result *result);
