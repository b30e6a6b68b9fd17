// What render and watch show of a signed session (record.h,
// rp_record_mark_note): the signature block, or a warning that the session
// has changed since it was signed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"
#include "util/file.h"

int rp_record_mark_note(rp_record *r, rp_note *note, const char *path, rp_diags *diags) {
  if (!r || !note->doc || strcmp(path, "-") == 0 || strcmp(path, "<stdin>") == 0) return RP_OK;
  rp_buf src = RP_BUF_INIT;
  rp_diags quiet = RP_DIAGS_INIT;
  char *key = NULL;
  int rc = rp_read_file(path, RP_DATA_MAX_FILE, &src, &quiet);
  // A session without an identity (no client.id or session.date) cannot
  // have been signed: nothing to show.
  if (rc == RP_OK &&
      rp_record_identify(path, src.data ? src.data : "", src.len, &key, NULL, &quiet) != RP_OK)
    rc = RP_ENOTFOUND;
  rp_diags_free(&quiet);
  rp_record_signature sig = {0};
  if (rc == RP_OK) rc = rp_record_lookup(r, key, src.data ? src.data : "", src.len, &sig, diags);
  if (rc == RP_OK && sig.is_signed && sig.changed) {
    rp_diags_add(diags, RP_SEV_WARNING, path, 0, 0,
                 "signed as entry %lld; the file has changed since, so this note is not the "
                 "signed one (rapport amend %s --reason TEXT records the change)",
                 sig.note.entry, path);
  } else if (rc == RP_OK && sig.is_signed) {
    rp_buf block = RP_BUF_INIT;
    rp_record_signature_block(&sig, &block);
    char entry[32];
    snprintf(entry, sizeof entry, "%lld", sig.note.entry);
    const char *fields[] = {"name",        sig.note.name ? sig.note.name : "",
                            "credentials", sig.note.credentials ? sig.note.credentials : "",
                            "signed_at",   sig.note.signed_at ? sig.note.signed_at : "",
                            "entry",       entry,
                            "key",         sig.note.fingerprint};
    rp_note_set_signature(note, block.data ? block.data : "", block.len, fields,
                          sizeof fields / sizeof *fields);
    rp_buf_free(&block);
  }
  rp_record_signature_clear(&sig);
  free(key);
  rp_buf_free(&src);
  return rc == RP_ENOTFOUND ? RP_OK : rc;
}

int rp_record_open_if_any(const char *path, rp_record **out, rp_diags *diags) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return RP_OK;  // no record: nothing is signed
  fclose(f);
  return rp_record_open(path, RP_RECORD_READ, out, diags);
}
