// Shared libraries opened when a command first needs them.
//
// Every library the binary is linked with is loaded, and all of its symbols
// bound, by every process before main: for SQLite and libsodium that is
// about 1.8 million instructions and a millisecond of a one-note run, and
// only the commands that touch the record use them. Such a library is
// opened with dlopen on first use instead, by the name the dynamic loader
// knows it by (its SONAME, read from the library at build time), from the
// same places and with the same checks as a linked one.
//
// A module lists the functions it calls and gets a table of pointers typed
// from the library's own header, so every call is checked against the
// header's prototype:
//
//   #define RP_ZLIB_FUNCTIONS(X) X(deflate) X(inflate)
//   typedef struct { RP_ZLIB_FUNCTIONS(RP_DYNLIB_POINTER) } zlib_fns;
//   static zlib_fns fns;
//   static const char *const names[] = {RP_ZLIB_FUNCTIONS(RP_DYNLIB_NAME)};
//   static rp_dynlib lib = RP_DYNLIB_INIT("libz.so.1", "zlib", names, &fns);
//   ... if (rp_dynlib_open(&lib, diags) == RP_OK) fns.deflate(...);
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define RP_DYNLIB_POINTER(f) __typeof__(f) *f;
#define RP_DYNLIB_NAME(f) #f,

typedef struct rp_dynlib {
  const char *soname;        // "libsqlite3.so.0"
  const char *what;          // "SQLite", for messages
  const char *const *names;  // the functions, in the order of the table
  void *table;               // as many function pointers as names
  size_t n;
  int state;        // 0 not tried, 1 open, -1 failed (read atomically)
  char error[256];  // why it failed
} rp_dynlib;

#define RP_DYNLIB_INIT(soname, what, names, table)                            \
  {                                                                           \
    (soname), (what), (names), (table), sizeof(names) / sizeof *(names), 0, { \
      0                                                                       \
    }                                                                         \
  }

// Opens the library and fills its table, once per process (any thread may
// call it, any number of times). Returns RP_OK, or RP_EIO with an error
// naming the library and what is missing at "rapport" in diags (which may be
// NULL) when it cannot be opened or lacks a function: the table is then
// left empty and must not be used.
int rp_dynlib_open(rp_dynlib *lib, rp_diags *diags);

// One file's library: defines the table NAME_table, the library NAME_lib
// (for rp_dynlib_open) and NAME(), which opens it or ends the run
// (rp_dynlib_need) and gives the table: NAME()->function(args).
#define RP_DYNLIB_STATIC(name, soname, what, FUNCTIONS)                                    \
  static struct { FUNCTIONS(RP_DYNLIB_POINTER) } name##_table;                             \
  static const char *const name##_names[] = {FUNCTIONS(RP_DYNLIB_NAME)};                   \
  static rp_dynlib name##_lib = RP_DYNLIB_INIT(soname, what, name##_names, &name##_table); \
  static inline __typeof__(name##_table) *name(void) {                                     \
    rp_dynlib_need(&name##_lib);                                                           \
    return &name##_table;                                                                  \
  }

// For a call that has no way to report: opens the library, or ends the
// process with the error on standard error and exit status 1, as a missing
// linked library would have ended it at start.
void rp_dynlib_need(rp_dynlib *lib);
