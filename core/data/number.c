// Numbers as JavaScript prints them.
//
// Mustache's reference implementations are JavaScript, and templates print
// numbers, so a number's text must be String(n): the shortest digits that
// read back as the same double, in fixed notation when 1e-6 <= |n| < 1e21
// and in exponent notation otherwise (ECMA-262, Number::toString). The text
// is made once, when the number enters a document.
//
// Most numbers in session data are written the way JavaScript would print
// them already ("42", "8.5"); rp_number_canonical recognises those and reads
// their value exactly without strtod or printf, which keeps loading fast.
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "data/internal.h"
#include "util/number.h"

// Powers of ten that a double holds exactly.
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool rp_number_canonical(const char *s, size_t n, double *x) {
  size_t i = 0;
  bool neg = false;
  if (i < n && s[i] == '-') {
    neg = true;
    i++;
  }
  if (i >= n) return false;
  // Up to 15 significant digits: then the text is the unique shortest
  // decimal for its double (DBL_DIG is 15), which is what JavaScript prints.
  uint64_t m = 0;
  int sig = 0, frac = 0, zeros = 0;
  if (s[i] == '0') {
    i++;
  } else if (is_digit(s[i])) {
    for (; i < n && is_digit(s[i]); i++, sig++)
      m = m * 10 + (uint64_t)(s[i] - '0');
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    i++;
    for (; i < n && is_digit(s[i]); i++, frac++) {
      if (m == 0 && s[i] == '0') {
        zeros++;  // 0.00x: not significant
      } else {
        m = m * 10 + (uint64_t)(s[i] - '0');
        sig++;
      }
      if (sig > 15) return false;
    }
    // "1.50" prints as 1.5, "0.0000001" as 1e-7: not canonical.
    if (frac == 0 || s[i - 1] == '0' || zeros > 5) return false;
  }
  if (i != n || sig > 15) return false;  // an exponent, or too many digits
  if (m == 0) {
    if (neg || frac) return false;  // -0 prints as 0
    *x = 0.0;
    return true;
  }
  // An exact integer divided by an exact power of ten is correctly rounded.
  double v = (double)m;
  if (frac) v /= pow10_exact[frac];
  *x = neg ? -v : v;
  return true;
}

bool rp_number_is_json(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  if (i < n && s[i] == '0') {
    i++;
  } else if (i < n && s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i]))
      i++;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    size_t d = ++i;
    while (i < n && is_digit(s[i]))
      i++;
    if (i == d) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < n && is_digit(s[i]))
      i++;
    if (i == d) return false;
  }
  return i == n;
}

bool rp_number_read(const char *s, size_t n, double *x) {
  char small[64];
  char *buf = n < sizeof small ? small : rp_xmalloc(n + 1);
  memcpy(buf, s, n);
  buf[n] = '\0';
  // strtod reads the C locale's decimal point; should anything have set
  // another locale, translate rather than misread "1.5" as 1.
  const char *dp = localeconv()->decimal_point;
  if (dp[0] != '.' && dp[0] && !dp[1]) {
    for (size_t i = 0; i < n; i++)
      if (buf[i] == '.') buf[i] = dp[0];
  }
  char *end;
  double v = strtod(buf, &end);
  bool ok = end == buf + n && isfinite(v);
  if (buf != small) free(buf);
  if (ok) *x = v;
  return ok;
}

rp_node *rp_doc_number_node(rp_doc *doc, const char *text, size_t len, uint32_t line,
                            uint32_t col) {
  double x;
  rp_node *n;
  if (rp_number_canonical(text, len, &x)) {
    n = rp_doc_node(doc, RP_KIND_NUMBER, line, col);
    n->a.s = rp_doc_strdup(doc, text, len);
    n->len = (uint32_t)len;
  } else {
    if (!rp_number_read(text, len, &x)) return NULL;
    n = rp_doc_number_node_d(doc, x, line, col);
  }
  n->u.num = x;
  return n;
}

rp_node *rp_doc_number_node_d(rp_doc *doc, double x, uint32_t line, uint32_t col) {
  char buf[RP_NUMBER_BUF];
  size_t len = rp_number_format(x, buf);
  rp_node *n = rp_doc_node(doc, RP_KIND_NUMBER, line, col);
  n->a.s = rp_doc_strdup(doc, buf, len);
  n->len = (uint32_t)len;
  n->u.num = x;
  return n;
}
