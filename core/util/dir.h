// Listing folders, the one way every module does it.
//
// Entries whose name starts with '.' are never listed (editors' temporary
// files, version control folders), names come in byte order so every run
// sees the same order, and a walk goes at most RP_DIR_MAX_DEPTH folders
// deep, so a link loop ends.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define RP_DIR_MAX_DEPTH 64

// Called for each regular file a walk finds: `path` is the folder's path as
// given joined with '/' and the names below it ("sessions/a/jd-07.yaml"; a
// folder given as "." adds no prefix), `name` its last component and `st`
// what stat(2) said (links are followed). Strings are valid during the call
// only.
typedef void (*rp_dir_fn)(void *ud, const char *path, const char *name, const struct stat *st);

typedef struct rp_dir_walk_opts {
  // Which files to report, by name; NULL reports every regular file.
  bool (*keep)(const char *name);
  // A folder never entered, known by device and inode (the output folder,
  // however its path is written); ignored unless skip_set.
  dev_t skip_dev;
  ino_t skip_ino;
  bool skip_set;
  int max_depth;       // 0 means RP_DIR_MAX_DEPTH
  bool no_subfolders;  // the folder itself only
} rp_dir_walk_opts;

// Walks the folder `dir` and every folder under it, in name order, calling
// fn for each regular file that `keep` accepts. A `dir` that is missing or
// not a folder reports nothing. opts may be NULL.
void rp_dir_walk(const char *dir, const rp_dir_walk_opts *opts, rp_dir_fn fn, void *ud);

// Whether `path` is a folder (after following links).
bool rp_is_dir(const char *path);

// Whether `name` ends with `ext` (".yaml"), in any case, with something
// before it.
bool rp_has_ext(const char *name, const char *ext);
