// Fuzzes the JSONL batch reader: rp_batch_run over the input as a stream
// (fmemopen), one worker running inline, each line parsed as JSON and
// written back as a JSON Lines record. The batch runs twice: with the
// default chunk size and line limit, and with tiny ones so that lines
// straddle chunks and some lines are too long.
#include <stdio.h>
#include <stdlib.h>

#include "batch/batch.h"
#include "data/data.h"
#include "fuzz_common.h"
#include "util/buf.h"

enum { INPUT_CAP = 64 * 1024 };

static void *worker_new(void *ud) {
  return rp_doc_new();
}

static void worker_free(void *worker) {
  rp_doc_free(worker);
}

static int line(void *worker, const char *text, size_t len, long lineno, rp_buf *out,
                rp_diags *diags) {
  rp_doc *doc = worker;
  rp_doc_reset(doc);
  rp_value root;
  int rc = rp_json_parse_line(doc, "fuzz.jsonl", text, len, lineno, diags, &root);
  if (rc == RP_OK) rp_doc_write_json_line(doc, root, out);
  return rc;
}

static void emit(void *ud, const rp_buf *out, const rp_diags *diags) {
  *(size_t *)ud += out->len + diags->n;
}

static void run(const uint8_t *data, size_t size, size_t chunk_size, size_t max_line) {
  // With a size of 0, glibc's fmemopen gives a stream at its end.
  static char empty[1];
  FILE *f = fmemopen(size ? (void *)data : empty, size, "r");
  if (!f) abort();
  size_t seen = 0;
  rp_batch_opts o = {
      .workers = 1,
      .chunk_size = chunk_size,
      .max_line = max_line,
      .worker_new = worker_new,
      .worker_free = worker_free,
      .line = line,
      .ud = &seen,
      .emit = emit,
  };
  rp_batch_stats stats;
  rp_diags d = RP_DIAGS_INIT;
  rp_batch_run(f, "fuzz.jsonl", &o, &stats, &d);
  rp_diags_free(&d);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  run(data, size, 0, 0);
  run(data, size, 16, 100);
  return 0;
}
