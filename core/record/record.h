// The signed record: a practice's notes of record, each signed once and then
// never silently changed (PRODUCT.md §12, docs/record.md).
//
// A record is a list of entries numbered from 1. Each entry holds one
// session as it was signed: the session file's bytes, the computed note
// (JSON), the rendered note (Markdown), what made them, who signed and when.
// Entries form a hash chain: an entry's hash covers its canonical bytes
// (docs/record.md gives them byte for byte), which include the hash of the
// entry before it, and the signer's Ed25519 key signs that hash. A signed
// checkpoint (the number of entries and the newest hash) is kept in the
// record and in a file beside it, so that removing the newest entries, or
// rewriting the whole chain, is detected too.
//
// The module has three parts, each behind this header:
//   - storage (store_sqlite.c, the only file that speaks SQL): open, append,
//     read, list and checkpoint, plus the clinicians' public keys and the
//     audit log. A PostgreSQL backend will implement the same operations;
//     nothing above them knows which one holds the record;
//   - the chain (chain.c): canonical bytes, hashes, signatures, checkpoints,
//     verification and the signature lookup that render uses;
//   - keys (keys.c): Ed25519 key pairs whose secret part is kept encrypted
//     with a passphrase (Argon2id, then XSalsa20-Poly1305), never in clear.
//
// Conventions: functions return an rp_status (RP_OK or a negative code) and
// report what a person must be told to `diags` (which may be NULL), named by
// the record's path or the key file's; messages never quote a session's
// values. Strings are NUL-terminated UTF-8 unless a length goes with them.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "notes/notes.h"
#include "util/error.h"

#define RP_RECORD_KEY_BYTES 32     // an Ed25519 public key
#define RP_RECORD_SECRET_BYTES 64  // an Ed25519 secret key (seed and public key)
#define RP_RECORD_HASH_BYTES 32    // SHA-256
#define RP_RECORD_SIG_BYTES 64     // an Ed25519 signature
// A key's fingerprint: the first 8 bytes of the SHA-256 of its public key,
// as 16 lowercase hex digits (and the NUL).
#define RP_RECORD_FPR_SIZE 17

typedef struct rp_record rp_record;

// ---------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------

typedef enum rp_record_kind {
  RP_RECORD_NOTE = 1,       // a session's note, signed
  RP_RECORD_AMENDMENT = 2,  // a signed addendum to an earlier note
} rp_record_kind;

// "note", "amendment"; NULL for anything else.
const char *rp_record_kind_name(rp_record_kind kind);

// One entry. An entry read from the record (rp_record_read, rp_record_list)
// owns every pointer in it: free them with rp_record_entry_clear. An entry
// handed to rp_record_append only lends its pointers for the call. Text
// fields are never NULL in a read entry ("" when empty).
typedef struct rp_record_entry {
  long long seq;        // the entry number, from 1; set when sealed
  rp_record_kind kind;  //
  long long amends;     // an amendment: the number of the note it amends; else 0
  char *session_key;    // what identifies the session (rp_record_session_key)
  char *client_id;      // the session's client.id, for `log --client`
  char *signed_at;      // UTC, "2026-11-25T14:03:07Z"
  char *signer_name;
  char *signer_credentials;  // "" when the clinician gave none
  unsigned char public_key[RP_RECORD_KEY_BYTES];
  char *note_type;  // the note type's id
  char *made_by;    // JSON: the Rapport version and the content hashes of
                    // the plugin and layout that made the note
  char *reason;     // an amendment's reason; "" for a note
  char *source;     // the session file's bytes, as signed
  size_t source_len;
  char *note_json;  // the computed note
  size_t note_json_len;
  char *note_md;  // the rendered note, its signature block included
  size_t note_md_len;
  unsigned char prev_hash[RP_RECORD_HASH_BYTES];  // the entry before's hash; zeros for entry 1
  unsigned char hash[RP_RECORD_HASH_BYTES];       // SHA-256 of the canonical bytes
  unsigned char signature[RP_RECORD_SIG_BYTES];   // Ed25519 over `hash`
} rp_record_entry;

