// The hash chain: canonical bytes, hashes, signatures, checkpoints,
// verification, and the lookup that tells render whether a session is signed.
//
// docs/record.md describes the canonical bytes so that another program can
// verify a record; this file is their one definition here. Each field is
// written as its length (8 bytes, big-endian) followed by its bytes, after a
// fixed label; integers are written in decimal ASCII. An entry's hash is the
// SHA-256 of its canonical bytes, and its signature is Ed25519 over that
// 32-byte hash.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notes/output.h"
#include "record/internal.h"
#include "record/libs.h"
#include "record/record.h"
#include "util/atomic.h"
#include "util/file.h"

static const char ENTRY_LABEL[] = "rapport record entry v1";
static const char CHECKPOINT_LABEL[] = "rapport record checkpoint v1";

// sodium_init chooses the fastest implementations and seeds the random
// generator; it must run before any other libsodium call, once.
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;
static void sodium_start(void) {
  sodium_status = sodium()->sodium_init() < 0 ? -1 : 0;
}

int rp_record_crypto_ready(rp_diags *diags) {
  if (rp_dynlib_open(&rp_sodium_lib, diags) != RP_OK) return RP_EIO;
  pthread_once(&sodium_once, sodium_start);
  if (sodium_status == 0) return RP_OK;
  rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0, "the cryptography library did not start");
  return RP_EIO;
}

const char *rp_record_kind_name(rp_record_kind kind) {
  switch (kind) {
    case RP_RECORD_NOTE:
      return "note";
    case RP_RECORD_AMENDMENT:
      return "amendment";
  }
  return NULL;
}

void rp_record_now(char out[24]) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rp_record_sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  sodium()->crypto_hash_sha256(h, data, len);
  sodium()->sodium_bin2hex(out, 65, h, sizeof h);
}

void rp_record_fingerprint(const unsigned char pk[RP_RECORD_KEY_BYTES],
                           char out[RP_RECORD_FPR_SIZE]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  sodium()->crypto_hash_sha256(h, pk, RP_RECORD_KEY_BYTES);
  sodium()->sodium_bin2hex(out, RP_RECORD_FPR_SIZE, h, 8);
}

char *rp_record_session_key(const char *client_id, const char *date, const char *number) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s/%s", client_id, date);
  if (number && *number) rp_buf_printf(&b, "/%s", number);
  return rp_buf_detach(&b);
}

// --- canonical bytes -----------------------------------------------------------------------

// The canonical bytes go either into a buffer or straight into a hash.
typedef struct sink {
  rp_buf *buf;
  crypto_hash_sha256_state *hash;
} sink;

static void put(sink *s, const void *data, size_t len) {
  if (s->buf) rp_buf_add(s->buf, data, len);
  if (s->hash) sodium()->crypto_hash_sha256_update(s->hash, data, len);
}

static void field(sink *s, const void *data, size_t len) {
  unsigned char n[8];
  for (int i = 0; i < 8; i++)
    n[i] = (unsigned char)((unsigned long long)len >> (56 - 8 * i));
  put(s, n, sizeof n);
  put(s, data ? data : "", len);
}

static void field_str(sink *s, const char *str) {
  field(s, str, str ? strlen(str) : 0);
}

static void field_int(sink *s, long long v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%lld", v);
  field(s, t, (size_t)n);
}

static void canonical(sink *s, const rp_record_entry *e) {
  field_str(s, ENTRY_LABEL);
  field_int(s, e->seq);
  field_str(s, rp_record_kind_name(e->kind));
  field_int(s, e->amends);
  field_str(s, e->session_key);
  field_str(s, e->client_id);
  field_str(s, e->signed_at);
  field_str(s, e->signer_name);
  field_str(s, e->signer_credentials);
  field(s, e->public_key, sizeof e->public_key);
  field_str(s, e->note_type);
  field_str(s, e->made_by);
  field_str(s, e->reason);
  field(s, e->source, e->source_len);
  field(s, e->note_json, e->note_json_len);
  field(s, e->note_md, e->note_md_len);
  field(s, e->prev_hash, sizeof e->prev_hash);
}

