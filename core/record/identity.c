// What identifies a session in the record: its client's id, its date and
// its number, read from the session file's own data (docs/record.md says
// why not its path). sign and amend use it to find a session's entries, and
// render uses it to find whether the note it makes is signed.
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "record/record.h"

// The text of `a.b` (a string, or a number's text), or NULL.
static const char *field(rp_doc *doc, rp_value root, const char *a, const char *b, size_t *len) {
  rp_value v;
  if (!rp_doc_ops.get(doc, root, a, strlen(a), &v) || !rp_doc_ops.get(doc, v, b, strlen(b), &v))
    return NULL;
  rp_kind k = rp_doc_ops.kind(doc, v);
  if (k != RP_KIND_STRING && k != RP_KIND_NUMBER) return NULL;
  const char *s = rp_doc_ops.str(doc, v, len);
  return s && *len ? s : NULL;
}

int rp_record_identify(const char *path, const char *src, size_t len, char **session_key,
                       char **client_id, rp_diags *diags) {
  *session_key = NULL;
  if (client_id) *client_id = NULL;
  rp_doc *doc = rp_doc_new();
  rp_value root;
  rp_diags quiet = RP_DIAGS_INIT;
  // YAML or JSON alike: a JSON session is YAML too.
  int rc = rp_yaml_parse_text(doc, path, src ? src : "", len, &quiet, &root);
  rp_diags_free(&quiet);
  size_t cl = 0, dl = 0, nl = 0;
  const char *client = NULL, *date = NULL, *number = NULL;
  if (rc == RP_OK) {
    client = field(doc, root, "client", "id", &cl);
    date = field(doc, root, "session", "date", &dl);
    number = field(doc, root, "session", "number", &nl);
  }
  if (!client || !date) {
    rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0,
                 "a session of the record needs client.id and session.date (and session.number "
                 "when a client has two sessions on one day)");
    rp_doc_free(doc);
    return RP_EDATA;
  }
  char *c = rp_xstrndup(client, cl), *d = rp_xstrndup(date, dl);
  char *n = number ? rp_xstrndup(number, nl) : NULL;
  *session_key = rp_record_session_key(c, d, n);
  if (client_id)
    *client_id = c;
  else
    free(c);
  free(d);
  free(n);
  rp_doc_free(doc);
  return RP_OK;
}
