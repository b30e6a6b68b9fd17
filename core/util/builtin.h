// The built-in plugins and templates, compiled into the binary.
//
// The build (cmake/embed.cmake) turns every file under plugins/ and
// templates/ into an entry here, named by its path in the source tree, so a
// fresh install needs no files beside the binary and messages still read
// `plugins/alliance.lua:12: ...`.
#pragma once

#include <stddef.h>

typedef struct rp_builtin_file {
  const char *path;           // e.g. "plugins/alliance.lua"
  const unsigned char *data;  // the bytes, followed by a NUL not counted in len
  size_t len;
} rp_builtin_file;

// Sorted as the build found them; the list ends with an entry whose path is NULL.
extern const rp_builtin_file rp_builtin_files[];
extern const size_t rp_builtin_nfiles;

// The built-in plugins (the .lua entries above) compiled to Lua bytecode at
// build time, with their debug information, under the same paths. Loading
// one skips parsing its source; the sources above stay the reference (what
// `sign` hashes, what a workspace overrides).
extern const rp_builtin_file rp_builtin_chunks[];
extern const size_t rp_builtin_nchunks;