// Frees what a read entry owns and zeroes it. e may be NULL.
void rp_record_entry_clear(rp_record_entry *e);

// The newest entry: how many there are and the last one's hash (zeros when
// there are none).
typedef struct rp_record_head {
  long long entries;
  unsigned char hash[RP_RECORD_HASH_BYTES];
} rp_record_head;

// ---------------------------------------------------------------------------
// Storage: the narrow interface every backend implements
// ---------------------------------------------------------------------------

typedef enum rp_record_mode {
  RP_RECORD_READ,   // the record must exist; nothing is written but the audit log
  RP_RECORD_WRITE,  // the record is created (with its folder's permissions, file 0600) if missing
} rp_record_mode;

// Opens the record at `path` (a SQLite file), bringing its schema up to date
// (each migration in a transaction of its own). A record made by a newer
// Rapport is refused. Writers wait for each other (up to 30 seconds), so two
// processes signing at once both succeed, one after the other. On success
// *out is the record, closed with rp_record_close; on failure *out is NULL.
int rp_record_open(const char *path, rp_record_mode mode, rp_record **out, rp_diags *diags);
// Closes the record. r may be NULL.
void rp_record_close(rp_record *r);
// The path the record was opened with (owned by r).
const char *rp_record_path(const rp_record *r);
// The schema version of the record, and the one this Rapport writes.
int rp_record_schema_version(rp_record *r);
int rp_record_schema_latest(void);

// What rp_record_append's seal function returns for an entry it leaves out.
#define RP_RECORD_SKIP 1

// Decides and completes entry i of an append, inside its transaction:
// `head` is the record's newest entry at that moment (entries stored earlier
// in the same append included). The function may read the record (`r`), and
// then sets e->seq, e->prev_hash, e->hash and e->signature (rp_record_seal)
// and returns RP_OK to store it, RP_RECORD_SKIP to leave it out, or a
// negative status (reported to diags) to abandon the whole append.
typedef int (*rp_record_seal_fn)(void *ud, rp_record *r, const rp_record_head *head, size_t i,
                                 rp_record_entry *e, rp_diags *diags);

// Appends entries[0..n) in one transaction: each is sealed by `seal` in
// turn and stored, with one audit event ("sign" or "amend") each. Either
// every entry sealed is stored, or (on a failure) none is and the record is
// as it was. A process killed at any moment leaves one or the other.
int rp_record_append(rp_record *r, rp_record_entry *entries, size_t n, rp_record_seal_fn seal,
                     void *ud, rp_diags *diags);

// Reads entry `seq` into *e (cleared first; free with rp_record_entry_clear).
// RP_ENOTFOUND when there is no such entry.
int rp_record_read(rp_record *r, long long seq, rp_record_entry *e, rp_diags *diags);

// Which entries rp_record_list visits: all (both NULL), those of one session,
// or those of one client; with_content false leaves source, note_json and
// note_md NULL (and their lengths 0), for a listing that needs no text.
typedef struct rp_record_query {
  const char *session_key;
  const char *client_id;
  bool with_content;
} rp_record_query;

// Calls fn for each entry the query selects, in entry order. The entry is
// lent for the call. fn returns RP_OK to go on, anything else to stop (then
// rp_record_list returns that). q may be NULL (every entry, with content).
typedef int (*rp_record_entry_fn)(void *ud, const rp_record_entry *e);
int rp_record_list(rp_record *r, const rp_record_query *q, rp_record_entry_fn fn, void *ud,
                   rp_diags *diags);

// The newest entry, read as it is stored (no verification).
int rp_record_head_get(rp_record *r, rp_record_head *head, rp_diags *diags);

