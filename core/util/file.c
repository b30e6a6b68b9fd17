// Whole-file reads (file.h).
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int rp_read_file(const char *path, size_t max, rp_buf *out, rp_diags *diags) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "cannot open: %s", strerror(e));
    return e == ENOENT ? RP_ENOTFOUND : RP_EIO;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "is a folder, not a file");
    return RP_EIO;
  }
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
