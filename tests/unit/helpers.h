// Helpers shared by the unit tests: looking at diagnostics as a user sees
// them. Header-only, so each test program stays one source file.
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

// Prints every diagnostic, to see why a test failed.
static inline void dump_diags(const rp_diags *d) {
  fprintf(stderr, "--- %zu diagnostics (%zu errors, %zu dropped):\n", d->n, d->errors, d->dropped);
  rp_diags_print(d, stderr);
}

// Whether `d` holds an entry at path:line:col whose message contains
// `needle`, formatted exactly as users see it (PATH:LINE:COL: error: ...).
static inline bool has_diag(const rp_diags *d, const char *path, int line, int col,
                            const char *needle) {
  char prefix[256];
  snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", path, line, col);
  for (size_t i = 0; i < d->n; i++) {
    char *s = rp_diag_format(&d->items[i]);
    bool ok = strncmp(s, prefix, strlen(prefix)) == 0 && strstr(s + strlen(prefix), needle);
    free(s);
    if (ok) return true;
  }
  return false;
}

// Whether `d` holds an error at path:line, whatever its column and message.
static inline bool has_diag_at_line(const rp_diags *d, const char *path, int line) {
  for (size_t i = 0; i < d->n; i++)
    if (d->items[i].line == line && strcmp(d->items[i].path, path) == 0) return true;
  return false;
}
