// Listing folders (dir.h).
#include "util/dir.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

bool rp_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool rp_has_ext(const char *name, const char *ext) {
  size_t n = strlen(name), e = strlen(ext);
  return n > e && strcasecmp(name + n - e, ext) == 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, const rp_dir_walk_opts *o, int depth, rp_dir_fn fn, void *ud) {
  struct stat dst;
  if (depth > o->max_depth || stat(dir, &dst) != 0 || !S_ISDIR(dst.st_mode)) return;
  if (o->skip_set && dst.st_dev == o->skip_dev && dst.st_ino == o->skip_ino) return;
  DIR *d = opendir(dir);
  if (!d) return;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 16;
      names = rp_xrealloc(names, cap * sizeof *names);
    }
    names[n++] = rp_xstrndup(de->d_name, strlen(de->d_name));
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp_name);
  for (size_t i = 0; i < n; i++) {
    rp_buf p = RP_BUF_INIT;
    if (strcmp(dir, ".") == 0)
      rp_buf_adds(&p, names[i]);
    else
      rp_buf_printf(&p, "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(p.data, &st) == 0) {
      if (S_ISDIR(st.st_mode) && !o->no_subfolders)
        walk(p.data, o, depth + 1, fn, ud);
      else if (S_ISREG(st.st_mode) && (!o->keep || o->keep(names[i])))
        fn(ud, p.data, names[i], &st);
    }
    rp_buf_free(&p);
    free(names[i]);
  }
  free(names);
}

void rp_dir_walk(const char *dir, const rp_dir_walk_opts *opts, rp_dir_fn fn, void *ud) {
  rp_dir_walk_opts o = opts ? *opts : (rp_dir_walk_opts){0};
  if (o.max_depth <= 0) o.max_depth = RP_DIR_MAX_DEPTH;
  walk(dir, &o, 0, fn, ud);
}
