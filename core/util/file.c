// Whole-file reads (file.h).
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *rp_open_input(const char *path, rp_diags *diags, int *status) {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one
  // for ever. Reads block again once it is open (a FIFO without a writer
  // then reads as empty).
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == EISDIR) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "is a folder, not a file");
      *status = RP_EIO;
      return NULL;
    }
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot open: %s", strerror(e));
    *status = e == ENOENT ? RP_ENOTFOUND : RP_EIO;
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "is a folder, not a file");
    *status = RP_EIO;
    return NULL;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    int e = errno;
    close(fd);
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot open: %s", strerror(e));
    *status = RP_EIO;
    return NULL;
  }
  *status = RP_OK;
  return f;
}

int rp_read_file(const char *path, size_t max, rp_buf *out, rp_diags *diags) {
  int status;
  FILE *f = rp_open_input(path, diags, &status);
  if (!f) return status;
  size_t start = out->len;
  char chunk[65536];
  size_t n;
  int rc = RP_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (out->len - start + n > max) {
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "larger than the limit of %zu MiB",
                   max >> 20 ? max >> 20 : 1);
      rc = RP_ELIMIT;
      break;
    }
    rp_buf_add(out, chunk, n);
  }
  if (rc == RP_OK && ferror(f)) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
    rc = RP_EIO;
  }
  fclose(f);
  if (rc != RP_OK) {
    out->len = start;
    if (out->data) out->data[start] = '\0';
  }
  return rc;
}