void rp_record_canonical(const rp_record_entry *e, rp_buf *out) {
  sink s = {out, NULL};
  canonical(&s, e);
}

void rp_record_entry_hash(const rp_record_entry *e, unsigned char out[RP_RECORD_HASH_BYTES]) {
  crypto_hash_sha256_state st;
  sodium()->crypto_hash_sha256_init(&st);
  sink s = {NULL, &st};
  canonical(&s, e);
  sodium()->crypto_hash_sha256_final(&st, out);
}

void rp_record_seal(rp_record_entry *e, const rp_record_head *head, const rp_record_key *key) {
  e->seq = head->entries + 1;
  memcpy(e->prev_hash, head->hash, sizeof e->prev_hash);
  memcpy(e->public_key, key->public_key, sizeof e->public_key);
  rp_record_entry_hash(e, e->hash);
  sodium()->crypto_sign_detached(e->signature, NULL, e->hash, sizeof e->hash, key->secret_key);
}

void rp_record_signature_line(const char *name, const char *credentials, const char *date,
                              long long entry, const char *fingerprint, rp_buf *out) {
  // "2026-11-25T14:03:07Z" reads as "2026-11-25 14:03 UTC".
  char when[32];
  if (strlen(date) >= 16 && date[10] == 'T')
    snprintf(when, sizeof when, "%.10s %.5s UTC", date, date + 11);
  else
    snprintf(when, sizeof when, "%.24s", date);
  rp_buf_printf(out, "Electronically signed by %s", name);
  if (credentials && *credentials) rp_buf_printf(out, ", %s", credentials);
  rp_buf_printf(out, " on %s \xC2\xB7 entry %lld \xC2\xB7 key %s", when, entry, fingerprint);
}

// --- checkpoints ---------------------------------------------------------------------------

char *rp_record_checkpoint_path(const char *record_path) {
  size_t len = strlen(record_path);
  if (len > 3 && strcmp(record_path + len - 3, ".db") == 0) len -= 3;
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%.*s.checkpoint", (int)len, record_path);
  return rp_buf_detach(&b);
}

static void checkpoint_hash(const rp_record_checkpoint *cp, unsigned char out[32]) {
  crypto_hash_sha256_state st;
  sodium()->crypto_hash_sha256_init(&st);
  sink s = {NULL, &st};
  field_str(&s, CHECKPOINT_LABEL);
  field_int(&s, cp->entries);
  field(&s, cp->head, sizeof cp->head);
  field_str(&s, cp->made_at);
  field(&s, cp->public_key, sizeof cp->public_key);
  sodium()->crypto_hash_sha256_final(&st, out);
}

void rp_record_checkpoint_sign(rp_record_checkpoint *cp, const rp_record_head *head,
                               const rp_record_key *key) {
  memset(cp, 0, sizeof *cp);
  cp->entries = head->entries;
  memcpy(cp->head, head->hash, sizeof cp->head);
  rp_record_now(cp->made_at);
  memcpy(cp->public_key, key->public_key, sizeof cp->public_key);
  unsigned char h[32];
  checkpoint_hash(cp, h);
  sodium()->crypto_sign_detached(cp->signature, NULL, h, sizeof h, key->secret_key);
}

static bool checkpoint_signed(const rp_record_checkpoint *cp) {
  unsigned char h[32];
  checkpoint_hash(cp, h);
  return sodium()->crypto_sign_verify_detached(cp->signature, h, sizeof h, cp->public_key) == 0;
}

static void hex(rp_buf *out, const unsigned char *b, size_t n) {
  char t[2 * RP_RECORD_SIG_BYTES + 1];
  sodium()->sodium_bin2hex(t, sizeof t, b, n);
  rp_buf_adds(out, t);
}

