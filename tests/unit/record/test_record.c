// Unit tests for core/record: storage (append, read, list, checkpoint) in a
// real SQLite file in a fresh folder, the hash chain and its verification,
// tamper detection, schema migrations, keys, and the lookup render uses.
// Records are edited behind the module's back with SQLite directly, as
// someone holding the file could.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "record/record.h"

static bool has_diag_path(const rp_diags *d, const char *path) {
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->items[i].path, path) == 0 && strstr(d->items[i].msg, "client.id")) return true;
  return false;
}

static const char PASS[] = "correct horse battery staple";

typedef struct fixture {
  char dir[256];
  char db[300];
  char cp[300];
  rp_record_key *key;
} fixture;

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(path);
    else
      unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  const char *tmp = getenv("TMPDIR");
  snprintf(f->dir, sizeof f->dir, "%s/rp-record-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(f->dir)) return -1;
  snprintf(f->db, sizeof f->db, "%s/record.db", f->dir);
  snprintf(f->cp, sizeof f->cp, "%s/record.checkpoint", f->dir);
  char keys[300];
  snprintf(keys, sizeof keys, "%s/keys", f->dir);
  rp_diags d = RP_DIAGS_INIT;
  if (rp_record_key_new(keys, "Dana Whitfield", "LCSW", PASS, strlen(PASS), &f->key, &d) != RP_OK) {
    dump_diags(&d);
    return -1;
  }
  rp_diags_free(&d);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rp_record_key_free(f->key);
  remove_tree(f->dir);
  free(f);
  return 0;
}

static rp_record *open_ok(const fixture *f) {
  rp_record *r = NULL;
  rp_diags d = RP_DIAGS_INIT;
  int rc = rp_record_open(f->db, RP_RECORD_WRITE, &r, &d);
  if (rc != RP_OK) dump_diags(&d);
  assert_int_equal(rc, RP_OK);
  rp_diags_free(&d);
  return r;
}

// A draft entry of client `client`, session `n`; its strings are static.
static rp_record_entry draft(const char *client, int n, const char *text) {
  static char keys[8][64];
  static int next;
  char *key = keys[next++ % 8];
  snprintf(key, 64, "%s/2026-11-24/%d", client, n);
  rp_record_entry e = {0};
  e.kind = RP_RECORD_NOTE;
  e.session_key = key;
  e.client_id = (char *)client;
  e.signed_at = "2026-11-25T14:03:07Z";
  e.signer_name = "Dana Whitfield";
  e.signer_credentials = "LCSW";
  e.note_type = "soap";
  e.made_by = "{}";
  e.reason = "";
  e.source = (char *)text;
  e.source_len = strlen(text);
  e.note_json = "{}";
  e.note_json_len = 2;
  e.note_md = (char *)text;
  e.note_md_len = strlen(text);
  return e;
}

typedef struct seal_ctx {
  const rp_record_key *key;
  size_t skip;   // the index to skip, or SIZE_MAX
  size_t abort;  // the index at which to abandon the append, or SIZE_MAX
} seal_ctx;

static int seal(void *ud, rp_record *r, const rp_record_head *head, size_t i, rp_record_entry *e,
                rp_diags *diags) {
  (void)r;
  seal_ctx *c = ud;
  if (i == c->skip) return RP_RECORD_SKIP;
  if (i == c->abort) {
    rp_diags_add(diags, RP_SEV_ERROR, "test", 0, 0, "abandoned");
    return RP_EDATA;
  }
  rp_record_seal(e, head, c->key);
  return RP_OK;
}

static void append_ok(rp_record *r, const rp_record_key *key, rp_record_entry *e, size_t n) {
  seal_ctx c = {key, SIZE_MAX, SIZE_MAX};
  rp_diags d = RP_DIAGS_INIT;
  int rc = rp_record_append(r, e, n, seal, &c, &d);
  if (rc != RP_OK) dump_diags(&d);
  assert_int_equal(rc, RP_OK);
  rp_diags_free(&d);
}

