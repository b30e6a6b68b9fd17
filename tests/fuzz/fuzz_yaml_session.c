// Fuzzes the YAML session loader (rp_yaml_parse_text, scalars kept as text
// for the schema) and validation against the built-in SOAP note type, then
// the note pipeline; and the typed loader (rp_yaml_parse) on the same text.
#include "data/data.h"
#include "fuzz_common.h"
#include "util/buf.h"

enum { INPUT_CAP = 64 * 1024 };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fuzz_session_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  const char *src = (const char *)data;
  fuzz_session_run(rp_yaml_parse_text, "fuzz.yaml", src, size);

  rp_doc *doc = rp_doc_new();
  rp_diags d = RP_DIAGS_INIT;
  rp_value root;
  if (rp_yaml_parse(doc, "fuzz.yaml", src, size, &d, &root) == RP_OK) {
    rp_buf json = RP_BUF_INIT;
    rp_doc_write_json(doc, root, &json);
    rp_buf_free(&json);
  }
  rp_diags_free(&d);
  rp_doc_free(doc);
  return 0;
}
