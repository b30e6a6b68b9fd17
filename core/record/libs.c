// The record's libraries, opened on first use: see libs.h.
#include "record/libs.h"

rp_sqlite_fns rp_sqlite_table;
rp_sodium_fns rp_sodium_table;

static const char *const sqlite_names[] = {RP_SQLITE_FUNCTIONS(RP_DYNLIB_NAME)};
static const char *const sodium_names[] = {RP_SODIUM_FUNCTIONS(RP_DYNLIB_NAME)};

// RP_SQLITE_SONAME and RP_SODIUM_SONAME come from the build (CMakeLists.txt
// reads them from the libraries pkg-config finds).
rp_dynlib rp_sqlite_lib =
    RP_DYNLIB_INIT(RP_SQLITE_SONAME, "SQLite", sqlite_names, &rp_sqlite_table);
rp_dynlib rp_sodium_lib =
    RP_DYNLIB_INIT(RP_SODIUM_SONAME, "libsodium", sodium_names, &rp_sodium_table);

_Static_assert(sizeof sqlite_names / sizeof *sqlite_names * sizeof(void *) == sizeof(rp_sqlite_fns),
               "one name per SQLite function");
_Static_assert(sizeof sodium_names / sizeof *sodium_names * sizeof(void *) == sizeof(rp_sodium_fns),
               "one name per libsodium function");