static int make_cp(void *ud, const rp_record_head *head, rp_record_checkpoint *cp,
                   rp_diags *diags) {
  void **a = ud;
  rp_record_checkpoint_sign(cp, head, a[0]);
  return rp_record_checkpoint_write(a[1], cp, diags);
}

static void checkpoint_ok(fixture *f, rp_record *r) {
  void *ud[2] = {f->key, f->cp};
  assert_int_equal(rp_record_checkpoint_make(r, make_cp, ud, NULL), RP_OK);
}

// Three notes signed and a checkpoint made.
static rp_record *three(fixture *f) {
  rp_record *r = open_ok(f);
  rp_record_entry e[3] = {draft("C-1", 1, "first"), draft("C-2", 1, "second"),
                          draft("C-1", 2, "third")};
  append_ok(r, f->key, e, 3);
  checkpoint_ok(f, r);
  return r;
}

static int verify(fixture *f, rp_record *r, rp_record_verify_result *res) {
  return rp_record_verify(r, f->cp, NULL, 0, res, NULL);
}

static void sql(const fixture *f, const char *statement) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(db, statement, NULL, NULL, &err);
  if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", statement, err);
  sqlite3_free(err);
  sqlite3_close(db);
  assert_int_equal(rc, SQLITE_OK);
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

static int count_each(void *ud, const rp_record_entry *e) {
  long long *seen = ud;
  seen[0]++;
  seen[1] = seen[1] * 10 + e->seq;
  seen[2] += e->source != NULL;
  return RP_OK;
}

