// Reading a whole data file and choosing its parser by extension.
#include <errno.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/internal.h"
#include "util/file.h"

typedef int (*parse_fn)(rp_doc *doc, const char *path, const char *src, size_t len, rp_diags *diags,
                        rp_value *root);

static parse_fn parser_for(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot || strchr(dot, '/')) return NULL;
  if (strcasecmp(dot, ".json") == 0) return rp_json_parse;
  if (strcasecmp(dot, ".yaml") == 0 || strcasecmp(dot, ".yml") == 0) return rp_yaml_parse;
  return NULL;
}

static int too_large(const char *path, rp_diags *diags) {
  rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "file is larger than %u MiB",
               RP_DATA_MAX_FILE >> 20);
  return RP_ELIMIT;
}

int rp_data_load_file(rp_doc *doc, const char *path, rp_diags *diags, rp_value *root) {
  rp_value none = {NULL, 0};
  *root = none;
  parse_fn parse = parser_for(path);
  if (!parse) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                 "unknown data file type (expected .json, .yaml or .yml)");
    return RP_EUSAGE;
  }
  int open_status;
  FILE *f = rp_open_input(path, diags, &open_status);
  if (!f) return open_status;
  // The size is only a hint (the file may be a pipe or change while read);
  // the cap is enforced on what is actually read.
  struct stat st;
  size_t hint = 0;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
    if ((uintmax_t)st.st_size > RP_DATA_MAX_FILE) {
      fclose(f);
      return too_large(path, diags);
    }
    hint = (size_t)st.st_size;
  }
  rp_buf b = RP_BUF_INIT;
  rp_buf_grow(&b, hint + 1);
  int status = RP_OK;
  for (;;) {
    if (b.cap - b.len < 2) rp_buf_grow(&b, 64 * 1024);
    size_t n = fread(b.data + b.len, 1, b.cap - b.len - 1, f);
    b.len += n;
    if (b.len > RP_DATA_MAX_FILE) {
      status = too_large(path, diags);
      break;
    }
    if (n == 0) {
      if (ferror(f)) {
        rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "read error: %s", strerror(errno));
        status = RP_EIO;
      }
      break;
    }
  }
  fclose(f);
  if (status == RP_OK) status = parse(doc, path, b.data, b.len, diags, root);
  rp_buf_free(&b);
  return status;
}
