// Clinicians' signing keys: Ed25519 key pairs whose secret part is never on
// disk in clear.
//
// A key lives in the clinician's own configuration folder
// ($XDG_CONFIG_HOME/rapport, mode 0700) as two text files of "name: value"
// lines, both mode 0600:
//   signing.key  the public key in clear, and the secret key, the name and
//                the credentials encrypted with crypto_secretbox (XSalsa20
//                and Poly1305) under a key derived from the passphrase by
//                Argon2id (crypto_pwhash), with its salt and limits;
//   signing.pub  the public key, name, credentials and fingerprint, to hand
//                to whoever verifies the record.
// Because the name and credentials are inside the encrypted part too, an
// edit of the clear lines is found when the key is unlocked.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "record/internal.h"
#include "record/libs.h"
#include "record/record.h"
#include "util/atomic.h"
#include "util/file.h"

static const char KEY_LABEL[] = "rapport signing key v1";
static const char PUB_LABEL[] = "rapport public key v1";
#define MIN_PASSPHRASE 8
#define MAX_FIELD 200

char *rp_record_key_dir(rp_diags *diags) {
  const char *xdg = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  rp_buf b = RP_BUF_INIT;
  if (xdg && *xdg) {
    rp_buf_printf(&b, "%s/rapport", xdg);
  } else if (home && *home) {
    rp_buf_printf(&b, "%s/.config/rapport", home);
  } else {
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0,
                 "no folder for keys: set XDG_CONFIG_HOME or HOME");
    return NULL;
  }
  return rp_buf_detach(&b);
}

void rp_record_wipe(rp_buf *b) {
  if (b->data) sodium()->sodium_memzero(b->data, b->cap);
  rp_buf_free(b);
}

// Reads one line from the terminal without echo.
static int read_tty(int fd, const char *prompt, rp_buf *out) {
  struct termios old, quiet;
  bool restore = tcgetattr(fd, &old) == 0;
  if (restore) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  ssize_t w = write(fd, prompt, strlen(prompt));
  (void)w;
  int rc = RP_OK;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = RP_EIO;
      break;
    }
    if (c == '\n' || c == '\r') break;
    rp_buf_addc(out, c);
  }
  if (restore) tcsetattr(fd, TCSAFLUSH, &old);
  w = write(fd, "\n", 1);
  return rc;
}

int rp_record_passphrase(const char *prompt, bool confirm, rp_buf *out, rp_diags *diags) {
  const char *env = getenv("RAPPORT_PASSPHRASE");
  if (env) {
    rp_buf_adds(out, env);
    return RP_OK;
  }
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0,
                 "a passphrase is needed: run on a terminal, or set RAPPORT_PASSPHRASE");
    return RP_EUSAGE;
  }
  int rc = read_tty(fd, prompt, out);
  if (rc == RP_OK && confirm) {
    rp_buf again = RP_BUF_INIT;
    rc = read_tty(fd, "Passphrase again: ", &again);
    if (rc == RP_OK &&
        (again.len != out->len || (out->len && memcmp(again.data, out->data, out->len) != 0))) {
      rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0, "the two passphrases differ");
      rc = RP_EUSAGE;
    }
    rp_record_wipe(&again);
  }
  close(fd);
  if (rc == RP_EIO)
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0, "no passphrase was read from the terminal");
  return rc;
}

// Names and credentials go on one line of a text file and into every
// format of a note: no control characters, and not too long.
static bool fit_field(const char *s) {
  size_t n = strlen(s);
  if (n > MAX_FIELD) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  return true;
}

static void put_hex(rp_buf *b, const char *name, const unsigned char *data, size_t n) {
  char *t = rp_xmalloc(2 * n + 1);
  sodium()->sodium_bin2hex(t, 2 * n + 1, data, n);
  rp_buf_printf(b, "%s: %s\n", name, t);
  free(t);
}