int rp_record_checkpoint_write(const char *path, const rp_record_checkpoint *cp, rp_diags *diags) {
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s\nentries: %lld\nhead: ", CHECKPOINT_LABEL, cp->entries);
  hex(&b, cp->head, sizeof cp->head);
  rp_buf_printf(&b, "\nmade: %s\nkey: ", cp->made_at);
  hex(&b, cp->public_key, sizeof cp->public_key);
  rp_buf_adds(&b, "\nsignature: ");
  hex(&b, cp->signature, sizeof cp->signature);
  rp_buf_addc(&b, '\n');
  int rc = rp_write_atomic(path, b.data, b.len, diags);
  rp_buf_free(&b);
  return rc;
}

// The value of line "NAME: VALUE" of `text`, or NULL; *len its length.
static const char *line_value(const char *text, const char *name, size_t *len) {
  size_t n = strlen(name);
  for (const char *p = text; p && *p;) {
    const char *end = strchr(p, '\n');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    if (l > n + 1 && strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
      *len = l - n - 2;
      return p + n + 2;
    }
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

static bool unhex(const char *text, const char *name, unsigned char *out, size_t n) {
  size_t len;
  const char *v = line_value(text, name, &len);
  size_t got = 0;
  return v && len == 2 * n && sodium()->sodium_hex2bin(out, n, v, len, NULL, &got, NULL) == 0 &&
         got == n;
}

int rp_record_checkpoint_read(const char *path, rp_record_checkpoint *cp, rp_diags *diags) {
  memset(cp, 0, sizeof *cp);
  rp_buf b = RP_BUF_INIT;
  rp_diags quiet = RP_DIAGS_INIT;
  int rc = rp_read_file(path, 1 << 16, &b, &quiet);
  if (rc == RP_ENOTFOUND) {
    rp_diags_free(&quiet);
    rp_buf_free(&b);
    return RP_ENOTFOUND;
  }
  if (diags) rp_diags_move(diags, &quiet);
  rp_diags_free(&quiet);
  if (rc != RP_OK) {
    rp_buf_free(&b);
    return rc;
  }
  size_t len;
  const char *v;
  bool ok = b.data && strncmp(b.data, CHECKPOINT_LABEL, strlen(CHECKPOINT_LABEL)) == 0 &&
            b.data[strlen(CHECKPOINT_LABEL)] == '\n';
  if (ok && (v = line_value(b.data, "entries", &len)) && len > 0 && len < 20) {
    char t[24];
    snprintf(t, sizeof t, "%.*s", (int)len, v);
    char *end;
    cp->entries = strtoll(t, &end, 10);
    ok = *end == '\0' && cp->entries >= 0;
  } else {
    ok = false;
  }
  if (ok && (v = line_value(b.data, "made", &len)) && len < sizeof cp->made_at)
    snprintf(cp->made_at, sizeof cp->made_at, "%.*s", (int)len, v);
  else
    ok = false;
  ok = ok && unhex(b.data, "head", cp->head, sizeof cp->head) &&
       unhex(b.data, "key", cp->public_key, sizeof cp->public_key) &&
       unhex(b.data, "signature", cp->signature, sizeof cp->signature);
  rp_buf_free(&b);
  if (!ok) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "not a checkpoint file (or a damaged one)");
    return RP_EDATA;
  }
  return RP_OK;
}

void rp_record_checkpoint_line(const rp_record_checkpoint *cp, rp_buf *out) {
  char fpr[RP_RECORD_FPR_SIZE];
  rp_record_fingerprint(cp->public_key, fpr);
  rp_buf_printf(out, "checkpoint: %lld entries, head ", cp->entries);
  hex(out, cp->head, sizeof cp->head);
  rp_buf_printf(out, ", %s, key %s", cp->made_at, fpr);
}

// --- verification --------------------------------------------------------------------------

