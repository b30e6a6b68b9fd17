// JavaScript's Number.prototype.toString for finite doubles (ECMA-262,
// Number::toString), on top of printf's correctly rounded %e.
#include "util/number.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t rp_number_format(double x, char *buf) {
  if (isnan(x)) return (size_t)snprintf(buf, RP_NUMBER_BUF, "NaN");
  if (isinf(x)) return (size_t)snprintf(buf, RP_NUMBER_BUF, x < 0 ? "-Infinity" : "Infinity");
  if (x == 0) return (size_t)snprintf(buf, RP_NUMBER_BUF, "0");  // and -0
  // The shortest precision that reads back as x.
  char e[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(e, sizeof e, "%.*e", prec - 1, x);
    if (strtod(e, NULL) == x) break;
  }
  // e is "[-]d[.ddd]e[+-]XX": split into sign, digits and exponent.
  const char *p = e;
  bool neg = *p == '-';
  if (neg) p++;
  char digits[20];
  int k = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[k++] = *p;
  int n = atoi(p + 1) + 1;  // the decimal point sits after n digits
  char *o = buf;
  if (neg) *o++ = '-';
  if (k <= n && n <= 21) {
    memcpy(o, digits, (size_t)k);
    o += k;
    for (int i = k; i < n; i++)
      *o++ = '0';
  } else if (0 < n && n <= 21) {
    memcpy(o, digits, (size_t)n);
    o += n;
    *o++ = '.';
    memcpy(o, digits + n, (size_t)(k - n));
    o += k - n;
  } else if (-6 < n && n <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -n; i++)
      *o++ = '0';
    memcpy(o, digits, (size_t)k);
    o += k;
  } else {
    *o++ = digits[0];
    if (k > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)(k - 1));
      o += k - 1;
    }
    o += snprintf(o, 8, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
  }
  *o = '\0';
  return (size_t)(o - buf);
}
