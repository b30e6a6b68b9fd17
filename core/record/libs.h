// SQLite and libsodium, opened when the record is first used rather than
// when rapport starts (util/dynlib.h): most runs never touch the record.
//
// Every call goes through sqlite() or sodium(), which give the library's
// functions by their own names (sqlite()->sqlite3_step(st)). rp_record_open
// and rp_record_crypto_ready open them with an error for the user when
// they cannot; a call before that opens the library itself, or ends the run
// with that error.
#pragma once

#include <sodium.h>
#include <sqlite3.h>

#include "util/dynlib.h"

// clang-format off
#define RP_SQLITE_FUNCTIONS(X) \
  X(sqlite3_bind_blob64) \
  X(sqlite3_bind_int64) \
  X(sqlite3_bind_text) \
  X(sqlite3_busy_timeout) \
  X(sqlite3_clear_bindings) \
  X(sqlite3_close_v2) \
  X(sqlite3_column_blob) \
  X(sqlite3_column_bytes) \
  X(sqlite3_column_int) \
  X(sqlite3_column_int64) \
  X(sqlite3_column_text) \
  X(sqlite3_config) \
  X(sqlite3_errcode) \
  X(sqlite3_errmsg) \
  X(sqlite3_exec) \
  X(sqlite3_extended_errcode) \
  X(sqlite3_extended_result_codes) \
  X(sqlite3_finalize) \
  X(sqlite3_initialize) \
  X(sqlite3_open_v2) \
  X(sqlite3_prepare_v2) \
  X(sqlite3_reset) \
  X(sqlite3_step) \
  X(sqlite3_system_errno)
// clang-format on

// clang-format off
#define RP_SODIUM_FUNCTIONS(X) \
  X(crypto_hash_sha256) \
  X(crypto_hash_sha256_final) \
  X(crypto_hash_sha256_init) \
  X(crypto_hash_sha256_update) \
  X(crypto_pwhash) \
  X(crypto_secretbox_easy) \
  X(crypto_secretbox_open_easy) \
  X(crypto_sign_detached) \
  X(crypto_sign_keypair) \
  X(crypto_sign_verify_detached) \
  X(randombytes_buf) \
  X(sodium_bin2hex) \
  X(sodium_free) \
  X(sodium_hex2bin) \
  X(sodium_init) \
  X(sodium_malloc) \
  X(sodium_memcmp) \
  X(sodium_memzero)
// clang-format on

typedef struct rp_sqlite_fns {
  RP_SQLITE_FUNCTIONS(RP_DYNLIB_POINTER)
} rp_sqlite_fns;

typedef struct rp_sodium_fns {
  RP_SODIUM_FUNCTIONS(RP_DYNLIB_POINTER)
} rp_sodium_fns;

extern rp_dynlib rp_sqlite_lib, rp_sodium_lib;
extern rp_sqlite_fns rp_sqlite_table;
extern rp_sodium_fns rp_sodium_table;

static inline const rp_sqlite_fns *sqlite(void) {
  rp_dynlib_need(&rp_sqlite_lib);
  return &rp_sqlite_table;
}

static inline const rp_sodium_fns *sodium(void) {
  rp_dynlib_need(&rp_sodium_lib);
  return &rp_sodium_table;
}
