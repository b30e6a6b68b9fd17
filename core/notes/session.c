// Session files: reading them for validation against their note type.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "schema/schema.h"
#include "util/buf.h"
#include "util/file.h"

static bool is_json(const char *path) {
  size_t n = strlen(path);
  return n > 5 && strcasecmp(path + n - 5, ".json") == 0;
}

// Reads a session file: YAML with its scalars kept as text for the schema
// to type, or JSON.
int rp_session_load(rp_doc *doc, const char *path, rp_value *root, rp_diags *diags) {
  if (!is_json(path)) {
    rp_buf b = RP_BUF_INIT;
    int rc = rp_read_file(path, RP_DATA_MAX_FILE, &b, diags);
    if (rc == RP_OK) rc = rp_yaml_parse_text(doc, path, b.data ? b.data : "", b.len, diags, root);
    rp_buf_free(&b);
    return rc;
  }
  return rp_data_load_file(doc, path, diags, root);
}