typedef struct walk {
  rp_record_verify_result *res;
  const rp_record_key *const *trusted;
  size_t ntrusted;
  unsigned char prev[RP_RECORD_HASH_BYTES];
  // The hash of every entry, for the checkpoint and for amendments'
  // sessions: entry i's at hashes[i - 1].
  unsigned char (*hashes)[RP_RECORD_HASH_BYTES];
  char **keys;  // each entry's session key (NULL for an amendment)
  size_t nkeys, cap;
} walk;

static bool trusted_key(const walk *w, const unsigned char *pk) {
  if (w->ntrusted == 0) return true;
  for (size_t i = 0; i < w->ntrusted; i++)
    if (sodium()->sodium_memcmp(w->trusted[i]->public_key, pk, RP_RECORD_KEY_BYTES) == 0)
      return true;
  return false;
}

static int bad(walk *w, long long entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(walk *w, long long entry, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->res->problem, sizeof w->res->problem, fmt, ap);
  va_end(ap);
  w->res->bad_entry = entry;
  return RP_EVERIFY;
}

static int verify_entry(void *ud, const rp_record_entry *e) {
  walk *w = ud;
  long long expect = w->res->entries + 1;
  w->res->entries++;
  if (e->seq != expect) {
    if (e->seq > expect)
      return bad(w, expect, "missing: the chain goes from entry %lld to entry %lld", expect - 1,
                 e->seq);
    return bad(w, expect, "out of order");
  }
  if (!rp_record_kind_name(e->kind)) return bad(w, e->seq, "its kind is not note or amendment");
  if (sodium()->sodium_memcmp(e->prev_hash, w->prev, sizeof w->prev) != 0)
    return bad(w, e->seq, "it does not follow entry %lld (its link to the entry before is broken)",
               e->seq - 1);
  unsigned char h[RP_RECORD_HASH_BYTES];
  rp_record_entry_hash(e, h);
  if (sodium()->sodium_memcmp(h, e->hash, sizeof h) != 0)
    return bad(w, e->seq, "its contents do not match its hash: it was changed after signing");
  char fpr[RP_RECORD_FPR_SIZE];
  rp_record_fingerprint(e->public_key, fpr);
  if (sodium()->crypto_sign_verify_detached(e->signature, e->hash, sizeof e->hash, e->public_key) !=
      0)
    return bad(w, e->seq, "its signature does not match its hash and key %s", fpr);
  if (!trusted_key(w, e->public_key))
    return bad(w, e->seq, "it is signed by key %s, which is not one of the keys given", fpr);
  if ((size_t)e->seq > w->cap) {
    w->cap = w->cap ? w->cap * 2 : 1024;
    w->hashes = rp_xrealloc(w->hashes, w->cap * sizeof *w->hashes);
    w->keys = rp_xrealloc(w->keys, w->cap * sizeof *w->keys);
  }
  memcpy(w->hashes[e->seq - 1], e->hash, RP_RECORD_HASH_BYTES);
  w->keys[e->seq - 1] =
      e->kind == RP_RECORD_NOTE ? rp_xstrndup(e->session_key, strlen(e->session_key)) : NULL;
  w->nkeys = (size_t)e->seq;
  if (e->kind == RP_RECORD_AMENDMENT &&
      (e->amends < 1 || e->amends >= e->seq || !w->keys[e->amends - 1] ||
       strcmp(w->keys[e->amends - 1], e->session_key) != 0))
    return bad(w, e->seq, "it amends entry %lld, which is not an earlier note of its session",
               e->amends);
  if (e->kind == RP_RECORD_NOTE && e->amends != 0)
    return bad(w, e->seq, "a note that claims to amend entry %lld", e->amends);
  memcpy(w->prev, e->hash, sizeof w->prev);
  w->res->verified++;
  return RP_OK;
}

