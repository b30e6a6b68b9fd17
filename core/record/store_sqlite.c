// The record's storage in SQLite: the only file of Rapport that speaks SQL.
//
// It implements the storage half of record.h (open, append, read, list,
// checkpoint, keys, the audit log) and nothing of what the entries mean:
// sealing and verifying are chain.c's. A PostgreSQL backend will implement
// the same functions.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// commit is on disk when it returns and a process killed at any moment
// leaves each transaction whole or absent. Writers take the write lock at
// the start of their transaction (BEGIN IMMEDIATE) and wait for each other
// (busy timeout), so the newest entry a seal function sees is the one its
// entry will follow: the chain cannot fork. Tables are STRICT; entries and
// the audit log refuse UPDATE and DELETE through triggers.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/internal.h"
#include "record/libs.h"
#include "record/record.h"

struct rp_record {
  sqlite3 *db;
  char *path;
  bool readonly;
};

// Writers wait this long for each other before giving up.
#define BUSY_TIMEOUT_MS 30000

// The schema, one migration per version: migration i brings version i to
// i + 1, in a transaction of its own, and PRAGMA user_version records the
// version reached. A migration is never edited once released; a change is a
// new one at the end.
static const char *const migrations[] = {
    // 1: entries, keys and checkpoints.
    "CREATE TABLE entries ("
    "  seq INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  amends INTEGER NOT NULL,"
    "  session_key TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  signed_at TEXT NOT NULL,"
    "  signer_name TEXT NOT NULL,"
    "  signer_credentials TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  note_type TEXT NOT NULL,"
    "  made_by TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  source BLOB NOT NULL,"
    "  note_json BLOB NOT NULL,"
    "  note_md BLOB NOT NULL,"
    "  prev_hash BLOB NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  signature BLOB NOT NULL"
    ") STRICT;"
    "CREATE INDEX entries_session ON entries(session_key);"
    "CREATE INDEX entries_client ON entries(client_id);"
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'entries of the record are signed and locked'); END;"
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'entries of the record are signed and locked'); END;"
    "CREATE TABLE keys ("
    "  fingerprint TEXT PRIMARY KEY,"
    "  public_key BLOB NOT NULL,"
    "  name TEXT NOT NULL,"
    "  credentials TEXT NOT NULL,"
    "  added_at TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE checkpoints ("
    "  id INTEGER PRIMARY KEY,"
    "  entries INTEGER NOT NULL,"
    "  head BLOB NOT NULL,"
    "  made_at TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  signature BLOB NOT NULL"
    ") STRICT;",
    // 2: the audit log.
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  key_fpr TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  entry INTEGER NOT NULL,"
    "  detail TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX audit_client ON audit(client_id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof *migrations))

int rp_record_schema_latest(void) {
  return NMIGRATIONS;
}

#ifdef RP_FAULT_INJECTION
// In a fault-injection build SQLite allocates through the same counter as
// the rest of Rapport (util/buf.h), so tests/fault/ reaches its failures
// too. Each block carries its size in front, as SQLite's xSize needs it.
#define HDR 16
static void *fault_malloc(int n) {
  if (rp_fault_alloc(false)) return NULL;
  char *p = malloc((size_t)n + HDR);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  return p + HDR;
}
static void fault_free(void *p) {
  if (p) free((char *)p - HDR);
}
static int fault_size(void *p) {
  int n;
  memcpy(&n, (char *)p - HDR, sizeof n);
  return n;
}
static void *fault_realloc(void *p, int n) {
  if (rp_fault_alloc(false)) return NULL;
  char *q = realloc((char *)p - HDR, (size_t)n + HDR);
  if (!q) return NULL;
  memcpy(q, &n, sizeof n);
  return q + HDR;
}
static int fault_roundup(int n) {
  return (n + 7) & ~7;
}
static int fault_init(void *ud) {
  (void)ud;
  return SQLITE_OK;
}
static void fault_shutdown(void *ud) {
  (void)ud;
}
static void install_allocator(void) {
  static const sqlite3_mem_methods m = {fault_malloc,  fault_free, fault_realloc,  fault_size,
                                        fault_roundup, fault_init, fault_shutdown, NULL};
  sqlite()->sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}
