// The batch runner of batch.h: a reader, a pool of workers, an ordered writer.
//
// Chunks live in a small ring of slots. A slot moves FREE -> READY (the
// reader filled it) -> BUSY (a worker took it) -> DONE (processed) -> FREE
// (the writer emitted it). The calling thread is both reader and writer; only
// it touches a FREE slot, only the worker that took it touches a BUSY one, so
// the mutex guards nothing but the states.
#include "batch/batch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum slot_state { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE } slot_state;

typedef struct slot {
  slot_state state;
  long seq;
  long first_line;  // line number of the chunk's first line
  rp_buf in;        // whole lines
  rp_buf out;
  rp_diags diags;
  long lines, failed;
} slot;

typedef struct batch {
  const rp_batch_opts *opts;
  const char *path;
  FILE *in;
  size_t chunk_size, max_line;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  slot *slots;
  size_t nslots;
  bool closing;
  // Reader state (calling thread only).
  rp_buf carry;  // the start of a line whose end is not read yet
  long next_line;
  bool eof, read_error;
  int read_errno;
} batch;

enum { RP_BATCH_MAX_WORKERS = 8, RP_WORKER_STACK = 8 << 20 };

static long count_lines(const char *s, size_t len) {
  long n = 0;
  const char *end = s + len;
  while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
    n++;
    s++;
  }
  return n;
}

// Reads up to `want` more bytes into b; sets eof / read_error.
static void read_more(batch *b, rp_buf *into, size_t want) {
  rp_buf_grow(into, want);
  size_t got = fread(into->data + into->len, 1, want, b->in);
  into->len += got;
  into->data[into->len] = '\0';
  if (got < want) {
    if (ferror(b->in)) {
      b->read_error = true;
      b->read_errno = errno;
    }
    b->eof = true;
  }
}

// Fills a FREE slot with the next whole lines. Returns false when the input
// is exhausted and the slot stays empty.
static bool fill(batch *b, slot *s) {
  rp_buf_clear(&s->in);
  s->first_line = b->next_line;
  rp_buf_add(&s->in, b->carry.data, b->carry.len);
  rp_buf_clear(&b->carry);
  // Only newly read bytes are searched for a line end, so a long line costs
  // time linear in its length.
  size_t scanned = 0;
  size_t keep = 0;  // bytes up to and including the last newline seen; 0: none
  for (;;) {
    for (size_t i = s->in.len; i > scanned; i--) {
      if (s->in.data[i - 1] == '\n') {
        keep = i;
        break;
      }
    }
    scanned = s->in.len;
    if (b->eof) break;  // everything left, the last line without its newline too
    if (keep && s->in.len >= b->chunk_size) {
      rp_buf_add(&b->carry, s->in.data + keep, s->in.len - keep);
      s->in.len = keep;
      break;
    }
    if (!keep && s->in.len > b->max_line) {
      // One line longer than the limit: report it and drop it unread.
      rp_diags_add(&s->diags, RP_SEV_ERROR, b->path, (int)b->next_line, 1,
                   "line longer than %zu MiB", b->max_line >> 20);
      s->lines++;
      s->failed++;
      rp_buf_clear(&s->in);
      scanned = 0;
      int ch;
      while ((ch = getc(b->in)) != EOF && ch != '\n') {
      }
      if (ch == EOF) b->eof = true;
      b->next_line++;
      s->first_line = b->next_line;
      continue;
    }
    read_more(b, &s->in, b->chunk_size);
  }
  b->next_line += count_lines(s->in.data ? s->in.data : "", s->in.len);
  if (s->in.len && s->in.data[s->in.len - 1] != '\n') b->next_line++;
  return s->in.len > 0 || s->diags.n > 0;
}

static void process(batch *b, void *worker, slot *s) {
  const char *p = s->in.data, *end = p + s->in.len;
  long lineno = s->first_line;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *stop = le;
    if (stop > p && stop[-1] == '\r') stop--;
    const char *q = p;
    while (q < stop && (*q == ' ' || *q == '\t'))
      q++;
    if (q < stop) {
      s->lines++;
      if (b->opts->line(worker, p, (size_t)(stop - p), lineno, &s->out, &s->diags) < 0) s->failed++;
    }
    lineno++;
    p = nl ? nl + 1 : end;
  }
}

static void *worker_main(void *arg) {
  batch *b = arg;
  void *worker = b->opts->worker_new ? b->opts->worker_new(b->opts->ud) : NULL;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    slot *pick = NULL;
    for (size_t i = 0; i < b->nslots; i++) {
      slot *s = &b->slots[i];
      if (s->state == SLOT_READY && (!pick || s->seq < pick->seq)) pick = s;
    }
    if (!pick) {
      if (b->closing) break;
      pthread_cond_wait(&b->work, &b->mu);
      continue;
    }
    pick->state = SLOT_BUSY;
    pthread_mutex_unlock(&b->mu);
    process(b, worker, pick);
    pthread_mutex_lock(&b->mu);
    pick->state = SLOT_DONE;
    pthread_cond_broadcast(&b->done);
  }
  pthread_mutex_unlock(&b->mu);
  if (b->opts->worker_free) b->opts->worker_free(worker);
  return NULL;
}

