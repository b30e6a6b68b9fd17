// Atomic, durable replacement of output files (see atomic.h).
#include "util/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

// Adds `PATH: error: cannot write: REASON`. strerror_r keeps this safe in
// the threads of a batch render.
static int fail_errno(rp_diags *diags, const char *path, int err) {
  char msg[256];
  if (strerror_r(err, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error %d", err);
  if (diags) rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot write: %s", msg);
  return RP_EIO;
}

static int fail_text(rp_diags *diags, const char *path, const char *reason) {
  if (diags) rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot write: %s", reason);
  return RP_EIO;
}

// Fills `buf` with `n` random letters and digits. getrandom() should not
// fail; should it, the clock and a counter still make a name that O_EXCL
// checks.
static void random_name(char *buf, size_t n) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[32];
  if (n > sizeof bytes) n = sizeof bytes;
  if (getrandom(bytes, n, GRND_NONBLOCK) != (ssize_t)n) {
    static _Atomic unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                 (uint64_t)counter++ * 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < n; i++) {
      x ^= x >> 33;
      x *= 0xFF51AFD7ED558CCDu;
      bytes[i] = (unsigned char)(x >> 56);
    }
  }
  for (size_t i = 0; i < n; i++)
    buf[i] = alphabet[bytes[i] % (sizeof alphabet - 1)];
  buf[n] = '\0';
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    size_t chunk = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
    ssize_t n = write(fd, data, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

// Makes the rename durable. File systems that cannot sync a directory say so
// with EINVAL or ENOTSUP; there is nothing more to do on them.
static int sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc < 0 && (err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP)) rc = 0;
  errno = err;
  return rc;
}

enum {
  RANDOM_LEN = 10,
  TMP_EXTRA = 1 + 5 + RANDOM_LEN,  // "." before, ".tmp-RANDOM" after
  NAME_LIMIT = 255,                // NAME_MAX on Linux file systems
};

int rp_atomic_open(rp_atomic *a, const char *path, rp_diags *diags) {
  memset(a, 0, sizeof *a);
  a->fd = -1;
  size_t plen = strlen(path);
  if (plen == 0) return fail_errno(diags, path, ENOENT);
  if (path[plen - 1] == '/') return fail_errno(diags, path, EISDIR);

  // stat() follows links: a link is replaced only when it leads to a regular
  // file or nowhere. Other errors (a missing folder, no permission) surface
  // from open() below.
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fail_errno(diags, path, EISDIR);
    if (!S_ISREG(st.st_mode)) return fail_text(diags, path, "not a regular file");
  }

  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;  // with the slash
  const char *base = path + dirlen;
  size_t baselen = strlen(base);
  if (baselen > NAME_LIMIT - TMP_EXTRA) baselen = NAME_LIMIT - TMP_EXTRA;

  rp_buf tmp = RP_BUF_INIT;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    char rnd[RANDOM_LEN + 1];
    random_name(rnd, RANDOM_LEN);
    rp_buf_clear(&tmp);
    rp_buf_add(&tmp, path, dirlen);
    rp_buf_addc(&tmp, '.');
    rp_buf_add(&tmp, base, baselen);
    rp_buf_adds(&tmp, ".tmp-");
    rp_buf_adds(&tmp, rnd);
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    int err = errno;
    rp_buf_free(&tmp);
    return fail_errno(diags, path, err);
  }
  // The umask can only take bits away from 0600; make it exactly 0600.
  if (fchmod(fd, 0600) < 0) a->err = errno;
  a->fd = fd;
  a->tmp = rp_buf_detach(&tmp);
  a->path = rp_xstrndup(path, plen);
  a->dirlen = dirlen;
  return RP_OK;
}

void rp_atomic_write(rp_atomic *a, const char *data, size_t len) {
  if (a->fd >= 0 && !a->err && len && write_all(a->fd, data, len) < 0) a->err = errno;
}

static void atomic_release(rp_atomic *a) {
  free(a->tmp);
  free(a->path);
  a->tmp = a->path = NULL;
  a->fd = -1;
}

void rp_atomic_abort(rp_atomic *a) {
  if (a->fd < 0) return;
  close(a->fd);
  unlink(a->tmp);
  atomic_release(a);
}

int rp_atomic_commit(rp_atomic *a, rp_diags *diags) {
  if (a->fd < 0) return RP_EIO;
  int err = a->err;
  while (!err && fsync(a->fd) < 0) {
    if (errno != EINTR) err = errno;
  }
  // Do not retry close(): on Linux the descriptor is gone even after EINTR.
  if (close(a->fd) < 0 && !err && errno != EINTR) err = errno;
  a->fd = -1;
  if (!err && rename(a->tmp, a->path) < 0) err = errno;
  int rc = RP_OK;
  if (err) {
    unlink(a->tmp);
    rc = fail_errno(diags, a->path, err);
  } else {
    rp_buf dir = RP_BUF_INIT;
    if (a->dirlen)
      rp_buf_add(&dir, a->path, a->dirlen);
    else
      rp_buf_adds(&dir, ".");
    if (sync_dir(dir.data) < 0) rc = fail_errno(diags, a->path, errno);
    rp_buf_free(&dir);
  }
  atomic_release(a);
  return rc;
}

int rp_write_atomic(const char *path, const char *data, size_t len, rp_diags *diags) {
  rp_atomic a;
  int rc = rp_atomic_open(&a, path, diags);
  if (rc != RP_OK) return rc;
  rp_atomic_write(&a, data, len);
  return rp_atomic_commit(&a, diags);
}

bool rp_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) < 0 || stat(b, &sb) < 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