#else
static void install_allocator(void) {}
#endif

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_sqlite(void) {
  install_allocator();
  sqlite()->sqlite3_initialize();
}

// Reports the connection's last error at the record's path, in words a
// person understands: SQLite's message, or errno's for I/O on a full disk
// or a read-only file system.
static int fail(rp_record *r, rp_diags *diags, const char *what) {
  int code = r->db ? sqlite()->sqlite3_errcode(r->db) : SQLITE_NOMEM;
  int ext = r->db ? sqlite()->sqlite3_extended_errcode(r->db) : SQLITE_NOMEM;
  const char *msg = r->db ? sqlite()->sqlite3_errmsg(r->db) : "out of memory";
  int sys = r->db ? sqlite()->sqlite3_system_errno(r->db) : 0;
  int status = RP_EIO;
  if (code == SQLITE_NOMEM) {
    msg = "out of memory";
    status = RP_ENOMEM;
  } else if (code == SQLITE_FULL || sys == ENOSPC) {
    msg = "No space left on device";
  } else if (code == SQLITE_READONLY || sys == EROFS) {
    msg = sys == EROFS ? "Read-only file system" : "the record is read-only";
  } else if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    msg = "the record is busy: another process held it for too long";
  } else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
    msg = "not a record, or a damaged one";
    status = RP_EDATA;
  } else if (code == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_TRIGGER) {
    status = RP_ELOCKED;
  } else if ((code == SQLITE_IOERR || code == SQLITE_CANTOPEN) && sys) {
    msg = strerror(sys);
  }
  rp_diags_add(diags, RP_SEV_ERROR, r->path, 0, 0, "%s: %s", what, msg);
  return status;
}

static int exec(rp_record *r, const char *sql, rp_diags *diags, const char *what) {
  if (sqlite()->sqlite3_exec(r->db, sql, NULL, NULL, NULL) == SQLITE_OK) return RP_OK;
  return fail(r, diags, what);
}

