// Batches: many records of a line-oriented stream (JSON Lines) processed on
// every core, with output in input order and memory that stays flat.
//
// The calling thread reads the stream in chunks cut at line ends and writes
// results; worker threads each take a whole chunk and call `line` for each of
// its non-blank lines with their own worker state (e.g. a data tree and, later,
// a Lua state), appending output and diagnostics to the chunk. Chunks are
// written out, with their diagnostics, strictly in input order, so the result
// is byte-for-byte what a single thread would print. At most a fixed number of
// chunks are in flight, so memory does not grow with the length of the input.
#pragma once

#include <stdio.h>

#include "util/buf.h"
#include "util/error.h"

// Processes one line (without its line ending; never blank). `lineno` is its
// 1-based line number in the stream. Appends output to `out` and problems to
// `diags`. Returns RP_OK or a negative rp_status (the line counts as failed;
// the batch goes on).
typedef int (*rp_batch_line_fn)(void *worker, const char *line, size_t len, long lineno,
                                rp_buf *out, rp_diags *diags);

typedef struct rp_batch_opts {
  int workers;        // threads; 0 means one per online CPU (at most 8); 1 runs inline
  size_t chunk_size;  // bytes per chunk; 0 means 256 KiB (a longer line grows its chunk)
  size_t max_line;    // longer lines are reported and skipped; 0 means 64 MiB
  // Per-worker state: made and freed on the worker's own thread.
  void *(*worker_new)(void *ud);
  void (*worker_free)(void *worker);
  rp_batch_line_fn line;
  void *ud;
  // Called on the calling thread, in input order, after each chunk with that
  // chunk's output and diagnostics (which it may print and must not keep).
  void (*emit)(void *ud, const rp_buf *out, const rp_diags *diags);
} rp_batch_opts;

typedef struct rp_batch_stats {
  long lines;   // non-blank lines processed
  long failed;  // lines whose `line` call failed, or that were too long
} rp_batch_stats;

// Runs the batch over `in` (borrowed; not closed). `path` names the stream in
// messages. Returns RP_OK when every line succeeded, RP_EDATA when some line
// failed, or RP_EIO when the stream could not be read (reported to diags).
int rp_batch_run(FILE *in, const char *path, const rp_batch_opts *opts, rp_batch_stats *stats,
                 rp_diags *diags);