// The value of line "NAME: VALUE" (after the first line), malloc'd, or NULL.
static char *value_of(const char *text, const char *name) {
  size_t n = strlen(name);
  const char *p = strchr(text, '\n');
  while (p) {
    p++;
    const char *end = strchr(p, '\n');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    if (l >= n + 2 && strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ')
      return rp_xstrndup(p + n + 2, l - n - 2);
    p = end;
  }
  return NULL;
}

static bool hex_of(const char *text, const char *name, unsigned char *out, size_t n) {
  char *v = value_of(text, name);
  size_t got = 0;
  bool ok = v && strlen(v) == 2 * n &&
            sodium()->sodium_hex2bin(out, n, v, 2 * n, NULL, &got, NULL) == 0 && got == n;
  free(v);
  return ok;
}

static int make_dir(const char *dir, rp_diags *diags) {
  // Every missing folder on the way is made 0700; the last one is made (or
  // kept) 0700 whatever it was.
  rp_buf p = RP_BUF_INIT;
  rp_buf_adds(&p, dir);
  for (size_t i = 1; i <= p.len; i++) {
    if (p.data[i] != '/' && p.data[i] != '\0') continue;
    char c = p.data[i];
    p.data[i] = '\0';
    if (mkdir(p.data, 0700) != 0 && errno != EEXIST) {
      rp_diags_add(diags, RP_SEV_ERROR, p.data, 0, 0, "cannot create the key folder: %s",
                   strerror(errno));
      rp_buf_free(&p);
      return RP_EIO;
    }
    p.data[i] = c;
  }
  rp_buf_free(&p);
  if (chmod(dir, 0700) != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, dir, 0, 0, "cannot make the key folder private: %s",
                 strerror(errno));
    return RP_EIO;
  }
  return RP_OK;
}

static rp_record_key *key_alloc(const char *name, const char *credentials, const char *path) {
  rp_record_key *k = rp_xcalloc(1, sizeof *k);
  k->name = rp_xstrndup(name, strlen(name));
  k->credentials =
      rp_xstrndup(credentials ? credentials : "", credentials ? strlen(credentials) : 0);
  k->path = rp_xstrndup(path, strlen(path));
  return k;
}

