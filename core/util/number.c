// JavaScript's Number.prototype.toString (ECMA-262, Number::toString), on
// top of printf's correctly rounded %e.
#include "util/number.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static size_t put_uint(uint64_t u, char *out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

// The shortest decimal digits that read back as a (finite, > 0): digits
// without trailing zeros into d, their count in *k, and *e such that
// a = 0.d1d2... * 10^e (JavaScript's n).
static void shortest_digits(double a, char *d, int *k, int *e) {
  // Most numbers in a note have a few decimals (8.5, 22.7). When a * 10^p
  // is, for the smallest p up to 6, a whole number m below 2^53 with m / 10^p
  // == a, those p decimals read back as a (the division of two exact
  // integers is correctly rounded, as strtod is), and no shorter form does:
  // the digits of m are the shortest, found without printf.
  static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
  for (int p = 1; p <= 6; p++) {
    double scaled = a * p10[p];
    if (scaled >= 9007199254740992.0) break;
    double m = nearbyint(scaled);
    if (m < 1 || m / p10[p] != a) continue;
    int n = (int)put_uint((uint64_t)m, d), digits = n;
    while (n > 1 && d[n - 1] == '0')
      n--;
    *k = n;
    *e = digits - p;
    return;
  }
  char tmp[40];
  // For a normal double the correctly rounded 15-digit form, trailing zeros
  // dropped, is the shortest whenever the shortest has at most 15 digits
  // (it lies within half a 15-digit unit of a). Subnormals have fewer
  // significant bits, so they search from one digit up.
  for (int p = a < DBL_MIN ? 1 : 15; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, a);
    if (p == 17 || strtod(tmp, NULL) == a) break;
  }
  // tmp is "d.ddde+XX"; the decimal point may be another locale's.
  int n = 0;
  const char *q = tmp;
  for (; *q && *q != 'e'; q++)
    if (is_digit(*q)) d[n++] = *q;
  while (n > 1 && d[n - 1] == '0')
    n--;
  *k = n;
  *e = atoi(q + 1) + 1;
}

size_t rp_number_format(double x, char *buf) {
  size_t o = 0;
  if (isnan(x)) {
    memcpy(buf, "NaN", 4);
    return 3;
  }
  if (x < 0) buf[o++] = '-';
  double a = fabs(x);
  if (isinf(a)) {
    memcpy(buf + o, "Infinity", 9);
    return o + 8;
  }
  if (a == 0) {  // -0 too
    memcpy(buf, "0", 2);
    return 1;
  }
  // Integers up to 2^53 are exact, and their own digits are the shortest.
  if (a <= 9007199254740992.0 && a == floor(a)) {
    o += put_uint((uint64_t)a, buf + o);
    buf[o] = '\0';
    return o;
  }
  char d[32] = {0};  // at most 17 digits; sized past 21 so every branch below is in bounds
  int k, n;
  shortest_digits(a, d, &k, &n);
  if (k <= n && n <= 21) {  // 1e20 -> 100000000000000000000
    memcpy(buf + o, d, (size_t)k);
    o += (size_t)k;
    for (int i = k; i < n; i++)
      buf[o++] = '0';
  } else if (0 < n && n <= 21) {  // 123.45
    memcpy(buf + o, d, (size_t)n);
    o += (size_t)n;
    buf[o++] = '.';
    memcpy(buf + o, d + n, (size_t)(k - n));
    o += (size_t)(k - n);
  } else if (-6 < n && n <= 0) {  // 0.000123
    buf[o++] = '0';
    buf[o++] = '.';
    for (int i = 0; i < -n; i++)
      buf[o++] = '0';
    memcpy(buf + o, d, (size_t)k);
    o += (size_t)k;
  } else {  // 1.5e-7, 1e+21
    buf[o++] = d[0];
    if (k > 1) {
      buf[o++] = '.';
      memcpy(buf + o, d + 1, (size_t)(k - 1));
      o += (size_t)(k - 1);
    }
    buf[o++] = 'e';
    buf[o++] = n - 1 < 0 ? '-' : '+';
    o += put_uint((uint64_t)(n - 1 < 0 ? 1 - n : n - 1), buf + o);
  }
  buf[o] = '\0';
  return o;
}