// A checkpoint: the record had `entries` entries, the newest with hash
// `head`, at `made_at`; `public_key` signed it (rp_record_checkpoint_sign).
typedef struct rp_record_checkpoint {
  long long entries;
  unsigned char head[RP_RECORD_HASH_BYTES];
  char made_at[24];  // "2026-11-25T14:03:07Z"
  unsigned char public_key[RP_RECORD_KEY_BYTES];
  unsigned char signature[RP_RECORD_SIG_BYTES];
} rp_record_checkpoint;

// Makes a checkpoint of the record as it is now: under the record's write
// lock (so that no entry is added meanwhile) `make` fills *cp from `head`,
// signs it and may write it elsewhere (the checkpoint file), returning RP_OK;
// the checkpoint is then stored in the record. A non-OK status from `make`
// stores nothing and is returned.
typedef int (*rp_record_checkpoint_fn)(void *ud, const rp_record_head *head,
                                       rp_record_checkpoint *cp, rp_diags *diags);
int rp_record_checkpoint_make(rp_record *r, rp_record_checkpoint_fn make, void *ud,
                              rp_diags *diags);
// The latest checkpoint stored in the record; RP_ENOTFOUND when none is.
int rp_record_checkpoint_latest(rp_record *r, rp_record_checkpoint *cp, rp_diags *diags);

// Stores a clinician's public key with their name and credentials (a key
// already stored is left as it is).
int rp_record_key_put(rp_record *r, const unsigned char pk[RP_RECORD_KEY_BYTES], const char *name,
                      const char *credentials, rp_diags *diags);

// ---------------------------------------------------------------------------
// The audit log: who did what and when, append-only, no clinical text
// ---------------------------------------------------------------------------

typedef struct rp_record_event {
  long long id;
  const char *at;         // UTC time
  const char *action;     // "sign", "amend", "verify", "key", "export", "history"
  const char *actor;      // the clinician's name, or the login name
  const char *key_fpr;    // the key used, or ""
  const char *client_id;  // or ""
  long long entry;        // the entry concerned, or 0
  const char *detail;     // a short description without session values, or ""
} rp_record_event;

// Appends an event (its `id` and, when NULL, `at` are filled in).
int rp_record_log_add(rp_record *r, const rp_record_event *ev, rp_diags *diags);
// Calls fn for each event, oldest first, of one client (client_id not NULL)
// or all. The event is lent for the call; fn returns RP_OK to go on.
typedef int (*rp_record_event_fn)(void *ud, const rp_record_event *ev);
int rp_record_log_list(rp_record *r, const char *client_id, rp_record_event_fn fn, void *ud,
                       rp_diags *diags);

// ---------------------------------------------------------------------------
// Keys (keys.c)
// ---------------------------------------------------------------------------

// A clinician's key pair. The secret part lives in guarded memory
// (libsodium's sodium_malloc) and is wiped when the key is freed.
typedef struct rp_record_key {
  char *name;
  char *credentials;  // "" when none
  unsigned char public_key[RP_RECORD_KEY_BYTES];
  char fingerprint[RP_RECORD_FPR_SIZE];
  unsigned char *secret_key;  // RP_RECORD_SECRET_BYTES, or NULL for a public key alone
  char *path;                 // the file it came from
} rp_record_key;

// The folder keys live in: $XDG_CONFIG_HOME/rapport, or $HOME/.config/rapport
// when XDG_CONFIG_HOME is unset or empty. Malloc'd; NULL (reported) when
// neither variable is set.
char *rp_record_key_dir(rp_diags *diags);

// The passphrase: $RAPPORT_PASSPHRASE when set, otherwise asked on the
// terminal without echo (`confirm` asks twice and insists both match).
// Appended to `out`, which the caller wipes (sodium_memzero through
// rp_record_wipe) and frees. RP_EUSAGE when there is neither.
int rp_record_passphrase(const char *prompt, bool confirm, rp_buf *out, rp_diags *diags);
// Wipes and frees a buffer that held a secret.
void rp_record_wipe(rp_buf *b);

