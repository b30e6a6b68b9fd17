// Shared libraries opened on first use: see dynlib.h.
#include "util/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One lock for every library: opening is rare, and the fast path (the
// library is open) takes no lock.
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

static void open_locked(rp_dynlib *lib) {
  void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(lib->error, sizeof lib->error, "cannot load %s (%s): %s", lib->what, lib->soname,
             e ? e : "not found");
    __atomic_store_n(&lib->state, -1, __ATOMIC_RELEASE);
    return;
  }
  void **fns = lib->table;
  for (size_t i = 0; i < lib->n; i++) {
    dlerror();
    fns[i] = dlsym(h, lib->names[i]);
    if (!fns[i]) {
      snprintf(lib->error, sizeof lib->error, "%s (%s) has no function %s: a version too old?",
               lib->what, lib->soname, lib->names[i]);
      memset(fns, 0, lib->n * sizeof *fns);
      dlclose(h);
      __atomic_store_n(&lib->state, -1, __ATOMIC_RELEASE);
      return;
    }
  }
  // Never closed: the functions are used until the process ends.
  __atomic_store_n(&lib->state, 1, __ATOMIC_RELEASE);
}

int rp_dynlib_open(rp_dynlib *lib, rp_diags *diags) {
  int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
  if (state == 0) {
    pthread_mutex_lock(&open_lock);
    if (__atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) == 0) open_locked(lib);
    pthread_mutex_unlock(&open_lock);
    state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
  }
  if (state == 1) return RP_OK;
  rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0, "%s", lib->error);
  return RP_EIO;
}

void rp_dynlib_need(rp_dynlib *lib) {
  if (rp_dynlib_open(lib, NULL) == RP_OK) return;
  fflush(stdout);
  fprintf(stderr, "rapport: error: %s\n", lib->error);
  exit(1);
}