int rp_record_verify(rp_record *r, const char *checkpoint_path, const rp_record_key *const *trusted,
                     size_t ntrusted, rp_record_verify_result *res, rp_diags *diags) {
  memset(res, 0, sizeof *res);
  walk w = {.res = res, .trusted = trusted, .ntrusted = ntrusted};
  rp_record_query q = {NULL, NULL, true};
  int rc = rp_record_list(r, &q, verify_entry, &w, diags);
  if (rc == RP_OK) {
    // The latest checkpoint: the file's or the record's, whichever names
    // more entries (removing the newest entries leaves an older one in one
    // of them at most).
    rp_record_checkpoint file, db;
    int frc = rp_record_checkpoint_read(checkpoint_path, &file, NULL);
    int drc = rp_record_checkpoint_latest(r, &db, diags);
    if (drc != RP_OK && drc != RP_ENOTFOUND) {
      rc = drc;
      goto done;
    }
    const rp_record_checkpoint *cp = NULL;
    const char *where = "the checkpoint file";
    if (frc == RP_OK) cp = &file;
    if (drc == RP_OK && (!cp || db.entries > file.entries)) {
      cp = &db;
      where = "the record's checkpoint";
    }
    if (frc == RP_EDATA) {
      rc = bad(&w, 0, "%s is not a checkpoint file (or a damaged one)", checkpoint_path);
    } else if (frc != RP_OK && frc != RP_ENOTFOUND) {
      rc = bad(&w, 0, "%s cannot be read", checkpoint_path);
    } else if (!cp) {
      if (res->entries > 0)
        rc = bad(&w, 0, "no checkpoint: %s is missing and the record holds none", checkpoint_path);
    } else {
      res->checkpoint = *cp;
      char fpr[RP_RECORD_FPR_SIZE];
      rp_record_fingerprint(cp->public_key, fpr);
      if (!checkpoint_signed(cp)) {
        rc = bad(&w, 0, "%s is not signed by its key %s", where, fpr);
      } else if (!trusted_key(&w, cp->public_key)) {
        rc = bad(&w, 0, "%s is signed by key %s, which is not one of the keys given", where, fpr);
      } else if (cp->entries > res->entries) {
        rc = bad(&w, res->entries + 1,
                 "missing (entries %lld to %lld are gone): %s of %s names %lld entries, the "
                 "record holds %lld",
                 res->entries + 1, cp->entries, where, cp->made_at, cp->entries, res->entries);
      } else if (cp->entries > 0 && sodium()->sodium_memcmp(w.hashes[cp->entries - 1], cp->head,
                                                            RP_RECORD_HASH_BYTES) != 0) {
        rc = bad(&w, cp->entries, "it does not match %s of %s: the chain up to it was rewritten",
                 where, cp->made_at);
      } else if (frc == RP_OK && drc == RP_OK && cp == &db && file.entries < db.entries) {
        // The file is older than the record's own: it may have been replaced.
        rp_record_checkpoint *f = &file;
        if (!checkpoint_signed(f))
          rc = bad(&w, 0, "the checkpoint file is not signed by its key");
        else if (f->entries > 0 && sodium()->sodium_memcmp(w.hashes[f->entries - 1], f->head,
                                                           RP_RECORD_HASH_BYTES) != 0)
          rc = bad(&w, f->entries, "it does not match the checkpoint file");
        else
          res->checkpoint_ok = true;
      } else {
        res->checkpoint_ok = true;
      }
    }
  }
done:
  for (size_t i = 0; i < w.nkeys; i++)
    free(w.keys[i]);
  free(w.keys);
  free(w.hashes);
  return rc;
}

// --- the signature of a session ------------------------------------------------------------

typedef struct lookup {
  rp_record_signature *out;
  unsigned char want[RP_RECORD_HASH_BYTES];
  bool compare;
  unsigned char latest[RP_RECORD_HASH_BYTES];
} lookup;