// Creates a key pair for `name` (and `credentials`, which may be NULL) in
// the folder `dir` (made 0700 if missing): `dir`/signing.key (mode 0600: the
// public key in clear, the secret key encrypted with a key derived from
// `passphrase` by Argon2id) and `dir`/signing.pub. An existing key is never
// replaced (RP_EUSAGE). On success *out is the new key (free with
// rp_record_key_free).
int rp_record_key_new(const char *dir, const char *name, const char *credentials,
                      const char *passphrase, size_t passlen, rp_record_key **out, rp_diags *diags);
// Reads the key file `path`: with a passphrase the secret key is decrypted
// too (a wrong one is RP_EAUTH); with `passphrase` NULL only the public part
// is read (a .pub file or a .key file). RP_ENOTFOUND when there is no file.
int rp_record_key_load(const char *path, const char *passphrase, size_t passlen,
                       rp_record_key **out, rp_diags *diags);
// Frees the key and wipes its secret part. k may be NULL.
void rp_record_key_free(rp_record_key *k);

// The fingerprint of a public key (see RP_RECORD_FPR_SIZE).
void rp_record_fingerprint(const unsigned char pk[RP_RECORD_KEY_BYTES],
                           char out[RP_RECORD_FPR_SIZE]);

// ---------------------------------------------------------------------------
// The chain (chain.c)
// ---------------------------------------------------------------------------

// SHA-256 of `len` bytes as 64 lowercase hex digits and a NUL.
void rp_record_sha256_hex(const void *data, size_t len, char out[65]);

// What identifies a session in the record: its client's id, its date and,
// when the session has one, its number, as "CLIENT/DATE" or
// "CLIENT/DATE/NUMBER" (malloc'd). See docs/record.md for why.
char *rp_record_session_key(const char *client_id, const char *date, const char *number);

// Reads the identity of the session whose file `path` holds the `len`
// bytes `src` (YAML or JSON): *session_key as rp_record_session_key makes it
// and, when client_id is not NULL, *client_id (both malloc'd). A session
// without client.id or session.date has none: RP_EDATA, reported at `path`.
int rp_record_identify(const char *path, const char *src, size_t len, char **session_key,
                       char **client_id, rp_diags *diags);

// The canonical bytes of an entry (docs/record.md), appended to `out`.
void rp_record_canonical(const rp_record_entry *e, rp_buf *out);
// SHA-256 of the canonical bytes.
void rp_record_entry_hash(const rp_record_entry *e, unsigned char out[RP_RECORD_HASH_BYTES]);

// Seals entry `e` as the one after `head`, signed by `key` (which must hold
// its secret part): sets seq, prev_hash, public_key, hash and signature. The
// other fields must be complete.
void rp_record_seal(rp_record_entry *e, const rp_record_head *head, const rp_record_key *key);

// "Electronically signed by NAME, CREDENTIALS on DATE · entry N · key FPR"
// (without ", CREDENTIALS" when there are none), appended to `out`. `date`
// is an entry's signed_at; it prints as "2026-11-25 14:03 UTC".
void rp_record_signature_line(const char *name, const char *credentials, const char *date,
                              long long entry, const char *fingerprint, rp_buf *out);

// The checkpoint file of the record at `path`: its name without a final
// ".db", then ".checkpoint" (record.db -> record.checkpoint), malloc'd.
char *rp_record_checkpoint_path(const char *record_path);
// Signs a checkpoint of `head` made now with `key` into *cp.
void rp_record_checkpoint_sign(rp_record_checkpoint *cp, const rp_record_head *head,
                               const rp_record_key *key);
