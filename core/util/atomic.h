// Writing output files so that a crash never leaves half a note.
//
// Notes hold health information (PRODUCT.md §9): an output file is either
// the old note or the new one, never a mix, and only its owner can read it.
// rp_write_atomic writes a temporary file beside the target, makes it
// durable, and renames it over the target.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

// Replaces the file at `path` with the `len` bytes of `data` (which may be
// NULL when len is 0), atomically and durably:
// 1. creates `.NAME.tmp-RANDOM` in the folder of `path` (NAME is the last
//    component of `path`) with O_CREAT|O_EXCL|O_CLOEXEC and mode 0600;
// 2. writes all of `data` (short writes and EINTR are retried), fsyncs and
//    closes it;
// 3. renames it over `path`, then fsyncs the folder so the rename itself
//    survives a crash.
// The new file has mode 0600 whatever the umask, and a new inode: a hard
// link to the old file keeps the old contents.
//
// A target that is a directory, or anything else that is not a regular
// file (a device, a FIFO, a socket, or a symbolic link leading to one), is
// refused. A symbolic link to a regular file, or a dangling one, is itself
// replaced by the new file; the file it pointed to is not touched. Writing
// through the link would let a link planted in an output folder send a note
// anywhere, so replacing it is the safer reading.
//
// Returns RP_OK, or RP_EIO after adding one diagnostic
// `PATH: error: cannot write: REASON` (no line) to `diags` (which may be
// NULL); on failure no temporary file is left behind and `path` is
// unchanged (unless only the folder's fsync failed, after the rename).
int rp_write_atomic(const char *path, const char *data, size_t len, rp_diags *diags);

// The same, streamed: for an output too large to hold in memory (a whole
// batch into one file). rp_atomic_open makes the temporary file (or reports
// and returns RP_EIO, with nothing to clean up); rp_atomic_write appends,
// remembering the first error; rp_atomic_commit makes it durable and renames
// it over the target, reporting any error as rp_write_atomic does; and
// rp_atomic_abort removes the temporary file, leaving the target as it was.
// After commit or abort the rp_atomic holds nothing.
typedef struct rp_atomic {
  int fd;         // -1 when closed
  int err;        // the first write error (errno), reported at commit
  char *tmp;      // the temporary file's path
  char *path;     // the target's
  size_t dirlen;  // length of the target's folder part, with its slash
} rp_atomic;
int rp_atomic_open(rp_atomic *a, const char *path, rp_diags *diags);
void rp_atomic_write(rp_atomic *a, const char *data, size_t len);
int rp_atomic_commit(rp_atomic *a, rp_diags *diags);
void rp_atomic_abort(rp_atomic *a);

// Whether `a` and `b` name the same file (same device and inode, following
// symbolic links), so that a render can refuse to write over one of its
// inputs. False when either cannot be stat'ed.
bool rp_same_file(const char *a, const char *b);
