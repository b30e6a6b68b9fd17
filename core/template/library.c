// Libraries: the named templates (partials and parents) a render can include.
//
// A library compiles each template once, on first use, and keeps it until the
// library is freed. Lookups take a mutex so that threads rendering at once
// share the compiled partials; the renderer caches what a tag found in the
// tag itself, so the lock is taken once per tag, not once per render.
#include <stdlib.h>
#include <string.h>

#include "template/internal.h"

rp_library *rp_library_new(const rp_library_opts *opts) {
  rp_library *lib = rp_xcalloc(1, sizeof *lib);
  if (opts) lib->opts = *opts;
  pthread_mutex_init(&lib->lock, NULL);
  atomic_init(&lib->generation, 0);
  return lib;
}

void rp_library_free(rp_library *lib) {
  if (!lib) return;
  for (size_t i = 0; i < lib->n; i++) {
    free(lib->entries[i].name);
    rp_template_free(lib->entries[i].t);
  }
  free(lib->entries);
  free(lib->index);
  for (size_t i = 0; i < lib->nretired; i++)
    rp_template_free(lib->retired[i]);
  free(lib->retired);
  pthread_mutex_destroy(&lib->lock);
  if (lib->opts.loader_free) lib->opts.loader_free(lib->opts.loader_ud);
  free(lib);
}

unsigned rp_library_generation(rp_library *lib) {
  return atomic_load_explicit(&lib->generation, memory_order_acquire);
}