// Writes *cp as a checkpoint file (atomically, 0600), or reads one. Reading
// a file that is not a checkpoint is RP_EDATA; a missing one RP_ENOTFOUND.
int rp_record_checkpoint_write(const char *path, const rp_record_checkpoint *cp, rp_diags *diags);
int rp_record_checkpoint_read(const char *path, rp_record_checkpoint *cp, rp_diags *diags);
// The checkpoint as one line, as sign and verify print it:
// "checkpoint: N entries, head HASH, DATE, key FPR".
void rp_record_checkpoint_line(const rp_record_checkpoint *cp, rp_buf *out);

// What verification found.
typedef struct rp_record_verify_result {
  long long entries;                // entries read
  long long verified;               // entries whose hash, chain link and signature are good
  long long bad_entry;              // the first bad entry, or 0 when all are good
  char problem[256];                // what is wrong with it (or with the checkpoint), or ""
  bool checkpoint_ok;               // the checkpoint was found, signed and matches
  rp_record_checkpoint checkpoint;  // the latest checkpoint (file or record)
} rp_record_verify_result;

// Walks the chain of `r` from entry 1: each entry's number, its link to the
// entry before, its hash and its signature; an amendment must point at an
// earlier note of the same session. Then the latest checkpoint (of the file
// `checkpoint_path` and of the record, the newer) must be signed and match
// the chain at its entry; a record with entries and no checkpoint fails.
// With `trusted` keys (n > 0), every entry and the checkpoint must be signed
// by one of them. Returns RP_OK when everything is good, RP_EVERIFY with
// *res naming the first bad entry (or the checkpoint) otherwise, or another
// status when the record could not be read (reported to diags).
int rp_record_verify(rp_record *r, const char *checkpoint_path, const rp_record_key *const *trusted,
                     size_t ntrusted, rp_record_verify_result *res, rp_diags *diags);

// ---------------------------------------------------------------------------
// What render shows of a signed session (chain.c)
// ---------------------------------------------------------------------------

typedef struct rp_record_signer {
  long long entry;
  char *name, *credentials, *signed_at;
  char fingerprint[RP_RECORD_FPR_SIZE];
  char *reason;  // an amendment's reason; "" for the note itself
} rp_record_signer;

typedef struct rp_record_signature {
  bool is_signed;                // false: the session is not in the record (the rest is empty)
  rp_record_signer note;         // the signed note
  rp_record_signer *amendments;  // the amendments, oldest first
  size_t namendments;
  bool changed;     // the session's bytes differ from the latest version signed
  char *latest_md;  // the Markdown of the latest version signed (owned)
  size_t latest_md_len;
} rp_record_signature;

// Looks up the session `session_key` (rp_record_session_key) in the record:
// whether it is signed, by whom, when, in which entry, with which key, its
// amendments, and whether `source` (the session file's bytes now; NULL to
// skip the comparison) differs from the latest version signed. Fills *out
// (free with rp_record_signature_clear); RP_OK also when it is not signed.
int rp_record_lookup(rp_record *r, const char *session_key, const char *source, size_t len,
                     rp_record_signature *out, rp_diags *diags);
void rp_record_signature_clear(rp_record_signature *s);

// The signature block a signed note carries (Markdown), appended to `out`:
// the signature line of the note and one per amendment, with its reason.
void rp_record_signature_block(const rp_record_signature *s, rp_buf *out);

// Opens the record at `path` to read, when there is one: *out is NULL and
// RP_OK when the file does not exist (nothing is signed then).
int rp_record_open_if_any(const char *path, struct rp_record **out, rp_diags *diags);

// Marks the note built from the session file `path` as signed when the
// record holds that session unchanged: the signature block ends the note in
// every format and the note's data gets a `signature` object (name,
// credentials, signed_at, entry, key). When the file has changed since it
// was signed, a warning at `path` says so and the note stays unmarked. r may
// be NULL (no record). Returns RP_OK, or a status after reporting when the
// record could not be read.
struct rp_note;
int rp_record_mark_note(struct rp_record *r, struct rp_note *note, const char *path,
                        rp_diags *diags);

// The time now in UTC, "2026-11-25T14:03:07Z".
void rp_record_now(char out[24]);