static void test_append_read_list(void **state) {
  fixture *f = *state;
  rp_record *r = three(f);
  rp_record_head head;
  assert_int_equal(rp_record_head_get(r, &head, NULL), RP_OK);
  assert_int_equal(head.entries, 3);

  rp_record_entry e;
  assert_int_equal(rp_record_read(r, 2, &e, NULL), RP_OK);
  assert_int_equal(e.seq, 2);
  assert_int_equal(e.kind, RP_RECORD_NOTE);
  assert_string_equal(e.session_key, "C-2/2026-11-24/1");
  assert_string_equal(e.client_id, "C-2");
  assert_string_equal(e.signer_name, "Dana Whitfield");
  assert_string_equal(e.signer_credentials, "LCSW");
  assert_int_equal(e.source_len, 6);
  assert_memory_equal(e.source, "second", 6);
  assert_memory_equal(e.public_key, f->key->public_key, RP_RECORD_KEY_BYTES);
  unsigned char h[RP_RECORD_HASH_BYTES];
  rp_record_entry_hash(&e, h);
  assert_memory_equal(h, e.hash, sizeof h);
  rp_record_entry_clear(&e);
  assert_int_equal(rp_record_read(r, 4, &e, NULL), RP_ENOTFOUND);

  long long seen[3] = {0};
  rp_record_query by_client = {NULL, "C-1", false};
  assert_int_equal(rp_record_list(r, &by_client, count_each, seen, NULL), RP_OK);
  assert_int_equal(seen[0], 2);
  assert_int_equal(seen[1], 13);  // entries 1 and 3, in order
  assert_int_equal(seen[2], 0);   // without content
  memset(seen, 0, sizeof seen);
  rp_record_query by_session = {"C-1/2026-11-24/2", NULL, true};
  assert_int_equal(rp_record_list(r, &by_session, count_each, seen, NULL), RP_OK);
  assert_int_equal(seen[0], 1);
  assert_int_equal(seen[1], 3);
  assert_int_equal(seen[2], 1);
  rp_record_close(r);
  struct stat st;
  assert_int_equal(stat(f->db, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_append_is_all_or_nothing(void **state) {
  fixture *f = *state;
  rp_record *r = open_ok(f);
  rp_record_entry e[3] = {draft("C-1", 1, "a"), draft("C-2", 1, "b"), draft("C-3", 1, "c")};
  // Entry 1 (index 1) left out: the others are numbered 1 and 2.
  seal_ctx skip = {f->key, 1, SIZE_MAX};
  assert_int_equal(rp_record_append(r, e, 3, seal, &skip, NULL), RP_OK);
  rp_record_head head;
  rp_record_head_get(r, &head, NULL);
  assert_int_equal(head.entries, 2);
  // Abandoned at the third: nothing of this append is stored.
  rp_record_entry more[3] = {draft("C-4", 1, "d"), draft("C-5", 1, "e"), draft("C-6", 1, "f")};
  seal_ctx abandon = {f->key, SIZE_MAX, 2};
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_record_append(r, more, 3, seal, &abandon, &d), RP_EDATA);
  assert_int_equal(d.errors, 1);
  rp_diags_free(&d);
  rp_record_head_get(r, &head, NULL);
  assert_int_equal(head.entries, 2);
  checkpoint_ok(f, r);
  rp_record_verify_result res;
  assert_int_equal(verify(f, r, &res), RP_OK);
  assert_int_equal(res.verified, 2);
  rp_record_close(r);
}

static void test_checkpoint(void **state) {
  fixture *f = *state;
  rp_record *r = three(f);
  rp_record_checkpoint file, db;
  assert_int_equal(rp_record_checkpoint_read(f->cp, &file, NULL), RP_OK);
  assert_int_equal(rp_record_checkpoint_latest(r, &db, NULL), RP_OK);
  assert_memory_equal(&file, &db, sizeof file);
  assert_int_equal(file.entries, 3);
  rp_record_head head;
  rp_record_head_get(r, &head, NULL);
  assert_memory_equal(file.head, head.hash, sizeof head.hash);
  struct stat st;
  assert_int_equal(stat(f->cp, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  char *p = rp_record_checkpoint_path("x/record.db");
  assert_string_equal(p, "x/record.checkpoint");
  free(p);
  p = rp_record_checkpoint_path("clinic.sqlite");
  assert_string_equal(p, "clinic.sqlite.checkpoint");
  free(p);
  rp_record_close(r);
}

// ---------------------------------------------------------------------------
// The chain and tampering
// ---------------------------------------------------------------------------

typedef struct links {
  unsigned char prev[RP_RECORD_HASH_BYTES];
  int n;
} links;

static int link_each(void *ud, const rp_record_entry *e) {
  links *l = ud;
  assert_memory_equal(e->prev_hash, l->prev, sizeof l->prev);
  memcpy(l->prev, e->hash, sizeof l->prev);
  l->n++;
  return RP_OK;
}

static void test_chain_links_and_verifies(void **state) {
  fixture *f = *state;
  rp_record *r = three(f);
  links l = {{0}, 0};
  assert_int_equal(rp_record_list(r, NULL, link_each, &l, NULL), RP_OK);
  assert_int_equal(l.n, 3);
  rp_record_verify_result res;
  assert_int_equal(verify(f, r, &res), RP_OK);
  assert_int_equal(res.verified, 3);
  assert_true(res.checkpoint_ok);
  // Pinned to the signer's key, and to another key.
  const rp_record_key *mine[] = {f->key};
  assert_int_equal(rp_record_verify(r, f->cp, mine, 1, &res, NULL), RP_OK);
  char other_dir[300];
  snprintf(other_dir, sizeof other_dir, "%s/other", f->dir);
  rp_record_key *other = NULL;
  assert_int_equal(
      rp_record_key_new(other_dir, "Sam Ortiz", NULL, PASS, strlen(PASS), &other, NULL), RP_OK);
  const rp_record_key *theirs[] = {other};
  assert_int_equal(rp_record_verify(r, f->cp, theirs, 1, &res, NULL), RP_EVERIFY);
  assert_int_equal(res.bad_entry, 1);
  assert_non_null(strstr(res.problem, "not one of the keys given"));
  rp_record_key_free(other);
  rp_record_close(r);
}

static void test_updates_and_deletes_are_refused(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_not_equal(sqlite3_exec(db, "UPDATE entries SET reason = 'x'", NULL, NULL, NULL),
                       SQLITE_OK);
  assert_non_null(strstr(sqlite3_errmsg(db), "signed and locked"));
  assert_int_not_equal(sqlite3_exec(db, "DELETE FROM entries", NULL, NULL, NULL), SQLITE_OK);
  assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
  assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
  sqlite3_close(db);
}

static void expect_bad(fixture *f, long long entry, const char *fragment) {
  rp_record *r = open_ok(f);
  rp_record_verify_result res;
  int rc = verify(f, r, &res);
  if (rc != RP_EVERIFY || res.bad_entry != entry || !strstr(res.problem, fragment))
    fprintf(stderr, "verify: %d, entry %lld: %s\n", rc, res.bad_entry, res.problem);
  assert_int_equal(rc, RP_EVERIFY);
  assert_int_equal(res.bad_entry, entry);
  assert_non_null(strstr(res.problem, fragment));
  rp_record_close(r);
}

#define UNLOCK "DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;"

static void test_a_changed_entry_is_found(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  sql(f, UNLOCK "UPDATE entries SET source = CAST('secund' AS BLOB) WHERE seq = 2");
  expect_bad(f, 2, "do not match its hash");
}

static void test_a_changed_signer_is_found(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  sql(f, UNLOCK "UPDATE entries SET signer_name = 'Dr Impostor' WHERE seq = 3");
  expect_bad(f, 3, "do not match its hash");
}

static void test_a_deleted_entry_is_found(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  sql(f, UNLOCK "DELETE FROM entries WHERE seq = 1");
  expect_bad(f, 1, "missing: the chain goes from entry 0 to entry 2");
}

static void test_removed_newest_entries_are_found(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  sql(f, UNLOCK "DELETE FROM entries WHERE seq = 3; DELETE FROM checkpoints;");
  expect_bad(f, 3, "missing (entries 3 to 3 are gone)");
}

static void test_a_relinked_chain_is_found(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  // Entry 3 pointed at entry 1's hash: its own hash no longer matches.
  sql(f, UNLOCK
      "UPDATE entries SET prev_hash = (SELECT hash FROM entries WHERE seq = 1) WHERE seq = 3");
  expect_bad(f, 3, "does not follow entry 2");
}

static void test_no_checkpoint_is_found(void **state) {
  fixture *f = *state;
  rp_record_close(three(f));
  unlink(f->cp);
  sql(f, "DELETE FROM checkpoints");
  expect_bad(f, 0, "no checkpoint");
}

// ---------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------

static void test_a_new_record_has_the_latest_schema(void **state) {
  fixture *f = *state;
  rp_record *r = open_ok(f);
  assert_int_equal(rp_record_schema_version(r), rp_record_schema_latest());
  assert_true(rp_record_schema_latest() >= 2);
  rp_record_close(r);
  // Opening again migrates nothing and keeps what is there.
  rp_record_close(three(f));
  r = open_ok(f);
  rp_record_head head;
  rp_record_head_get(r, &head, NULL);
  assert_int_equal(head.entries, 3);
  rp_record_close(r);
}

static int count_events(void *ud, const rp_record_event *ev) {
  (void)ev;
  ++*(int *)ud;
  return RP_OK;
}

static void test_a_version_1_record_is_migrated(void **state) {
  fixture *f = *state;
  // A record as version 1 left it: no audit log yet.
  rp_record_close(three(f));
  sql(f,
      "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; DROP TABLE audit; "
      "PRAGMA user_version = 1;");
  rp_record *r = open_ok(f);
  assert_int_equal(rp_record_schema_version(r), rp_record_schema_latest());
  rp_record_event ev = {
      .action = "verify", .actor = "it", .key_fpr = "", .client_id = "", .detail = ""};
  assert_int_equal(rp_record_log_add(r, &ev, NULL), RP_OK);
  int n = 0;
  assert_int_equal(rp_record_log_list(r, NULL, count_events, &n, NULL), RP_OK);
  assert_int_equal(n, 1);
  rp_record_verify_result res;
  assert_int_equal(verify(f, r, &res), RP_OK);
  rp_record_close(r);
}

static void test_a_newer_record_is_refused(void **state) {
  fixture *f = *state;
  rp_record_close(open_ok(f));
  sql(f, "PRAGMA user_version = 99");
  rp_record *r = NULL;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_record_open(f->db, RP_RECORD_WRITE, &r, &d), RP_EDATA);
  assert_null(r);
  assert_int_equal(d.n, 1);
  assert_non_null(strstr(d.items[0].msg, "made by a newer Rapport"));
  rp_diags_free(&d);
}

static void test_a_missing_record_is_not_made_for_reading(void **state) {
  fixture *f = *state;
  rp_record *r = NULL;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_record_open(f->db, RP_RECORD_READ, &r, &d), RP_ENOTFOUND);
  assert_null(r);
  assert_int_equal(access(f->db, F_OK), -1);
  rp_diags_free(&d);
}

// ---------------------------------------------------------------------------
// Keys, the audit log and the lookup
// ---------------------------------------------------------------------------

static void test_keys(void **state) {
  fixture *f = *state;
  char path[300];
  snprintf(path, sizeof path, "%s/keys/signing.key", f->dir);
  rp_record_key *k = NULL;
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_record_key_load(path, "wrong passphrase", 16, &k, &d), RP_EAUTH);
  assert_null(k);
  assert_non_null(strstr(d.items[0].msg, "wrong passphrase"));
  rp_diags_free(&d);
  assert_int_equal(rp_record_key_load(path, PASS, strlen(PASS), &k, NULL), RP_OK);
  assert_memory_equal(k->secret_key, f->key->secret_key, RP_RECORD_SECRET_BYTES);
  assert_string_equal(k->name, "Dana Whitfield");
  assert_string_equal(k->credentials, "LCSW");
  rp_record_key_free(k);
  snprintf(path, sizeof path, "%s/keys/signing.pub", f->dir);
  assert_int_equal(rp_record_key_load(path, NULL, 0, &k, NULL), RP_OK);
  assert_null(k->secret_key);
  assert_string_equal(k->fingerprint, f->key->fingerprint);
  rp_record_key_free(k);
  // A public key cannot sign.
  assert_int_equal(rp_record_key_load(path, PASS, strlen(PASS), &k, NULL), RP_EUSAGE);
  char keys[300];
  snprintf(keys, sizeof keys, "%s/keys", f->dir);
  assert_int_equal(rp_record_key_new(keys, "Again", NULL, PASS, strlen(PASS), &k, NULL), RP_EUSAGE);
}

static void test_signature_line(void **state) {
  (void)state;
  rp_buf b = RP_BUF_INIT;
  rp_record_signature_line("Dana Whitfield", "LCSW", "2026-11-25T14:03:07Z", 12, "3f2a9b1c0d4e5f60",
                           &b);
  assert_string_equal(b.data,
                      "Electronically signed by Dana Whitfield, LCSW on 2026-11-25 14:03 UTC "
                      "\xC2\xB7 entry 12 \xC2\xB7 key 3f2a9b1c0d4e5f60");
  rp_buf_clear(&b);
  rp_record_signature_line("Sam Ortiz", "", "2026-11-25T14:03:07Z", 1, "0000000000000000", &b);
  assert_non_null(strstr(b.data, "by Sam Ortiz on 2026"));
  rp_buf_free(&b);
  char *key = rp_record_session_key("C-1042", "2026-11-24", "7");
  assert_string_equal(key, "C-1042/2026-11-24/7");
  free(key);
  key = rp_record_session_key("C-1042", "2026-11-24", NULL);
  assert_string_equal(key, "C-1042/2026-11-24");
  free(key);
}

static void test_identify(void **state) {
  (void)state;
  const char yaml[] =
      "type: soap\nclient: { id: C-1042 }\nsession: { date: 2026-11-24, number: 7 }\n";
  char *key = NULL, *client = NULL;
  assert_int_equal(rp_record_identify("s.yaml", yaml, strlen(yaml), &key, &client, NULL), RP_OK);
  assert_string_equal(key, "C-1042/2026-11-24/7");
  assert_string_equal(client, "C-1042");
  free(key);
  free(client);
  const char json[] = "{\"client\": {\"id\": 1042}, \"session\": {\"date\": \"2026-11-24\"}}";
  assert_int_equal(rp_record_identify("s.json", json, strlen(json), &key, NULL, NULL), RP_OK);
  assert_string_equal(key, "1042/2026-11-24");
  free(key);
  const char none[] = "type: soap\nclient: { id: C-1042 }\n";
  rp_diags d = RP_DIAGS_INIT;
  assert_int_equal(rp_record_identify("n.yaml", none, strlen(none), &key, NULL, &d), RP_EDATA);
  assert_null(key);
  assert_true(has_diag_path(&d, "n.yaml"));
  rp_diags_free(&d);
}

static int amend_seal(void *ud, rp_record *r, const rp_record_head *head, size_t i,
                      rp_record_entry *e, rp_diags *diags) {
  (void)r, (void)i, (void)diags;
  e->kind = RP_RECORD_AMENDMENT;
  e->amends = 1;
  e->reason = "wrong night";
  rp_record_seal(e, head, ud);
  return RP_OK;
}

static void test_lookup(void **state) {
  fixture *f = *state;
  rp_record *r = three(f);
  rp_record_signature s;
  assert_int_equal(rp_record_lookup(r, "C-9/2026-11-24/1", NULL, 0, &s, NULL), RP_OK);
  assert_false(s.is_signed);
  rp_record_signature_clear(&s);

  assert_int_equal(rp_record_lookup(r, "C-1/2026-11-24/1", "first", 5, &s, NULL), RP_OK);
  assert_true(s.is_signed);
  assert_false(s.changed);
  assert_int_equal(s.note.entry, 1);
  assert_string_equal(s.note.name, "Dana Whitfield");
  assert_string_equal(s.note.fingerprint, f->key->fingerprint);
  assert_int_equal(s.namendments, 0);
  rp_record_signature_clear(&s);

  rp_record_entry a = draft("C-1", 1, "first, amended");
  assert_int_equal(rp_record_append(r, &a, 1, amend_seal, f->key, NULL), RP_OK);
  assert_int_equal(rp_record_lookup(r, "C-1/2026-11-24/1", "first", 5, &s, NULL), RP_OK);
  assert_true(s.changed);  // the latest version is the amendment's
  assert_int_equal(s.namendments, 1);
  assert_int_equal(s.amendments[0].entry, 4);
  assert_string_equal(s.amendments[0].reason, "wrong night");
  assert_int_equal(s.latest_md_len, strlen("first, amended"));
  rp_buf block = RP_BUF_INIT;
  rp_record_signature_block(&s, &block);
  assert_non_null(strstr(block.data, "Electronically signed by Dana Whitfield, LCSW"));
  assert_non_null(strstr(block.data, "Amendment (entry 4, amends entry 1). Reason: wrong night"));
  assert_non_null(strstr(block.data, "\xC2\xB7 entry 4 \xC2\xB7"));
  rp_buf_free(&block);
  rp_record_signature_clear(&s);
  checkpoint_ok(f, r);
  rp_record_verify_result res;
  assert_int_equal(verify(f, r, &res), RP_OK);
  assert_int_equal(res.verified, 4);
  rp_record_close(r);
}

static void test_an_amendment_of_another_session_is_found(void **state) {
  fixture *f = *state;
  rp_record *r = three(f);
  // Amends entry 1 (C-1, session 1) but is about C-2.
  rp_record_entry a = draft("C-2", 1, "other");
  assert_int_equal(rp_record_append(r, &a, 1, amend_seal, f->key, NULL), RP_OK);
  checkpoint_ok(f, r);
  rp_record_close(r);
  expect_bad(f, 4, "not an earlier note of its session");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_append_read_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_append_is_all_or_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chain_links_and_verifies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_updates_and_deletes_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_changed_entry_is_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_changed_signer_is_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_deleted_entry_is_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_removed_newest_entries_are_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_relinked_chain_is_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_checkpoint_is_found, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_new_record_has_the_latest_schema, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_version_1_record_is_migrated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_newer_record_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_missing_record_is_not_made_for_reading, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
      cmocka_unit_test(test_signature_line),
      cmocka_unit_test(test_identify),
      cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
      cmocka_unit_test_setup_teardown(test_an_amendment_of_another_session_is_found, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
