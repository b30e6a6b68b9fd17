// Reading whole files, the one way every module does it.
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/error.h"

// Appends the contents of the file at `path` to `out`. Refuses folders and
// files larger than `max` bytes. Every failure is reported to diags at PATH
// (no line) in words a person understands ("cannot open: No such file or
// directory", "is a folder, not a file", "larger than the limit of N MiB").
// Returns RP_OK, RP_ENOTFOUND (no such file), RP_EIO or RP_ELIMIT.
int rp_read_file(const char *path, size_t max, rp_buf *out, rp_diags *diags);

// Opens `path` for reading, as every input is opened: a folder is refused
// ("is a folder, not a file"), and a FIFO opens at once instead of waiting
// for a writer. NULL after reporting, with *status RP_ENOTFOUND or RP_EIO.
FILE *rp_open_input(const char *path, rp_diags *diags, int *status);
