// Fuzzes the JSON session loader (rp_json_parse) and validation against the
// built-in SOAP note type, then the note pipeline.
#include "data/data.h"
#include "fuzz_common.h"

enum { INPUT_CAP = 64 * 1024 };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fuzz_session_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > INPUT_CAP) return -1;
  fuzz_session_run(rp_json_parse, "fuzz.json", (const char *)data, size);
  return 0;
}
