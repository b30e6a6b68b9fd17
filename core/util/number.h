// Numbers printed as JavaScript prints them.
//
// Templates show numbers the way mustache.js and the other JavaScript engines
// do (String(n)): the shortest digits that read back as the same double,
// without a fraction when there is none, in exponent form only below 1e-6 or
// from 1e21 on. Sessions, data files and filter results all print this way.
#pragma once

#include <stddef.h>

enum { RP_NUMBER_BUF = 32 };

// Writes the text of x and a NUL into buf (RP_NUMBER_BUF bytes); returns its
// length. NaN and the infinities print as "NaN", "Infinity", "-Infinity".
size_t rp_number_format(double x, char *buf);