static void rollback(rp_record *r) {
  // Nothing to report: the failure that led here was reported already, and
  // SQLite rolls back by itself what a failed ROLLBACK leaves.
  sqlite()->sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prepare(rp_record *r, const char *sql, sqlite3_stmt **st, rp_diags *diags) {
  if (sqlite()->sqlite3_prepare_v2(r->db, sql, -1, st, NULL) == SQLITE_OK) return RP_OK;
  *st = NULL;
  return fail(r, diags, "cannot read the record");
}

static int user_version(rp_record *r, int *v, rp_diags *diags) {
  sqlite3_stmt *st;
  int rc = prepare(r, "PRAGMA user_version", &st, diags);
  if (rc != RP_OK) return rc;
  if (sqlite()->sqlite3_step(st) == SQLITE_ROW) {
    *v = sqlite()->sqlite3_column_int(st, 0);
  } else {
    rc = fail(r, diags, "cannot read the record");
  }
  sqlite()->sqlite3_finalize(st);
  return rc;
}

static int migrate(rp_record *r, rp_diags *diags) {
  int v;
  int rc = user_version(r, &v, diags);
  if (rc != RP_OK) return rc;
  if (v > NMIGRATIONS) {
    rp_diags_add(diags, RP_SEV_ERROR, r->path, 0, 0,
                 "made by a newer Rapport (schema version %d; this one knows up to %d): update "
                 "Rapport to use it",
                 v, NMIGRATIONS);
    return RP_EDATA;
  }
  if (v == NMIGRATIONS) return RP_OK;
  if (r->readonly) {
    rp_diags_add(diags, RP_SEV_ERROR, r->path, 0, 0,
                 "the record's schema (version %d) needs updating, which a read-only record "
                 "cannot have",
                 v);
    return RP_EIO;
  }
  // One migration at a time, each in its own transaction, reading the
  // version again under the write lock: another process may have migrated
  // meanwhile.
  for (;;) {
    if ((rc = exec(r, "BEGIN IMMEDIATE", diags, "cannot update the record's schema")) != RP_OK)
      return rc;
    if ((rc = user_version(r, &v, diags)) != RP_OK) break;
    if (v >= NMIGRATIONS) {
      rc = exec(r, "COMMIT", diags, "cannot update the record's schema");
      return rc;
    }
    if ((rc = exec(r, migrations[v], diags, "cannot update the record's schema")) != RP_OK) break;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
    if ((rc = exec(r, sql, diags, "cannot update the record's schema")) != RP_OK) break;
    if ((rc = exec(r, "COMMIT", diags, "cannot update the record's schema")) != RP_OK) break;
  }
  rollback(r);
  return rc;
}

// Opens the connection. A record on a read-only file system has no WAL
// index (record.db-shm) that SQLite could make; when no write-ahead log is
// left either (Rapport's last connection folded it in), the file alone is the
// whole record and opens as immutable.
static int open_db(rp_record *r, int flags) {
  int rc = sqlite()->sqlite3_open_v2(r->path, &r->db, flags, NULL);
  if (rc == SQLITE_OK && r->readonly) {
    // Nothing is read until the first statement: try one.
    rc = sqlite()->sqlite3_exec(r->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    rp_buf wal = RP_BUF_INIT;
    rp_buf_printf(&wal, "%s-wal", r->path);
    struct stat st;
    bool no_wal = stat(wal.data, &st) != 0 || st.st_size == 0;
    rp_buf_free(&wal);
    if (rc == SQLITE_CANTOPEN && no_wal) {
      sqlite()->sqlite3_close_v2(r->db);
      r->db = NULL;
      rp_buf uri = RP_BUF_INIT;
      rp_buf_adds(&uri, "file:");
      for (const char *p = r->path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
          rp_buf_printf(&uri, "%%%02X", (unsigned char)*p);
        else
          rp_buf_addc(&uri, *p);
      }
      rp_buf_adds(&uri, "?immutable=1");
      rc = sqlite()->sqlite3_open_v2(uri.data, &r->db, flags | SQLITE_OPEN_URI, NULL);
      rp_buf_free(&uri);
    }
  }
  if (rc == SQLITE_OK) sqlite()->sqlite3_extended_result_codes(r->db, 1);
  return rc;
}

int rp_record_open(const char *path, rp_record_mode mode, rp_record **out, rp_diags *diags) {
  *out = NULL;
  if (rp_dynlib_open(&rp_sqlite_lib, diags) != RP_OK) return RP_EIO;
  pthread_once(&init_once, init_sqlite);
  int crc = rp_record_crypto_ready(diags);
  if (crc != RP_OK) return crc;
  rp_record *r = rp_xcalloc(1, sizeof *r);
  r->path = rp_xstrndup(path, strlen(path));
  struct stat st;
  bool exists = stat(path, &st) == 0;
  if (!exists && mode == RP_RECORD_READ) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                 "no record here (sign a session first, or name one with --record)");
    rp_record_close(r);
    return RP_ENOTFOUND;
  }
  if (exists && !S_ISREG(st.st_mode)) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "not a record: it is not a regular file");
    rp_record_close(r);
    return RP_EIO;
  }
  if (!exists) {
    // Made here first, so that it is 0600 whatever the umask: it holds
    // health information.
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot create the record: %s",
                   strerror(errno));
      rp_record_close(r);
      return RP_EIO;
    }
    if (fd >= 0) close(fd);
  }
  // A record that cannot be written (a read-only file or file system) is
  // still read for verify and log; writing it then fails with a clear error.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (access(path, W_OK) != 0) {
    if (mode == RP_RECORD_WRITE) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot write to the record: %s",
                   strerror(errno));
      rp_record_close(r);
      return RP_EIO;
    }
    flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    r->readonly = true;
  }
  int rc = open_db(r, flags);
  if (rc != SQLITE_OK) {
    rc = r->db ? fail(r, diags, "cannot open the record") : RP_ENOMEM;
    if (!r->db)
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot open the record: out of memory");
    rp_record_close(r);
    return rc;
  }
  sqlite()->sqlite3_busy_timeout(r->db, BUSY_TIMEOUT_MS);
  // WAL with synchronous=FULL: every commit is durable when it returns.
  // journal_mode is persistent (set once per file); on a read-only record it
  // is left as it is.
  if (!r->readonly &&
      (rc = exec(r, "PRAGMA journal_mode=WAL", diags, "cannot open the record")) != RP_OK) {
    rp_record_close(r);
    return rc;
  }
  if ((rc = exec(r, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", diags,
                 "cannot open the record")) != RP_OK ||
      (rc = migrate(r, diags)) != RP_OK) {
    rp_record_close(r);
    return rc;
  }
  *out = r;
  return RP_OK;
}