static void signer_set(rp_record_signer *s, const rp_record_entry *e) {
  s->entry = e->seq;
  s->name = rp_xstrndup(e->signer_name, strlen(e->signer_name));
  s->credentials = rp_xstrndup(e->signer_credentials, strlen(e->signer_credentials));
  s->signed_at = rp_xstrndup(e->signed_at, strlen(e->signed_at));
  s->reason = rp_xstrndup(e->reason, strlen(e->reason));
  rp_record_fingerprint(e->public_key, s->fingerprint);
}

static int lookup_entry(void *ud, const rp_record_entry *e) {
  lookup *l = ud;
  rp_record_signature *s = l->out;
  if (e->kind == RP_RECORD_NOTE && !s->is_signed) {
    s->is_signed = true;
    signer_set(&s->note, e);
  } else if (e->kind == RP_RECORD_AMENDMENT && s->is_signed) {
    s->amendments = rp_xrealloc(s->amendments, (s->namendments + 1) * sizeof *s->amendments);
    signer_set(&s->amendments[s->namendments++], e);
  } else {
    return RP_OK;
  }
  free(s->latest_md);
  s->latest_md = rp_xstrndup(e->note_md, e->note_md_len);
  s->latest_md_len = e->note_md_len;
  sodium()->crypto_hash_sha256(l->latest, (const unsigned char *)e->source, e->source_len);
  return RP_OK;
}

int rp_record_lookup(rp_record *r, const char *session_key, const char *source, size_t len,
                     rp_record_signature *out, rp_diags *diags) {
  memset(out, 0, sizeof *out);
  lookup l = {.out = out, .compare = source != NULL};
  if (source) sodium()->crypto_hash_sha256(l.want, (const unsigned char *)source, len);
  rp_record_query q = {session_key, NULL, true};
  int rc = rp_record_list(r, &q, lookup_entry, &l, diags);
  if (rc != RP_OK) {
    rp_record_signature_clear(out);
    return rc;
  }
  if (out->is_signed && l.compare) out->changed = memcmp(l.want, l.latest, sizeof l.want) != 0;
  return RP_OK;
}

static void signer_clear(rp_record_signer *s) {
  free(s->name);
  free(s->credentials);
  free(s->signed_at);
  free(s->reason);
}

void rp_record_signature_clear(rp_record_signature *s) {
  if (!s) return;
  signer_clear(&s->note);
  for (size_t i = 0; i < s->namendments; i++)
    signer_clear(&s->amendments[i]);
  free(s->amendments);
  free(s->latest_md);
  memset(s, 0, sizeof *s);
}

// A signature line in Markdown: what the clinician typed (name,
// credentials) is escaped as every value of a note is.
static void md_line(const rp_record_signer *s, rp_buf *out) {
  rp_buf name = RP_BUF_INIT, creds = RP_BUF_INIT;
  rp_output_escape_markdown(&name, s->name, strlen(s->name));
  rp_output_escape_markdown(&creds, s->credentials, strlen(s->credentials));
  rp_record_signature_line(name.data ? name.data : "", creds.data ? creds.data : "", s->signed_at,
                           s->entry, s->fingerprint, out);
  rp_buf_free(&name);
  rp_buf_free(&creds);
}

void rp_record_signature_block(const rp_record_signature *s, rp_buf *out) {
  if (!s->is_signed) return;
  rp_buf_adds(out, "\n---\n\n");
  md_line(&s->note, out);
  rp_buf_addc(out, '\n');
  for (size_t i = 0; i < s->namendments; i++) {
    const rp_record_signer *a = &s->amendments[i];
    rp_buf_printf(out, "\nAmendment (entry %lld, amends entry %lld). Reason: ", a->entry,
                  s->note.entry);
    rp_output_escape_markdown(out, a->reason, strlen(a->reason));
    rp_buf_adds(out, "  \n");
    md_line(a, out);
    rp_buf_addc(out, '\n');
  }
}
