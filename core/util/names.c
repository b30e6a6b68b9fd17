// Plain names and the nearest known name (names.h).
#include "util/names.h"

#include <stdint.h>
#include <string.h>

enum { NAME_MAX_LEN = 64 };

bool rp_name_is_plain(const char *s, size_t len) {
  if (len == 0 || len > NAME_MAX_LEN) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c) {
  size_t m = a < b ? a : b;
  return m < c ? m : c;
}

// The optimal string alignment distance (Damerau-Levenshtein without
// editing a substring twice), in three rows of the dynamic-programming table.
size_t rp_name_distance(const char *a, size_t alen, const char *b, size_t blen) {
  if (alen > NAME_MAX_LEN || blen > NAME_MAX_LEN) return SIZE_MAX;
  size_t rows[3][NAME_MAX_LEN + 1];
  size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= blen; j++)
    prev[j] = j;
  for (size_t i = 1; i <= alen; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= blen; j++) {
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < cur[j])
        cur[j] = prev2[j - 2] + 1;
    }
    size_t *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[blen];
}

const char *rp_name_nearest(const char *s, size_t len, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    if (!names[i]) continue;
    size_t nlen = strlen(names[i]);
    if (nlen == len && memcmp(names[i], s, len) == 0) return NULL;
    size_t d = rp_name_distance(s, len, names[i], nlen);
    size_t shorter = len < nlen ? len : nlen;
    size_t limit = nlen <= 4 ? 1 : nlen <= 8 ? 2 : 3;
    if (d <= limit && d < shorter && d < best_d) {
      best = names[i];
      best_d = d;
    }
  }
  return best;
}