static size_t hash_name(const char *s, size_t len) {
  size_t h = 14695981039346656037u;  // FNV-1a
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

// Call with the lock held.
static void index_insert(rp_library *lib, size_t entry) {
  size_t mask = lib->index_cap - 1;
  size_t i = hash_name(lib->entries[entry].name, lib->entries[entry].namelen) & mask;
  while (lib->index[i])
    i = (i + 1) & mask;
  lib->index[i] = (uint32_t)entry + 1;
}

// Call with the lock held.
static rp_lib_entry *find_entry(rp_library *lib, const char *name, size_t len) {
  if (!lib->index_cap) return NULL;
  size_t mask = lib->index_cap - 1;
  for (size_t i = hash_name(name, len) & mask; lib->index[i]; i = (i + 1) & mask) {
    rp_lib_entry *e = &lib->entries[lib->index[i] - 1];
    if (e->namelen == len && memcmp(e->name, name, len) == 0) return e;
  }
  return NULL;
}

// Call with the lock held. Entries are never removed, so the index only grows.
static rp_lib_entry *new_entry(rp_library *lib, const char *name, size_t len) {
  if (lib->n == lib->cap) {
    lib->cap = lib->cap ? lib->cap * 2 : 16;
    lib->entries = rp_xrealloc(lib->entries, lib->cap * sizeof *lib->entries);
  }
  size_t idx = lib->n++;
  rp_lib_entry *e = &lib->entries[idx];
  memset(e, 0, sizeof *e);
  e->name = rp_xstrndup(name, len);
  e->namelen = len;
  if ((lib->n + 1) * 2 > lib->index_cap) {
    free(lib->index);
    lib->index_cap = lib->index_cap ? lib->index_cap * 2 : 32;
    while ((lib->n + 1) * 2 > lib->index_cap)
      lib->index_cap *= 2;
    lib->index = rp_xcalloc(lib->index_cap, sizeof *lib->index);
    for (size_t i = 0; i < lib->n; i++)
      index_insert(lib, i);
  } else {
    index_insert(lib, idx);
  }
  return e;
}

rp_template *rp_library_add(rp_library *lib, const char *name, const char *path, const char *src,
                            size_t srclen, rp_diags *diags) {
  rp_template *t = rp_template_compile(lib, path, src, srclen, diags);
  pthread_mutex_lock(&lib->lock);
  rp_lib_entry *e = find_entry(lib, name, strlen(name));
  if (!e) {
    e = new_entry(lib, name, strlen(name));
  } else if (e->t) {
    // Tags of other templates may still point at the old template (until
    // they see the new generation): keep it alive until the library goes.
    lib->retired = rp_xrealloc(lib->retired, (lib->nretired + 1) * sizeof *lib->retired);
    lib->retired[lib->nretired++] = e->t;
  }
  e->t = t;
  e->failed = t == NULL;
  atomic_fetch_add_explicit(&lib->generation, 1, memory_order_acq_rel);
  pthread_mutex_unlock(&lib->lock);
  return t;
}

rp_template *rp_library_find_failed(rp_library *lib, const char *name, size_t len, bool *failed,
                                    rp_diags *diags) {
  *failed = false;
  pthread_mutex_lock(&lib->lock);
  rp_lib_entry *e = find_entry(lib, name, len);
  if (!e) {
    char *src = NULL, *path = NULL;
    size_t srclen = 0;
    int rc = lib->opts.loader
                 ? lib->opts.loader(lib->opts.loader_ud, name, len, &src, &srclen, &path, diags)
                 : 0;
    if (rc == 0 && lib->n >= RP_MAX_LIBRARY_ENTRIES) {
      // Names that data makes up ({{>*name}}) must not grow the library
      // without bound: past the limit, misses are not remembered.
      pthread_mutex_unlock(&lib->lock);
      return NULL;
    }
    e = new_entry(lib, name, len);
    if (rc > 0) {
      e->t = rp_template_compile(lib, path ? path : e->name, src, srclen, diags);
      e->failed = e->t == NULL;
    } else if (rc < 0) {
      e->failed = true;
    }
    free(src);
    free(path);
  }
  *failed = e->failed;
  rp_template *t = e->t;
  pthread_mutex_unlock(&lib->lock);
  return t;
}

rp_template *rp_library_get(rp_library *lib, const char *name, size_t namelen, rp_diags *diags) {
  bool failed;
  return rp_library_find_failed(lib, name, namelen, &failed, diags);
}

// Walks the statically named partials and parents of t, depth first, each
// template once.
static size_t check_partials(const rp_template *t, rp_diags *diags, const rp_template ***seen,
                             size_t *nseen, size_t *cap) {
  for (size_t i = 0; i < *nseen; i++)
    if ((*seen)[i] == t) return 0;
  if (*nseen == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *seen = rp_xrealloc(*seen, *cap * sizeof **seen);
  }
  (*seen)[(*nseen)++] = t;
  size_t problems = 0;
  for (uint32_t i = 0; i < t->nnodes; i++) {
    const rp_node *n = &t->nodes[i];
    if ((n->type != RP_N_PARTIAL && n->type != RP_N_PARENT) || n->name.dynamic) continue;
    bool failed = false;
    size_t before = diags->errors;
    rp_template *pt = rp_library_find_failed(t->lib, n->name.full, n->name.fulllen, &failed, diags);
    if (failed) {
      if (diags->errors == before) {
        rp_diags_add(diags, RP_SEV_ERROR, t->path, n->line, n->col, "partial '%s' has errors",
                     n->name.full);
      }
      problems++;
    } else if (!pt) {
      rp_diags_add(diags, RP_SEV_ERROR, t->path, n->line, n->col, "no partial named '%s'",
                   n->name.full);
      problems++;
    } else {
      problems += check_partials(pt, diags, seen, nseen, cap);
    }
  }
  return problems;
}

size_t rp_template_check_partials(const rp_template *t, rp_diags *diags) {
  const rp_template **seen = NULL;
  size_t nseen = 0, cap = 0;
  size_t problems = check_partials(t, diags, &seen, &nseen, &cap);
  free(seen);
  return problems;
}

static bool partials(const rp_template *t, rp_partial_fn fn, void *ud, const rp_template ***seen,
                     size_t *nseen, size_t *cap) {
  for (size_t i = 0; i < *nseen; i++)
    if ((*seen)[i] == t) return false;
  if (*nseen == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *seen = rp_xrealloc(*seen, *cap * sizeof **seen);
  }
  (*seen)[(*nseen)++] = t;
  bool dynamic = false;
  for (uint32_t i = 0; i < t->nnodes; i++) {
    const rp_node *n = &t->nodes[i];
    if (n->type != RP_N_PARTIAL && n->type != RP_N_PARENT) continue;
    if (n->name.dynamic) {
      dynamic = true;
      continue;
    }
    fn(ud, n->name.full, n->name.fulllen);
    bool failed = false;
    rp_diags quiet = RP_DIAGS_INIT;
    rp_template *pt =
        rp_library_find_failed(t->lib, n->name.full, n->name.fulllen, &failed, &quiet);
    rp_diags_free(&quiet);
    if (pt && partials(pt, fn, ud, seen, nseen, cap)) dynamic = true;
  }
  return dynamic;
}

bool rp_template_partials(const rp_template *t, rp_partial_fn fn, void *ud) {
  const rp_template **seen = NULL;
  size_t nseen = 0, cap = 0;
  bool dynamic = partials(t, fn, ud, &seen, &nseen, &cap);
  free(seen);
  return dynamic;
}

static void walk(const rp_template *t, rp_name_fn fn, void *ud, int base_depth, rp_diags *diags,
                 const rp_template ***seen, size_t *nseen, size_t *cap) {
  for (size_t i = 0; i < *nseen; i++)
    if ((*seen)[i] == t) return;
  if (*nseen == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *seen = rp_xrealloc(*seen, *cap * sizeof **seen);
  }
  (*seen)[(*nseen)++] = t;
  // Open sections as a stack of end indices, to know each tag's depth.
  uint32_t ends[RP_MAX_SECTION_NESTING];
  int depth = 0;
  for (uint32_t i = 0; i < t->nnodes; i++) {
    while (depth > 0 && i >= ends[depth - 1])
      depth--;
    const rp_node *n = &t->nodes[i];
    switch ((rp_node_type)n->type) {
      case RP_N_VAR:
      case RP_N_RAW:
      case RP_N_SECTION:
      case RP_N_INVERTED:
        if (n->name.full) fn(ud, t->path, n->name.full, n->line, n->col, base_depth + depth);
        if ((n->type == RP_N_SECTION || n->type == RP_N_INVERTED) && depth < RP_MAX_SECTION_NESTING)
          ends[depth++] = n->end;
        break;
      case RP_N_PARTIAL:
      case RP_N_PARENT: {
        if (n->name.dynamic) break;
        bool failed = false;
        rp_template *pt =
            rp_library_find_failed(t->lib, n->name.full, n->name.fulllen, &failed, diags);
        if (pt) walk(pt, fn, ud, base_depth + depth, diags, seen, nseen, cap);
        break;
      }
      default:
        break;
    }
  }
}

void rp_template_walk_names(const rp_template *t, rp_name_fn fn, void *ud, rp_diags *diags) {
  const rp_template **seen = NULL;
  size_t nseen = 0, cap = 0;
  walk(t, fn, ud, 0, diags, &seen, &nseen, &cap);
  free(seen);
}
