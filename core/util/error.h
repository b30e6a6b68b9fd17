// Status codes and diagnostics: Rapport's one way to fail.
//
// Functions that can fail return an rp_status (RP_OK is 0; failures are
// negative, named by the X-macro map below) and, where a person must be told
// what went wrong, add one or more rp_diag entries to an rp_diags collector.
// Every diagnostic prints as `PATH:LINE:COL: error: MESSAGE`, the format that
// compilers use, so editors can jump to it. Messages name fields and tags but
// never print the values of a session's fields.
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define RP_STATUS_MAP(X)                        \
  X(OK, 0, "success")                           \
  X(ENOMEM, -1, "out of memory")                \
  X(EIO, -2, "input/output error")              \
  X(ESYNTAX, -3, "syntax error")                \
  X(EDATA, -4, "invalid data")                  \
  X(ELIMIT, -5, "limit exceeded")               \
  X(ESTRICT, -6, "missing name in strict mode") \
  X(ENOTFOUND, -7, "not found")                 \
  X(EUSAGE, -8, "usage error")                  \
  X(ELAMBDA, -9, "lambda failed")               \
  X(EFILTER, -10, "filter failed")              \
  X(EAUTH, -11, "wrong passphrase")             \
  X(EVERIFY, -12, "verification failed")        \
  X(ELOCKED, -13, "signed and locked")

typedef enum rp_status {
#define RP_STATUS_ENUM(name, code, text) RP_##name = code,
  RP_STATUS_MAP(RP_STATUS_ENUM)
#undef RP_STATUS_ENUM
} rp_status;

// "RP_ESYNTAX" and "syntax error" for RP_ESYNTAX; static strings.
const char *rp_status_name(rp_status s);
const char *rp_status_text(rp_status s);

typedef enum rp_severity { RP_SEV_ERROR, RP_SEV_WARNING, RP_SEV_NOTE } rp_severity;

typedef struct rp_diag {
  rp_severity sev;
  char *path;  // owned; "-" for standard input, never NULL
  int line;    // 1-based; 0 when the problem has no position
  int col;     // 1-based, counted in bytes; 0 when unknown
  char *msg;   // owned
} rp_diag;

// A collector of diagnostics. Zero-initialise it (RP_DIAGS_INIT); free it
// with rp_diags_free. After `limit` entries (default 1000) further entries are
// counted but not stored, so a pathological input cannot exhaust memory with
// messages; rp_diags_print says how many were dropped.
typedef struct rp_diags {
  rp_diag *items;
  size_t n, cap;
  size_t errors;   // errors added, stored or not
  size_t dropped;  // entries not stored because of the limit
  size_t limit;    // 0 means the default
} rp_diags;

#define RP_DIAGS_INIT \
  { NULL, 0, 0, 0, 0, 0 }

// Adds an entry; a NULL `d` (a caller that wants no report) records nothing.
void rp_diags_add(rp_diags *d, rp_severity sev, const char *path, int line, int col,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void rp_diags_vadd(rp_diags *d, rp_severity sev, const char *path, int line, int col,
                   const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
// Appends every entry of `from` to `to` and empties `from`.
void rp_diags_move(rp_diags *to, rp_diags *from);
// Orders entries from..n by path, line and column (stable), so a person
// reads the problems of a file from top to bottom.
void rp_diags_sort(rp_diags *d, size_t from);
// Prints each entry as one line `PATH:LINE:COL: error: MESSAGE`.
void rp_diags_print(const rp_diags *d, FILE *f);
// Formats entry i as above, without the newline, into a malloc'd string.
// Control characters in the path and the message are shown escaped (see
// rp_diag_escape), so every entry is one line and no text a plugin or a
// file name carries can pose as another problem or drive the terminal.
char *rp_diag_format(const rp_diag *d);
// Appends the len bytes at s to b with every control character escaped:
// newline, carriage return and tab as \n, \r, \t; the other C0 controls
// and DEL as \xHH; the C1 controls (U+0080..U+009F, in UTF-8) as \u00HH.
// Everything else, other UTF-8 included, is copied as it is.
struct rp_buf;
void rp_diag_escape(struct rp_buf *b, const char *s, size_t len);
void rp_diags_clear(rp_diags *d);
void rp_diags_free(rp_diags *d);