int rp_record_key_new(const char *dir, const char *name, const char *credentials,
                      const char *passphrase, size_t passlen, rp_record_key **out,
                      rp_diags *diags) {
  *out = NULL;
  int rc = rp_record_crypto_ready(diags);
  if (rc != RP_OK) return rc;
  if (!credentials) credentials = "";
  if (!*name || !fit_field(name) || !fit_field(credentials)) {
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0,
                 "a name and credentials are one line of at most %d bytes each, and the name "
                 "is not empty",
                 MAX_FIELD);
    return RP_EUSAGE;
  }
  if (passlen < MIN_PASSPHRASE) {
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0,
                 "the passphrase is too short: at least %d characters", MIN_PASSPHRASE);
    return RP_EUSAGE;
  }
  rp_buf keypath = RP_BUF_INIT, pubpath = RP_BUF_INIT;
  rp_buf_printf(&keypath, "%s/signing.key", dir);
  rp_buf_printf(&pubpath, "%s/signing.pub", dir);
  struct stat st;
  if (lstat(keypath.data, &st) == 0) {
    rp_diags_add(diags, RP_SEV_ERROR, keypath.data, 0, 0,
                 "a signing key is here already; it is never replaced (move it away first if "
                 "you really mean to make a new one)");
    rp_buf_free(&keypath);
    rp_buf_free(&pubpath);
    return RP_EUSAGE;
  }
  if ((rc = make_dir(dir, diags)) != RP_OK) {
    rp_buf_free(&keypath);
    rp_buf_free(&pubpath);
    return rc;
  }
  rp_record_key *k = key_alloc(name, credentials, keypath.data);
  k->secret_key = sodium()->sodium_malloc(RP_RECORD_SECRET_BYTES);
  unsigned char *derived = sodium()->sodium_malloc(crypto_secretbox_KEYBYTES);
  // The plain text sealed: the secret key, then "NAME\nCREDENTIALS".
  size_t nl = strlen(name), cl = strlen(credentials);
  size_t plen = RP_RECORD_SECRET_BYTES + nl + 1 + cl;
  unsigned char *plain = sodium()->sodium_malloc(plen);
  unsigned char *box = rp_xmalloc(plen + crypto_secretbox_MACBYTES);
  if (!k->secret_key || !derived || !plain) rp_oom();
  sodium()->crypto_sign_keypair(k->public_key, k->secret_key);
  rp_record_fingerprint(k->public_key, k->fingerprint);
  unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
  sodium()->randombytes_buf(salt, sizeof salt);
  sodium()->randombytes_buf(nonce, sizeof nonce);
  unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (sodium()->crypto_pwhash(derived, crypto_secretbox_KEYBYTES, passphrase, passlen, salt, ops,
                              mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    rp_diags_add(diags, RP_SEV_ERROR, "rapport", 0, 0,
                 "not enough memory to protect the key with the passphrase");
    rc = RP_ENOMEM;
    goto done;
  }
  memcpy(plain, k->secret_key, RP_RECORD_SECRET_BYTES);
  memcpy(plain + RP_RECORD_SECRET_BYTES, name, nl);
  plain[RP_RECORD_SECRET_BYTES + nl] = '\n';
  memcpy(plain + RP_RECORD_SECRET_BYTES + nl + 1, credentials, cl);
  sodium()->crypto_secretbox_easy(box, plain, plen, nonce, derived);

  rp_buf f = RP_BUF_INIT;
  rp_buf_printf(&f, "%s\nname: %s\ncredentials: %s\n", KEY_LABEL, name, credentials);
  put_hex(&f, "public", k->public_key, sizeof k->public_key);
  rp_buf_printf(&f, "fingerprint: %s\nkdf: argon2id13\nopslimit: %llu\nmemlimit: %zu\n",
                k->fingerprint, ops, mem);
  put_hex(&f, "salt", salt, sizeof salt);
  put_hex(&f, "nonce", nonce, sizeof nonce);
  put_hex(&f, "secret", box, plen + crypto_secretbox_MACBYTES);
  rc = rp_write_atomic(keypath.data, f.data, f.len, diags);
  rp_buf_clear(&f);
  rp_buf_printf(&f, "%s\nname: %s\ncredentials: %s\n", PUB_LABEL, name, credentials);
  put_hex(&f, "public", k->public_key, sizeof k->public_key);
  rp_buf_printf(&f, "fingerprint: %s\n", k->fingerprint);
  if (rc == RP_OK) rc = rp_write_atomic(pubpath.data, f.data, f.len, diags);
  rp_buf_free(&f);
  if (rc != RP_OK) unlink(keypath.data);
done:
  sodium()->sodium_free(derived);
  sodium()->sodium_free(plain);
  free(box);
  rp_buf_free(&keypath);
  rp_buf_free(&pubpath);
  if (rc != RP_OK) {
    rp_record_key_free(k);
    return rc;
  }
  *out = k;
  return RP_OK;
}