static int worker_count(const rp_batch_opts *opts) {
  if (opts->workers > 0)
    return opts->workers > RP_BATCH_MAX_WORKERS ? RP_BATCH_MAX_WORKERS : opts->workers;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  return n > RP_BATCH_MAX_WORKERS ? RP_BATCH_MAX_WORKERS : (int)n;
}

static void emit(batch *b, slot *s, rp_batch_stats *st) {
  if (b->opts->emit) b->opts->emit(b->opts->ud, &s->out, &s->diags);
  st->lines += s->lines;
  st->failed += s->failed;
  s->lines = s->failed = 0;
  rp_buf_clear(&s->out);
  rp_diags_clear(&s->diags);
}

int rp_batch_run(FILE *in, const char *path, const rp_batch_opts *opts, rp_batch_stats *stats,
                 rp_diags *diags) {
  batch b = {0};
  b.opts = opts;
  b.path = path ? path : "-";
  b.in = in;
  b.chunk_size = opts->chunk_size ? opts->chunk_size : 256 * 1024;
  b.max_line = opts->max_line ? opts->max_line : (size_t)64 << 20;
  b.next_line = 1;
  rp_batch_stats st = {0, 0};
  int nworkers = worker_count(opts);

  if (nworkers == 1) {
    // No threads: read, process and emit each chunk in turn.
    slot s = {0};
    void *worker = opts->worker_new ? opts->worker_new(opts->ud) : NULL;
    while (fill(&b, &s)) {
      process(&b, worker, &s);
      emit(&b, &s, &st);
    }
    if (opts->worker_free) opts->worker_free(worker);
    rp_buf_free(&s.in);
    rp_buf_free(&s.out);
    rp_diags_free(&s.diags);
  } else {
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.work, NULL);
    pthread_cond_init(&b.done, NULL);
    b.nslots = (size_t)nworkers * 2 + 1;
    b.slots = rp_xcalloc(b.nslots, sizeof *b.slots);
    pthread_t threads[RP_BATCH_MAX_WORKERS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    // Rendering recurses through sections and partials: give workers the
    // stack a main thread has.
    pthread_attr_setstacksize(&attr, RP_WORKER_STACK);
    int started = 0;
    for (int i = 0; i < nworkers; i++)
      if (pthread_create(&threads[started], &attr, worker_main, &b) == 0) started++;
    pthread_attr_destroy(&attr);
    if (started == 0) {
      // No thread could start: do the work here.
      slot *s = &b.slots[0];
      void *worker = opts->worker_new ? opts->worker_new(opts->ud) : NULL;
      while (fill(&b, s)) {
        process(&b, worker, s);
        emit(&b, s, &st);
      }
      if (opts->worker_free) opts->worker_free(worker);
    } else {
      long next_seq = 0, next_emit = 0;
      for (;;) {
        // Hand out every free slot while there is input.
        for (size_t i = 0; i < b.nslots && !b.eof; i++) {
          slot *s = &b.slots[i];
          if (s->state != SLOT_FREE) continue;
          if (!fill(&b, s)) break;
          pthread_mutex_lock(&b.mu);
          s->seq = next_seq++;
          s->state = SLOT_READY;
          pthread_cond_signal(&b.work);
          pthread_mutex_unlock(&b.mu);
        }
        // Write the oldest chunk once it is done.
        slot *oldest = NULL;
        for (size_t i = 0; i < b.nslots; i++)
          if (b.slots[i].state != SLOT_FREE && b.slots[i].seq == next_emit) oldest = &b.slots[i];
        if (!oldest) break;
        pthread_mutex_lock(&b.mu);
        while (oldest->state != SLOT_DONE)
          pthread_cond_wait(&b.done, &b.mu);
        pthread_mutex_unlock(&b.mu);
        emit(&b, oldest, &st);
        oldest->state = SLOT_FREE;
        next_emit++;
      }
      pthread_mutex_lock(&b.mu);
      b.closing = true;
      pthread_cond_broadcast(&b.work);
      pthread_mutex_unlock(&b.mu);
      for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    }
    for (size_t i = 0; i < b.nslots; i++) {
      rp_buf_free(&b.slots[i].in);
      rp_buf_free(&b.slots[i].out);
      rp_diags_free(&b.slots[i].diags);
    }
    free(b.slots);
    pthread_cond_destroy(&b.work);
    pthread_cond_destroy(&b.done);
    pthread_mutex_destroy(&b.mu);
  }
  rp_buf_free(&b.carry);
  if (stats) *stats = st;
  if (b.read_error) {
    rp_diags_add(diags, RP_SEV_ERROR, b.path, 0, 0, "cannot read: %s", strerror(b.read_errno));
    return RP_EIO;
  }
  return st.failed ? RP_EDATA : RP_OK;
}
