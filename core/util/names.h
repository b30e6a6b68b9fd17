// Names in messages: which keys a message may show, and the nearest known
// name to a misspelt one.
//
// A session file's keys are usually field names (`assessment`, `trust`), but
// a line of free text indented by mistake is read by YAML as a key too
// ("Client said: ..."): it may hold health information, and messages never
// show it. A key that is a plain name (letters, digits, `_`, `-` and `.`,
// at most 64 bytes, no spaces) is shown, and may get a suggestion: "unknown
// field 'asessment' (did you mean 'assessment'?)".
#pragma once

#include <stdbool.h>
#include <stddef.h>

// Whether the `len` bytes at `s` are a plain name that a message may show.
bool rp_name_is_plain(const char *s, size_t len);

// The edit distance between two names, ignoring ASCII case: insertions,
// deletions, substitutions and swaps of two neighbours each count 1
// ("levle" is 1 from "level"). Names longer than 64 bytes are at distance
// SIZE_MAX from everything.
size_t rp_name_distance(const char *a, size_t alen, const char *b, size_t blen);

// The name of `names` (n of them, NUL-terminated; NULL entries are skipped)
// nearest to the `len` bytes at `s`, when it is near enough to be what was
// meant: at most 1 edit for names of up to 4 letters, 2 up to 8, 3 beyond,
// and never a name that shares fewer letters than it changes. Ties go to the
// first. NULL when none is near, or when `s` is one of the names exactly.
const char *rp_name_nearest(const char *s, size_t len, const char *const *names, size_t n);