void rp_record_close(rp_record *r) {
  if (!r) return;
  if (r->db) sqlite()->sqlite3_close_v2(r->db);
  free(r->path);
  free(r);
}

const char *rp_record_path(const rp_record *r) {
  return r->path;
}

int rp_record_schema_version(rp_record *r) {
  int v = -1;
  user_version(r, &v, NULL);
  return v;
}

// --- entries -------------------------------------------------------------------------------

#define ENTRY_COLUMNS                                                                       \
  "seq, kind, amends, session_key, client_id, signed_at, signer_name, signer_credentials, " \
  "public_key, note_type, made_by, reason, source, note_json, note_md, prev_hash, hash, signature"
#define ENTRY_LIGHT_COLUMNS                                                                 \
  "seq, kind, amends, session_key, client_id, signed_at, signer_name, signer_credentials, " \
  "public_key, note_type, made_by, reason, NULL, NULL, NULL, prev_hash, hash, signature"

static char *col_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite()->sqlite3_column_text(st, i);
  int n = sqlite()->sqlite3_column_bytes(st, i);
  return rp_xstrndup(t ? (const char *)t : "", t ? (size_t)n : 0);
}

static char *col_blob(sqlite3_stmt *st, int i, size_t *len) {
  const void *b = sqlite()->sqlite3_column_blob(st, i);
  int n = sqlite()->sqlite3_column_bytes(st, i);
  *len = b ? (size_t)n : 0;
  return rp_xstrndup(b ? b : "", *len);
}

// A fixed-size column: a stored value of another size reads as zeros,
// which no hash or signature matches, so verify reports the entry.
static void col_fixed(sqlite3_stmt *st, int i, unsigned char *out, size_t size) {
  const void *b = sqlite()->sqlite3_column_blob(st, i);
  memset(out, 0, size);
  if (b && (size_t)sqlite()->sqlite3_column_bytes(st, i) == size) memcpy(out, b, size);
}