int rp_record_key_load(const char *path, const char *passphrase, size_t passlen,
                       rp_record_key **out, rp_diags *diags) {
  *out = NULL;
  int rc = rp_record_crypto_ready(diags);
  if (rc != RP_OK) return rc;
  rp_buf b = RP_BUF_INIT;
  rp_diags quiet = RP_DIAGS_INIT;
  rc = rp_read_file(path, 1 << 16, &b, &quiet);
  if (rc == RP_ENOTFOUND) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                 "no signing key here: make one with rapport key new --name NAME");
  } else {
    if (diags) rp_diags_move(diags, &quiet);
  }
  rp_diags_free(&quiet);
  if (rc != RP_OK) {
    rp_buf_free(&b);
    return rc;
  }
  const char *text = b.data ? b.data : "";
  bool is_key = strncmp(text, KEY_LABEL, strlen(KEY_LABEL)) == 0;
  bool is_pub = strncmp(text, PUB_LABEL, strlen(PUB_LABEL)) == 0;
  char *name = value_of(text, "name"), *creds = value_of(text, "credentials");
  rp_record_key *k = NULL;
  unsigned char *derived = NULL, *plain = NULL, *box = NULL;
  if ((!is_key && !is_pub) || !name || !creds) goto damaged;
  k = key_alloc(name, creds, path);
  if (!hex_of(text, "public", k->public_key, sizeof k->public_key)) goto damaged;
  rp_record_fingerprint(k->public_key, k->fingerprint);
  if (passphrase) {
    if (!is_key) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                   "a public key, not a signing key: it cannot sign");
      rc = RP_EUSAGE;
      goto fail;
    }
    char *ops_t = value_of(text, "opslimit"), *mem_t = value_of(text, "memlimit");
    char *kdf = value_of(text, "kdf"), *secret_t = value_of(text, "secret");
    unsigned long long ops = ops_t ? strtoull(ops_t, NULL, 10) : 0;
    unsigned long long mem = mem_t ? strtoull(mem_t, NULL, 10) : 0;
    size_t boxlen = secret_t ? strlen(secret_t) / 2 : 0;
    bool kdf_ok = kdf && strcmp(kdf, "argon2id13") == 0;
    free(ops_t);
    free(mem_t);
    free(kdf);
    free(secret_t);
    unsigned char salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES];
    if (!kdf_ok || ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MAX ||
        mem < crypto_pwhash_MEMLIMIT_MIN || mem > ((unsigned long long)1 << 32) ||
        boxlen < crypto_secretbox_MACBYTES + RP_RECORD_SECRET_BYTES + 1 || boxlen > 4096 ||
        !hex_of(text, "salt", salt, sizeof salt) || !hex_of(text, "nonce", nonce, sizeof nonce))
      goto damaged;
    box = rp_xmalloc(boxlen);
    if (!hex_of(text, "secret", box, boxlen)) goto damaged;
    size_t plen = boxlen - crypto_secretbox_MACBYTES;
    derived = sodium()->sodium_malloc(crypto_secretbox_KEYBYTES);
    plain = sodium()->sodium_malloc(plen);
    k->secret_key = sodium()->sodium_malloc(RP_RECORD_SECRET_BYTES);
    if (!derived || !plain || !k->secret_key) rp_oom();
    if (sodium()->crypto_pwhash(derived, crypto_secretbox_KEYBYTES, passphrase, passlen, salt, ops,
                                (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                   "not enough memory to unlock the key with the passphrase");
      rc = RP_ENOMEM;
      goto fail;
    }
    if (sodium()->crypto_secretbox_open_easy(plain, box, boxlen, nonce, derived) != 0) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "wrong passphrase for this signing key");
      rc = RP_EAUTH;
      goto fail;
    }
    memcpy(k->secret_key, plain, RP_RECORD_SECRET_BYTES);
    // The secret key's public half, and the name and credentials sealed
    // with it, must be what the clear lines say.
    size_t want = strlen(name) + 1 + strlen(creds);
    if (memcmp(k->secret_key + 32, k->public_key, 32) != 0 ||
        plen - RP_RECORD_SECRET_BYTES != want ||
        memcmp(plain + RP_RECORD_SECRET_BYTES, name, strlen(name)) != 0 ||
        plain[RP_RECORD_SECRET_BYTES + strlen(name)] != '\n' ||
        memcmp(plain + RP_RECORD_SECRET_BYTES + strlen(name) + 1, creds, strlen(creds)) != 0) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                   "the key file was edited: its clear lines do not match its sealed part");
      rc = RP_EDATA;
      goto fail;
    }
  }
  rc = RP_OK;
  goto out;
damaged:
  rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "not a Rapport key file (or a damaged one)");
  rc = RP_EDATA;
fail:
  rp_record_key_free(k);
  k = NULL;
out:
  if (derived) sodium()->sodium_free(derived);
  if (plain) sodium()->sodium_free(plain);
  free(box);
  free(name);
  free(creds);
  rp_record_wipe(&b);
  *out = k;
  return rc;
}

void rp_record_key_free(rp_record_key *k) {
  if (!k) return;
  if (k->secret_key) sodium()->sodium_free(k->secret_key);
  free(k->name);
  free(k->credentials);
  free(k->path);
  free(k);
}
