// JSON Lines: one JSON value per line, read from a stream a block at a time
// so that a 29 MB batch never has to sit in memory whole, and parsed into a
// document that is reset for every line so that memory stays flat.
#include <errno.h>
#include <stdlib.h>

#include "data/internal.h"

struct rp_jsonl {
  FILE *f;
  char *path;
  char *buf;
  size_t cap;
  size_t start;  // first unread byte
  size_t scan;   // bytes before this (from start) hold no newline
  size_t end;    // end of the bytes read
  long line;     // number of the last line taken
  bool eof;
  bool failed;  // a read error was reported; the stream is done
};

enum { RP_JSONL_BLOCK = 64 * 1024 };

rp_jsonl *rp_jsonl_open(FILE *f, const char *path) {
  rp_jsonl *r = rp_xcalloc(1, sizeof *r);
  r->f = f;
  if (!path) path = "-";
  r->path = rp_xstrndup(path, strlen(path));
  return r;
}

void rp_jsonl_close(rp_jsonl *r) {
  if (!r) return;
  free(r->buf);
  free(r->path);
  free(r);
}

long rp_jsonl_line(const rp_jsonl *r) {
  return r->line;
}

// Reads more of the stream after the unread bytes. Returns false at the end
// of the stream or after reporting a read error.
static bool fill(rp_jsonl *r, rp_diags *diags) {
  if (r->eof) return false;
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
  }
  // The buffer doubles, so a long line takes a logarithmic number of reads.
  if (r->cap - r->end < RP_JSONL_BLOCK) {
    size_t cap = r->cap ? r->cap * 2 : RP_JSONL_BLOCK;
    while (cap - r->end < RP_JSONL_BLOCK)
      cap *= 2;
    r->buf = rp_xrealloc(r->buf, cap);
    r->cap = cap;
  }
  size_t n = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
  r->end += n;
  if (n > 0) return true;
  r->eof = true;
  if (ferror(r->f)) {
    rp_diags_add(diags, RP_SEV_ERROR, r->path, 0, 0, "read error: %s", strerror(errno));
    r->failed = true;
  }
  return false;
}

// Finds the end of the line at start: sets *len (without the newline) and
// returns true, reading more as needed; false at the end of the stream.
// Gives up on lines over RP_DATA_MAX_FILE by setting *too_long.
static bool find_line(rp_jsonl *r, rp_diags *diags, size_t *len, bool *too_long) {
  *too_long = false;
  for (;;) {
    const char *base = r->buf + r->start;
    size_t have = r->end - r->start;
    const char *nl = have > r->scan ? memchr(base + r->scan, '\n', have - r->scan) : NULL;
    if (nl) {
      *len = (size_t)(nl - base);
      return true;
    }
    r->scan = have;
    if (have > RP_DATA_MAX_FILE) {
      *too_long = true;
      return true;
    }
    if (!fill(r, diags)) {
      *len = r->end - r->start;
      return *len > 0 && !r->failed;
    }
  }
}

// Drops the rest of an overlong line, newline included.
static void skip_line(rp_jsonl *r, rp_diags *diags) {
  for (;;) {
    const char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
    if (nl) {
      r->start = (size_t)(nl - r->buf) + 1;
      r->scan = 0;
      return;
    }
    r->start = r->end;
    r->scan = 0;
    if (!fill(r, diags)) return;
  }
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t') return false;
  return true;
}

int rp_jsonl_next(rp_jsonl *r, rp_doc *doc, rp_value *root, rp_diags *diags) {
  rp_value none = {NULL, 0};
  *root = none;
  for (;;) {
    if (r->failed) return 0;
    size_t len;
    bool too_long;
    if (!find_line(r, diags, &len, &too_long)) return r->failed ? RP_EIO : 0;
    r->line++;
    if (too_long) {
      rp_diags_add(diags, RP_SEV_ERROR, r->path, (int)r->line, 1,
                   "invalid JSON: line longer than %u MiB", RP_DATA_MAX_FILE >> 20);
      skip_line(r, diags);
      return RP_ELIMIT;
    }
    const char *s = r->buf + r->start;
    r->start += len < r->end - r->start ? len + 1 : len;  // past the newline
    r->scan = 0;
    if (len > 0 && s[len - 1] == '\r') len--;
    if (r->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
      s += 3;
      len -= 3;
    }
    if (blank(s, len)) continue;
    rp_doc_reset(doc);
    int st = rp_json_parse_line(doc, r->path, s, len, r->line, diags, root);
    return st == RP_OK ? 1 : st;
  }
}