static void row_entry(sqlite3_stmt *st, rp_record_entry *e, bool content) {
  memset(e, 0, sizeof *e);
  e->seq = sqlite()->sqlite3_column_int64(st, 0);
  const unsigned char *kind = sqlite()->sqlite3_column_text(st, 1);
  e->kind = kind && strcmp((const char *)kind, "note") == 0        ? RP_RECORD_NOTE
            : kind && strcmp((const char *)kind, "amendment") == 0 ? RP_RECORD_AMENDMENT
                                                                   : 0;
  e->amends = sqlite()->sqlite3_column_int64(st, 2);
  e->session_key = col_text(st, 3);
  e->client_id = col_text(st, 4);
  e->signed_at = col_text(st, 5);
  e->signer_name = col_text(st, 6);
  e->signer_credentials = col_text(st, 7);
  col_fixed(st, 8, e->public_key, sizeof e->public_key);
  e->note_type = col_text(st, 9);
  e->made_by = col_text(st, 10);
  e->reason = col_text(st, 11);
  if (content) {
    e->source = col_blob(st, 12, &e->source_len);
    e->note_json = col_blob(st, 13, &e->note_json_len);
    e->note_md = col_blob(st, 14, &e->note_md_len);
  }
  col_fixed(st, 15, e->prev_hash, sizeof e->prev_hash);
  col_fixed(st, 16, e->hash, sizeof e->hash);
  col_fixed(st, 17, e->signature, sizeof e->signature);
}

void rp_record_entry_clear(rp_record_entry *e) {
  if (!e) return;
  free(e->session_key);
  free(e->client_id);
  free(e->signed_at);
  free(e->signer_name);
  free(e->signer_credentials);
  free(e->note_type);
  free(e->made_by);
  free(e->reason);
  free(e->source);
  free(e->note_json);
  free(e->note_md);
  memset(e, 0, sizeof *e);
}

int rp_record_head_get(rp_record *r, rp_record_head *head, rp_diags *diags) {
  memset(head, 0, sizeof *head);
  sqlite3_stmt *st;
  int rc = prepare(r, "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1", &st, diags);
  if (rc != RP_OK) return rc;
  int s = sqlite()->sqlite3_step(st);
  if (s == SQLITE_ROW) {
    head->entries = sqlite()->sqlite3_column_int64(st, 0);
    col_fixed(st, 1, head->hash, sizeof head->hash);
  } else if (s != SQLITE_DONE) {
    rc = fail(r, diags, "cannot read the record");
  }
  sqlite()->sqlite3_finalize(st);
  return rc;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
  return sqlite()->sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *b, size_t len) {
  // A zero-length blob, not NULL: the columns are NOT NULL.
  return sqlite()->sqlite3_bind_blob64(st, i, b ? b : "", len, SQLITE_STATIC);
}

static int insert_entry(rp_record *r, sqlite3_stmt *st, const rp_record_entry *e) {
  sqlite()->sqlite3_reset(st);
  sqlite()->sqlite3_clear_bindings(st);
  int rc = sqlite()->sqlite3_bind_int64(st, 1, e->seq);
  if (!rc) rc = bind_text(st, 2, rp_record_kind_name(e->kind));
  if (!rc) rc = sqlite()->sqlite3_bind_int64(st, 3, e->amends);
  if (!rc) rc = bind_text(st, 4, e->session_key);
  if (!rc) rc = bind_text(st, 5, e->client_id);
  if (!rc) rc = bind_text(st, 6, e->signed_at);
  if (!rc) rc = bind_text(st, 7, e->signer_name);
  if (!rc) rc = bind_text(st, 8, e->signer_credentials);
  if (!rc) rc = bind_blob(st, 9, e->public_key, sizeof e->public_key);
  if (!rc) rc = bind_text(st, 10, e->note_type);
  if (!rc) rc = bind_text(st, 11, e->made_by);
  if (!rc) rc = bind_text(st, 12, e->reason);
  if (!rc) rc = bind_blob(st, 13, e->source, e->source_len);
  if (!rc) rc = bind_blob(st, 14, e->note_json, e->note_json_len);
  if (!rc) rc = bind_blob(st, 15, e->note_md, e->note_md_len);
  if (!rc) rc = bind_blob(st, 16, e->prev_hash, sizeof e->prev_hash);
  if (!rc) rc = bind_blob(st, 17, e->hash, sizeof e->hash);
  if (!rc) rc = bind_blob(st, 18, e->signature, sizeof e->signature);
  if (!rc) rc = sqlite()->sqlite3_step(st);
  (void)r;
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int insert_event(sqlite3_stmt *st, const rp_record_event *ev, const char *at) {
  sqlite()->sqlite3_reset(st);
  sqlite()->sqlite3_clear_bindings(st);
  int rc = bind_text(st, 1, at);
  if (!rc) rc = bind_text(st, 2, ev->action);
  if (!rc) rc = bind_text(st, 3, ev->actor);
  if (!rc) rc = bind_text(st, 4, ev->key_fpr);
  if (!rc) rc = bind_text(st, 5, ev->client_id);
  if (!rc) rc = sqlite()->sqlite3_bind_int64(st, 6, ev->entry);
  if (!rc) rc = bind_text(st, 7, ev->detail);
  if (!rc) rc = sqlite()->sqlite3_step(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

#define INSERT_EVENT                                                                 \
  "INSERT INTO audit (at, action, actor, key_fpr, client_id, entry, detail) VALUES " \
  "(?,?,?,?,?,?,?)"

int rp_record_append(rp_record *r, rp_record_entry *entries, size_t n, rp_record_seal_fn seal,
                     void *ud, rp_diags *diags) {
  int rc = exec(r, "BEGIN IMMEDIATE", diags, "cannot write to the record");
  if (rc != RP_OK) return rc;
  sqlite3_stmt *ins = NULL, *log = NULL;
  rp_record_head head;
  if ((rc = prepare(r,
                    "INSERT INTO entries (" ENTRY_COLUMNS
                    ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    &ins, diags)) != RP_OK ||
      (rc = prepare(r, INSERT_EVENT, &log, diags)) != RP_OK ||
      (rc = rp_record_head_get(r, &head, diags)) != RP_OK)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    int s = seal(ud, r, &head, i, &entries[i], diags);
    if (s == RP_RECORD_SKIP) continue;
    if (s != RP_OK) {
      rc = s;
      goto fail;
    }
    rp_record_entry *e = &entries[i];
    char fpr[RP_RECORD_FPR_SIZE], detail[64] = "";
    rp_record_fingerprint(e->public_key, fpr);
    if (e->kind == RP_RECORD_AMENDMENT)
      snprintf(detail, sizeof detail, "amends entry %lld", e->amends);
    rp_record_event ev = {.action = e->kind == RP_RECORD_AMENDMENT ? "amend" : "sign",
                          .actor = e->signer_name,
                          .key_fpr = fpr,
                          .client_id = e->client_id,
                          .entry = e->seq,
                          .detail = detail};
    if (insert_entry(r, ins, e) != SQLITE_OK || insert_event(log, &ev, e->signed_at) != SQLITE_OK) {
      rc = fail(r, diags, "cannot write to the record");
      goto fail;
    }
    head.entries = e->seq;
    memcpy(head.hash, e->hash, sizeof head.hash);
  }
  sqlite()->sqlite3_finalize(ins);
  sqlite()->sqlite3_finalize(log);
  ins = log = NULL;
  if ((rc = exec(r, "COMMIT", diags, "cannot write to the record")) == RP_OK) return RP_OK;
fail:
  sqlite()->sqlite3_finalize(ins);
  sqlite()->sqlite3_finalize(log);
  rollback(r);
  return rc;
}

int rp_record_read(rp_record *r, long long seq, rp_record_entry *e, rp_diags *diags) {
  memset(e, 0, sizeof *e);
  sqlite3_stmt *st;
  int rc = prepare(r, "SELECT " ENTRY_COLUMNS " FROM entries WHERE seq = ?", &st, diags);
  if (rc != RP_OK) return rc;
  sqlite()->sqlite3_bind_int64(st, 1, seq);
  int s = sqlite()->sqlite3_step(st);
  if (s == SQLITE_ROW)
    row_entry(st, e, true);
  else if (s == SQLITE_DONE)
    rc = RP_ENOTFOUND;
  else
    rc = fail(r, diags, "cannot read the record");
  sqlite()->sqlite3_finalize(st);
  return rc;
}

int rp_record_list(rp_record *r, const rp_record_query *q, rp_record_entry_fn fn, void *ud,
                   rp_diags *diags) {
  rp_record_query all = {NULL, NULL, true};
  if (!q) q = &all;
  const char *cols = q->with_content ? ENTRY_COLUMNS : ENTRY_LIGHT_COLUMNS;
  const char *where = q->session_key ? " WHERE session_key = ?1"
                      : q->client_id ? " WHERE client_id = ?1"
                                     : "";
  rp_buf sql = RP_BUF_INIT;
  rp_buf_printf(&sql, "SELECT %s FROM entries%s ORDER BY seq", cols, where);
  sqlite3_stmt *st;
  int rc = prepare(r, sql.data, &st, diags);
  rp_buf_free(&sql);
  if (rc != RP_OK) return rc;
  if (q->session_key) bind_text(st, 1, q->session_key);
  if (!q->session_key && q->client_id) bind_text(st, 1, q->client_id);
  int s;
  while ((s = sqlite()->sqlite3_step(st)) == SQLITE_ROW) {
    rp_record_entry e;
    row_entry(st, &e, q->with_content);
    rc = fn(ud, &e);
    rp_record_entry_clear(&e);
    if (rc != RP_OK) break;
  }
  if (rc == RP_OK && s != SQLITE_DONE) rc = fail(r, diags, "cannot read the record");
  sqlite()->sqlite3_finalize(st);
  return rc;
}

// --- checkpoints ---------------------------------------------------------------------------

int rp_record_checkpoint_make(rp_record *r, rp_record_checkpoint_fn make, void *ud,
                              rp_diags *diags) {
  int rc = exec(r, "BEGIN IMMEDIATE", diags, "cannot write to the record");
  if (rc != RP_OK) return rc;
  rp_record_head head;
  rp_record_checkpoint cp;
  memset(&cp, 0, sizeof cp);
  sqlite3_stmt *st = NULL;
  if ((rc = rp_record_head_get(r, &head, diags)) != RP_OK ||
      (rc = make(ud, &head, &cp, diags)) != RP_OK)
    goto fail;
  if ((rc = prepare(r,
                    "INSERT INTO checkpoints (entries, head, made_at, public_key, signature) "
                    "VALUES (?,?,?,?,?)",
                    &st, diags)) != RP_OK)
    goto fail;
  int s = sqlite()->sqlite3_bind_int64(st, 1, cp.entries);
  if (!s) s = bind_blob(st, 2, cp.head, sizeof cp.head);
  if (!s) s = bind_text(st, 3, cp.made_at);
  if (!s) s = bind_blob(st, 4, cp.public_key, sizeof cp.public_key);
  if (!s) s = bind_blob(st, 5, cp.signature, sizeof cp.signature);
  if (!s) s = sqlite()->sqlite3_step(st);
  if (s != SQLITE_DONE) {
    rc = fail(r, diags, "cannot write to the record");
    goto fail;
  }
  sqlite()->sqlite3_finalize(st);
  st = NULL;
  if ((rc = exec(r, "COMMIT", diags, "cannot write to the record")) == RP_OK) return RP_OK;
fail:
  sqlite()->sqlite3_finalize(st);
  rollback(r);
  return rc;
}

int rp_record_checkpoint_latest(rp_record *r, rp_record_checkpoint *cp, rp_diags *diags) {
  memset(cp, 0, sizeof *cp);
  sqlite3_stmt *st;
  int rc = prepare(r,
                   "SELECT entries, head, made_at, public_key, signature FROM checkpoints "
                   "ORDER BY entries DESC, id DESC LIMIT 1",
                   &st, diags);
  if (rc != RP_OK) return rc;
  int s = sqlite()->sqlite3_step(st);
  if (s == SQLITE_ROW) {
    cp->entries = sqlite()->sqlite3_column_int64(st, 0);
    col_fixed(st, 1, cp->head, sizeof cp->head);
    const unsigned char *t = sqlite()->sqlite3_column_text(st, 2);
    snprintf(cp->made_at, sizeof cp->made_at, "%s", t ? (const char *)t : "");
    col_fixed(st, 3, cp->public_key, sizeof cp->public_key);
    col_fixed(st, 4, cp->signature, sizeof cp->signature);
  } else if (s == SQLITE_DONE) {
    rc = RP_ENOTFOUND;
  } else {
    rc = fail(r, diags, "cannot read the record");
  }
  sqlite()->sqlite3_finalize(st);
  return rc;
}

// --- keys and the audit log ----------------------------------------------------------------

int rp_record_key_put(rp_record *r, const unsigned char pk[RP_RECORD_KEY_BYTES], const char *name,
                      const char *credentials, rp_diags *diags) {
  sqlite3_stmt *st;
  int rc = prepare(r,
                   "INSERT OR IGNORE INTO keys (fingerprint, public_key, name, credentials, "
                   "added_at) VALUES (?,?,?,?,?)",
                   &st, diags);
  if (rc != RP_OK) return rc;
  char fpr[RP_RECORD_FPR_SIZE], now[24];
  rp_record_fingerprint(pk, fpr);
  rp_record_now(now);
  int s = bind_text(st, 1, fpr);
  if (!s) s = bind_blob(st, 2, pk, RP_RECORD_KEY_BYTES);
  if (!s) s = bind_text(st, 3, name);
  if (!s) s = bind_text(st, 4, credentials);
  if (!s) s = bind_text(st, 5, now);
  if (!s) s = sqlite()->sqlite3_step(st);
  if (s != SQLITE_DONE) rc = fail(r, diags, "cannot write to the record");
  sqlite()->sqlite3_finalize(st);
  return rc;
}

int rp_record_log_add(rp_record *r, const rp_record_event *ev, rp_diags *diags) {
  sqlite3_stmt *st;
  int rc = prepare(r, INSERT_EVENT, &st, diags);
  if (rc != RP_OK) return rc;
  char now[24];
  rp_record_now(now);
  if (insert_event(st, ev, ev->at ? ev->at : now) != SQLITE_OK)
    rc = fail(r, diags, "cannot write to the record's log");
  sqlite()->sqlite3_finalize(st);
  return rc;
}

int rp_record_log_list(rp_record *r, const char *client_id, rp_record_event_fn fn, void *ud,
                       rp_diags *diags) {
  sqlite3_stmt *st;
  int rc = prepare(r,
                   client_id ? "SELECT id, at, action, actor, key_fpr, client_id, entry, detail "
                               "FROM audit WHERE client_id = ? ORDER BY id"
                             : "SELECT id, at, action, actor, key_fpr, client_id, entry, detail "
                               "FROM audit ORDER BY id",
                   &st, diags);
  if (rc != RP_OK) return rc;
  if (client_id) bind_text(st, 1, client_id);
  int s;
  while ((s = sqlite()->sqlite3_step(st)) == SQLITE_ROW) {
    const char *t[8];
    for (int i = 1; i < 8; i++) {
      t[i] = (const char *)sqlite()->sqlite3_column_text(st, i);
      if (!t[i]) t[i] = "";
    }
    rp_record_event ev = {.id = sqlite()->sqlite3_column_int64(st, 0),
                          .at = t[1],
                          .action = t[2],
                          .actor = t[3],
                          .key_fpr = t[4],
                          .client_id = t[5],
                          .entry = sqlite()->sqlite3_column_int64(st, 6),
                          .detail = t[7]};
    if ((rc = fn(ud, &ev)) != RP_OK) break;
  }
  if (rc == RP_OK && s != SQLITE_DONE) rc = fail(r, diags, "cannot read the record's log");
  sqlite()->sqlite3_finalize(st);
  return rc;
}
