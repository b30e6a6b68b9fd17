// The signed record's commands: key, sign, amend, verify and log.
//
//   rapport key new --name NAME [--credentials C]
//   rapport sign FILE...
//   rapport amend FILE --reason TEXT
//   rapport verify [--key FILE]...
//   rapport log [--client ID]
//
// The record is `record.db` in the workspace, or the file named by the
// global --record flag or $RAPPORT_RECORD; its checkpoint file sits beside
// it. Everything about storing, hashing and signing is core/record's; this
// file parses arguments, builds each session's note, and says what happened.
// See docs/record.md.
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/data.h"
#include "lua/plugins.h"
#include "notes/notes.h"
#include "record/record.h"
#include "template/template.h"
#include "util/builtin.h"
#include "util/file.h"

// Sessions signed per transaction: each entry is whole or absent whatever
// happens, and a long run does not hold every note in memory at once.
#define SIGN_CHUNK 256

static const char *record_path(const rp_cli *cli) {
  return rp_cli_record_path(cli);
}

static char *key_path(rp_diags *diags) {
  char *dir = rp_record_key_dir(diags);
  if (!dir) return NULL;
  rp_buf b = RP_BUF_INIT;
  rp_buf_printf(&b, "%s/signing.key", dir);
  free(dir);
  return rp_buf_detach(&b);
}

static const char *login_name(void) {
  const char *u = getenv("USER");
  if (u && *u) return u;
  struct passwd *pw = getpwuid(getuid());
  return pw ? pw->pw_name : "unknown";
}

// Prints and empties diags; true when there were errors.
static bool report(rp_diags *d) {
  bool errors = d->errors > 0;
  rp_diags_print(d, stderr);
  rp_diags_clear(d);
  return errors;
}

// Unlocks the clinician's signing key with the passphrase.
static rp_record_key *unlock_key(rp_diags *diags) {
  char *path = key_path(diags);
  if (!path) return NULL;
  rp_record_key *pub = NULL, *key = NULL;
  if (rp_record_key_load(path, NULL, 0, &pub, diags) == RP_OK) {
    rp_buf prompt = RP_BUF_INIT, pass = RP_BUF_INIT;
    rp_buf_printf(&prompt, "Passphrase for the signing key of %s: ", pub->name);
    if (rp_record_passphrase(prompt.data, false, &pass, diags) == RP_OK)
      rp_record_key_load(path, pass.data ? pass.data : "", pass.len, &key, diags);
    rp_record_wipe(&pass);
    rp_buf_free(&prompt);
  }
  rp_record_key_free(pub);
  free(path);
  return key;
}

// --- key -----------------------------------------------------------------------------------

int rp_cmd_key(rp_cli *cli, int argc, char **argv) {
  const char *name = NULL, *credentials = NULL;
  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    if (argc >= 2) {
      rp_cli_help("key");
      return RP_EXIT_OK;
    }
    return rp_cli_usage_error("key", "say what to do: rapport key new --name NAME");
  }
  if (strcmp(argv[1], "new") != 0)
    return rp_cli_usage_error("key", "no key command '%s' (there is: new)", argv[1]);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--name") == 0 || strcmp(a, "--credentials") == 0) {
      if (i + 1 >= argc) return rp_cli_usage_error("key", "option '%s' needs a value", a);
      if (a[2] == 'n')
        name = argv[++i];
      else
        credentials = argv[++i];
    } else {
      return rp_cli_usage_error("key", "unknown argument '%s'", a);
    }
  }
  if (!name || !*name) return rp_cli_usage_error("key", "give the clinician's name: --name NAME");
  rp_diags diags = RP_DIAGS_INIT;
  char *dir = rp_record_key_dir(&diags);
  rp_record_key *key = NULL;
  int status = RP_EXIT_PROBLEM;
  if (dir) {
    rp_buf pass = RP_BUF_INIT;
    if (rp_record_passphrase("New passphrase for your signing key: ", true, &pass, &diags) == RP_OK)
      rp_record_key_new(dir, name, credentials, pass.data ? pass.data : "", pass.len, &key, &diags);
    rp_record_wipe(&pass);
  }
  if (key) {
    char hex[2 * RP_RECORD_KEY_BYTES + 1];
    for (int i = 0; i < RP_RECORD_KEY_BYTES; i++)
      snprintf(hex + 2 * i, 3, "%02x", key->public_key[i]);
    printf("signing key of %s%s%s: %s (its secret part encrypted with your passphrase)\n",
           key->name, *key->credentials ? ", " : "", key->credentials, key->path);
    printf("public key: %s\nfingerprint: %s\n", hex, key->fingerprint);
    // The public key goes into the record, so that whoever holds it knows
    // the clinician by name.
    rp_record *rec = NULL;
    if (rp_record_open(record_path(cli), RP_RECORD_WRITE, &rec, &diags) == RP_OK &&
        rp_record_key_put(rec, key->public_key, key->name, key->credentials, &diags) == RP_OK) {
      rp_record_event ev = {.action = "key",
                            .actor = key->name,
                            .key_fpr = key->fingerprint,
                            .client_id = "",
                            .detail = "new signing key"};
      if (rp_record_log_add(rec, &ev, &diags) == RP_OK) {
        status = RP_EXIT_OK;
        if (!cli->quiet) printf("stored in the record %s\n", record_path(cli));
      }
    }
    rp_record_close(rec);
  }
  report(&diags);
  rp_record_key_free(key);
  free(dir);
  rp_diags_free(&diags);
  return status;
}

// --- building a session's note -------------------------------------------------------------

// What the record keeps of one session, before it is sealed.
typedef struct draft {
  const char *path;
  rp_record_entry e;  // owns its strings (freed with rp_record_entry_clear)
  char *md;           // the note without its signature block
  size_t md_len;
  // What sealing decided, printed once the transaction is committed.
  enum { D_NEW, D_SAME, D_LOCKED, D_NOT_SIGNED } outcome;
  long long existing;  // the entry already holding the session
} draft;

static char *dup_str(const char *s, size_t len) {
  return rp_xstrndup(s ? s : "", s ? len : 0);
}

// The content hash of a plugin or template as it was used: the file on disk
// when there is one (it overrides a built-in of the same name), else the
// built-in's bytes.
static void content_hash(const char *path, bool builtin, char out[65]) {
  if (!builtin) {
    rp_buf b = RP_BUF_INIT;
    rp_diags quiet = RP_DIAGS_INIT;
    bool ok = rp_read_file(path, RP_DATA_MAX_FILE, &b, &quiet) == RP_OK;
    rp_diags_free(&quiet);
    if (ok) {
      rp_record_sha256_hex(b.data ? b.data : "", b.len, out);
      rp_buf_free(&b);
      return;
    }
    rp_buf_free(&b);
  }
  for (size_t i = 0; i < rp_builtin_nfiles; i++) {
    if (strcmp(rp_builtin_files[i].path, path) == 0) {
      rp_record_sha256_hex(rp_builtin_files[i].data, rp_builtin_files[i].len, out);
      return;
    }
  }
  snprintf(out, 65, "unknown");
}

static void json_string(rp_buf *b, const char *s) {
  rp_buf_addc(b, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      rp_buf_printf(b, "\\%c", c);
    else if (c < 0x20)
      rp_buf_printf(b, "\\u%04x", c);
    else
      rp_buf_addc(b, (char)c);
  }
  rp_buf_addc(b, '"');
}

// Builds the note of the session file `path` for the record through the
// note pipeline: reads the file's bytes once, builds the note from exactly
// those bytes (so the bytes kept are the bytes rendered, whatever happens to
// the file meanwhile), renders it as JSON and Markdown from the one build,
// and says what made the note (the note type, the content hashes of its
// plugin and layout). Every problem goes to diags; RP_OK when the draft is
// complete.
static int build_note(rp_notes *n, const char *path, draft *d, rp_diags *diags) {
  memset(d, 0, sizeof *d);
  d->path = path;
  rp_buf src = RP_BUF_INIT, json = RP_BUF_INIT, md = RP_BUF_INIT;
  rp_note note = RP_NOTE_INIT;
  const rp_template *layout = NULL;
  int rc = rp_read_file(path, RP_DATA_MAX_FILE, &src, diags);
  if (rc == RP_OK) {
    rp_session_src ss = {.path = path, .text = src.data ? src.data : "", .len = src.len};
    rc = rp_notes_build(n, &ss, &note, diags);
  }
  if (rc == RP_OK) rc = rp_notes_render(n, &note, RP_FMT_JSON, false, &json, diags);
  // The Markdown kept is the note as render shows it once signed: the layout
  // leaves out its blank signature line, and the signature block (made when
  // the entry is sealed) follows.
  if (rc == RP_OK) rp_note_set_signature(&note, "", 0, NULL, 0);
  if (rc == RP_OK) rc = rp_notes_render(n, &note, RP_FMT_MD, false, &md, diags);
  if (rc == RP_OK) layout = note.layout_t;
  rp_plugins *plugins = rp_notes_plugins(n);
  if (rc == RP_OK) {
    // The session's identity comes from its own data, as the therapist
    // typed it (see docs/record.md), and so does its note type.
    rc = rp_record_identify(path, src.data, src.len, &d->e.session_key, &d->e.client_id, diags);
    if (rc != RP_OK)
      rp_diags_add(diags, RP_SEV_ERROR, path, 0, 0, "not signed: it has no identity in the record");
  }
  if (rc == RP_OK) {
    rp_doc *doc = rp_doc_new();
    rp_value root, t;
    const char *type = NULL;
    size_t tl = 0;
    rp_diags quiet = RP_DIAGS_INIT;
    if (rp_yaml_parse_text(doc, path, src.data ? src.data : "", src.len, &quiet, &root) == RP_OK &&
        rp_doc_ops.get(doc, root, "type", 4, &t))
      type = rp_doc_ops.str(doc, t, &tl);
    rp_diags_free(&quiet);
    d->e.note_type = dup_str(type, type ? tl : 0);
    rp_doc_free(doc);
  }
  if (rc == RP_OK) {
    // What made the note: the plugin that registers its note type and the
    // layout, by content hash.
    rp_buf by = RP_BUF_INIT;
    char h[65];
    rp_buf_printf(&by, "{\"rapport\":\"%s\",\"note_type\":", RP_VERSION);
    json_string(&by, d->e.note_type);
    rp_item_info it;
    for (size_t i = 0; rp_plugins_item(plugins, RP_ITEM_NOTE_TYPE, i, &it); i++) {
      if (strcmp(it.id, d->e.note_type) != 0) continue;
      bool builtin = false;
      rp_plugin_info pi;
      for (size_t j = 0; j < rp_plugins_count(plugins); j++) {
        rp_plugins_plugin(plugins, j, &pi);
        if (strcmp(pi.path, it.path) == 0) builtin = pi.builtin;
      }
      content_hash(it.path, builtin, h);
      rp_buf_adds(&by, ",\"plugin\":{\"path\":");
      json_string(&by, it.path);
      rp_buf_printf(&by, ",\"sha256\":\"%s\"}", h);
      break;
    }
    if (layout) {
      const char *lp = rp_template_path(layout);
      content_hash(lp, false, h);
      rp_buf_adds(&by, ",\"layout\":{\"path\":");
      json_string(&by, lp);
      rp_buf_printf(&by, ",\"sha256\":\"%s\"}", h);
    }
    rp_buf_addc(&by, '}');
    d->e.made_by = rp_buf_detach(&by);
    d->e.source_len = src.len;
    d->e.source = rp_buf_detach(&src);
    d->e.note_json_len = json.len;
    d->e.note_json = rp_buf_detach(&json);
    d->md_len = md.len;
    d->md = rp_buf_detach(&md);
  }
  rp_buf_free(&src);
  rp_buf_free(&json);
  rp_buf_free(&md);
  rp_note_clear(&note);
  return rc;
}

static void draft_free(draft *d) {
  rp_record_entry_clear(&d->e);
  free(d->md);
  d->md = NULL;
}

// --- sign and amend ------------------------------------------------------------------------

typedef struct sealer {
  const rp_record_key *key;
  draft *drafts;
  const char *reason;  // amend: the reason; sign: NULL
} sealer;

typedef struct versions {
  long long first;   // the note's entry, or 0
  long long latest;  // the entry holding the latest version
  unsigned char source_hash[RP_RECORD_HASH_BYTES];
  bool same;  // the latest version's source is the draft's
  const draft *d;
} versions;

static int versions_each(void *ud, const rp_record_entry *e) {
  versions *v = ud;
  if (e->kind == RP_RECORD_NOTE && !v->first) v->first = e->seq;
  if (!v->first) return RP_OK;
  v->latest = e->seq;
  v->same = e->source_len == v->d->e.source_len &&
            (e->source_len == 0 || memcmp(e->source, v->d->e.source, e->source_len) == 0);
  return RP_OK;
}

static int seal_one(void *ud, rp_record *r, const rp_record_head *head, size_t i,
                    rp_record_entry *e, rp_diags *diags) {
  sealer *s = ud;
  draft *d = &s->drafts[i];
  versions v = {.d = d};
  rp_record_query q = {e->session_key, NULL, true};
  int rc = rp_record_list(r, &q, versions_each, &v, diags);
  if (rc != RP_OK) return rc;
  d->existing = v.first ? v.latest : 0;
  if (v.first && v.same) {
    d->outcome = D_SAME;
    return RP_RECORD_SKIP;
  }
  if (!s->reason && v.first) {
    d->outcome = D_LOCKED;
    return RP_RECORD_SKIP;
  }
  if (s->reason && !v.first) {
    d->outcome = D_NOT_SIGNED;
    return RP_RECORD_SKIP;
  }
  d->outcome = D_NEW;
  e->kind = s->reason ? RP_RECORD_AMENDMENT : RP_RECORD_NOTE;
  e->amends = s->reason ? v.first : 0;
  free(e->reason);
  e->reason = rp_xstrndup(s->reason ? s->reason : "", s->reason ? strlen(s->reason) : 0);
  free(e->signed_at);
  char now[24];
  rp_record_now(now);
  e->signed_at = rp_xstrndup(now, strlen(now));
  free(e->signer_name);
  e->signer_name = rp_xstrndup(s->key->name, strlen(s->key->name));
  free(e->signer_credentials);
  e->signer_credentials = rp_xstrndup(s->key->credentials, strlen(s->key->credentials));
  // The Markdown kept is the note as a reader sees it once signed: with its
  // signature block (and, for an amendment, what it amends and why).
  rp_record_signature sig = {0};
  sig.is_signed = true;
  rp_record_signer me = {.entry = head->entries + 1,
                         .name = e->signer_name,
                         .credentials = e->signer_credentials,
                         .signed_at = e->signed_at,
                         .reason = e->reason};
  rp_record_fingerprint(s->key->public_key, me.fingerprint);
  rp_record_signer original = {0};
  if (s->reason) {
    rp_record_entry o;
    if ((rc = rp_record_read(r, v.first, &o, diags)) != RP_OK) return rc;
    original.entry = o.seq;
    original.name = o.signer_name;
    original.credentials = o.signer_credentials;
    original.signed_at = o.signed_at;
    original.reason = o.reason;
    rp_record_fingerprint(o.public_key, original.fingerprint);
    sig.note = original;
    sig.amendments = &me;
    sig.namendments = 1;
    rp_buf md = RP_BUF_INIT;
    rp_buf_add(&md, d->md, d->md_len);
    rp_record_signature_block(&sig, &md);
    free(e->note_md);
    e->note_md_len = md.len;
    e->note_md = rp_buf_detach(&md);
    rp_record_entry_clear(&o);
  } else {
    sig.note = me;
    rp_buf md = RP_BUF_INIT;
    rp_buf_add(&md, d->md, d->md_len);
    rp_record_signature_block(&sig, &md);
    free(e->note_md);
    e->note_md_len = md.len;
    e->note_md = rp_buf_detach(&md);
  }
  rp_record_seal(e, head, s->key);
  return RP_OK;
}

static int write_checkpoint(void *ud, const rp_record_head *head, rp_record_checkpoint *cp,
                            rp_diags *diags) {
  const rp_record_key *key = ((void **)ud)[0];
  const char *path = ((void **)ud)[1];
  rp_record_checkpoint_sign(cp, head, key);
  return rp_record_checkpoint_write(path, cp, diags);
}

// Says what became of each draft, once its transaction is committed.
static bool tell(const rp_cli *cli, draft *drafts, size_t n, bool amend, rp_diags *diags) {
  bool problems = false;
  for (size_t i = 0; i < n; i++) {
    draft *d = &drafts[i];
    switch (d->outcome) {
      case D_NEW:
        if (!cli->quiet)
          printf("%s: %s as entry %lld\n", d->path, amend ? "amended" : "signed", d->e.seq);
        break;
      case D_SAME:
        if (amend) {
          rp_diags_add(diags, RP_SEV_ERROR, d->path, 0, 0,
                       "nothing to amend: entry %lld holds this file as it is", d->existing);
          problems = true;
        } else if (!cli->quiet) {
          printf("%s: already signed as entry %lld, unchanged: nothing to do\n", d->path,
                 d->existing);
        }
        break;
      case D_LOCKED:
        rp_diags_add(diags, RP_SEV_ERROR, d->path, 0, 0,
                     "not signed: this session is signed already (entry %lld) and its entry is "
                     "locked; to change it, use: rapport amend %s --reason TEXT",
                     d->existing, d->path);
        problems = true;
        break;
      case D_NOT_SIGNED:
        rp_diags_add(diags, RP_SEV_ERROR, d->path, 0, 0,
                     "not amended: this session is not signed yet; sign it first: rapport sign %s",
                     d->path);
        problems = true;
        break;
    }
  }
  return problems;
}

// Signs (reason NULL) or amends the sessions `files`.
static int sign_files(rp_cli *cli, const char **files, size_t nfiles, const char *reason) {
  rp_diags diags = RP_DIAGS_INIT;
  bool problems = false;
  const char *path = record_path(cli);
  rp_record *rec = NULL;
  rp_notes *w = NULL;
  draft *drafts = NULL;
  bool stored = false;
  rp_record_key *key = unlock_key(&diags);
  if (!key || rp_record_open(path, RP_RECORD_WRITE, &rec, &diags) != RP_OK ||
      rp_record_key_put(rec, key->public_key, key->name, key->credentials, &diags) != RP_OK) {
    problems = true;
    goto done;
  }
  char *cp_path = rp_record_checkpoint_path(path);
  void *cp_ud[2] = {key, cp_path};
  rp_record_checkpoint cp;
  // A new record gets a checkpoint of its zero entries first: a sign killed
  // between committing its entries and writing their checkpoint then leaves
  // a checkpoint behind the chain (which verifies), never none at all (which
  // is what removing every checkpoint looks like).
  int latest = rp_record_checkpoint_latest(rec, &cp, &diags);
  if (latest == RP_ENOTFOUND)
    latest = rp_record_checkpoint_make(rec, write_checkpoint, cp_ud, &diags);
  if (latest != RP_OK) {
    free(cp_path);
    problems = true;
    goto done;
  }
  w = rp_notes_new(&cli->ws, NULL, &diags);
  if (report(&diags)) problems = true;
  drafts = rp_xcalloc(SIGN_CHUNK, sizeof *drafts);
  for (size_t at = 0; at < nfiles; at += SIGN_CHUNK) {
    size_t n = 0;
    for (size_t i = at; i < nfiles && i < at + SIGN_CHUNK; i++) {
      size_t first = diags.n;
      if (build_note(w, files[i], &drafts[n], &diags) == RP_OK) {
        n++;
      } else {
        draft_free(&drafts[n]);
        // A session with problems is refused, every problem listed.
        bool named = false;
        for (size_t k = first; k < diags.n; k++)
          named = named || strcmp(diags.items[k].path, files[i]) == 0;
        if (!named)
          rp_diags_add(&diags, RP_SEV_ERROR, files[i], 0, 0,
                       "not signed: it has problems (reported above)");
        problems = true;
      }
      report(&diags);
    }
    if (n) {
      rp_record_entry *entries = rp_xcalloc(n, sizeof *entries);
      for (size_t i = 0; i < n; i++)
        entries[i] = drafts[i].e;
      sealer s = {key, drafts, reason};
      int rc = rp_record_append(rec, entries, n, seal_one, &s, &diags);
      // The entries took over the drafts' strings and may have replaced
      // some (seal_one): give them back, to be freed once.
      for (size_t i = 0; i < n; i++)
        drafts[i].e = entries[i];
      free(entries);
      if (rc == RP_OK) {
        if (tell(cli, drafts, n, reason != NULL, &diags)) problems = true;
        for (size_t i = 0; i < n; i++)
          stored = stored || drafts[i].outcome == D_NEW;
      } else {
        for (size_t i = 0; i < n; i++)
          rp_diags_add(&diags, RP_SEV_ERROR, drafts[i].path, 0, 0,
                       "not %s: the record was not "
                       "written (see above)",
                       reason ? "amended" : "signed");
        problems = true;
      }
      for (size_t i = 0; i < n; i++)
        draft_free(&drafts[i]);
      report(&diags);
      if (rc != RP_OK) break;
    }
  }
  if (stored) {
    // The checkpoint is made after the entries are committed: a crash in
    // between leaves a checkpoint one step behind, which verifies.
    if (rp_record_checkpoint_make(rec, write_checkpoint, cp_ud, &diags) == RP_OK &&
        rp_record_checkpoint_latest(rec, &cp, &diags) == RP_OK && !cli->quiet) {
      rp_buf line = RP_BUF_INIT;
      rp_record_checkpoint_line(&cp, &line);
      printf("%s\n", line.data);
      rp_buf_free(&line);
    }
  }
  free(cp_path);
done:
  if (report(&diags)) problems = true;
  free(drafts);
  rp_notes_free(w);
  rp_record_close(rec);
  rp_record_key_free(key);
  rp_diags_free(&diags);
  if (fflush(stdout) != 0) problems = true;
  return problems ? RP_EXIT_PROBLEM : RP_EXIT_OK;
}

int rp_cmd_sign(rp_cli *cli, int argc, char **argv) {
  const char **files = rp_xcalloc((size_t)argc, sizeof *files);
  size_t n = 0;
  int status;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("sign");
      free(files);
      return RP_EXIT_OK;
    }
    if (a[0] == '-') {
      free(files);
      return rp_cli_usage_error("sign",
                                strcmp(a, "-") == 0
                                    ? "a signed session is a file: '-' cannot be signed"
                                    : "unknown option '%s'",
                                a);
    }
    files[n++] = a;
  }
  if (n == 0)
    status = rp_cli_usage_error("sign", "give the session files to sign");
  else
    status = sign_files(cli, files, n, NULL);
  free(files);
  return status;
}

int rp_cmd_amend(rp_cli *cli, int argc, char **argv) {
  const char *file = NULL, *reason = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("amend");
      return RP_EXIT_OK;
    }
    if (strcmp(a, "--reason") == 0) {
      if (i + 1 >= argc) return rp_cli_usage_error("amend", "option '--reason' needs a value");
      reason = argv[++i];
    } else if (a[0] == '-') {
      return rp_cli_usage_error("amend", "unknown option '%s'", a);
    } else if (file) {
      return rp_cli_usage_error("amend", "amend one session at a time");
    } else {
      file = a;
    }
  }
  if (!file) return rp_cli_usage_error("amend", "give the session file to amend");
  if (!reason || !*reason)
    return rp_cli_usage_error("amend", "say why the note is amended: --reason TEXT");
  if (strlen(reason) > 2000) return rp_cli_usage_error("amend", "the reason is at most 2000 bytes");
  return sign_files(cli, &file, 1, reason);
}

// --- verify --------------------------------------------------------------------------------

int rp_cmd_verify(rp_cli *cli, int argc, char **argv) {
  rp_diags diags = RP_DIAGS_INIT;
  rp_record_key **trusted = rp_xcalloc((size_t)argc, sizeof *trusted);
  size_t ntrusted = 0;
  int status = RP_EXIT_PROBLEM;
  rp_record *rec = NULL;
  char *cp_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("verify");
      status = RP_EXIT_OK;
      goto done;
    }
    if (strcmp(a, "--key") == 0) {
      if (i + 1 >= argc) {
        status = rp_cli_usage_error("verify", "option '--key' needs a value");
        goto done;
      }
      if (rp_record_key_load(argv[++i], NULL, 0, &trusted[ntrusted], &diags) != RP_OK) goto done;
      ntrusted++;
    } else {
      status = rp_cli_usage_error("verify", "unknown argument '%s'", a);
      goto done;
    }
  }
  const char *path = record_path(cli);
  if (rp_record_open(path, RP_RECORD_READ, &rec, &diags) != RP_OK) goto done;
  cp_path = rp_record_checkpoint_path(path);
  rp_record_verify_result res;
  int rc =
      rp_record_verify(rec, cp_path, (const rp_record_key *const *)trusted, ntrusted, &res, &diags);
  rp_buf detail = RP_BUF_INIT;
  if (rc == RP_OK) {
    printf("%lld entries verified\n", res.verified);
    if (res.checkpoint.entries > 0 && !cli->quiet) {
      rp_buf line = RP_BUF_INIT;
      rp_record_checkpoint_line(&res.checkpoint, &line);
      printf("%s\n", line.data);
      if (res.checkpoint.entries < res.entries)
        printf(
            "entries %lld to %lld were added after it (a sign that stopped before writing "
            "its checkpoint)\n",
            res.checkpoint.entries + 1, res.entries);
      rp_buf_free(&line);
    }
    rp_buf_printf(&detail, "%lld entries verified", res.verified);
    status = RP_EXIT_OK;
  } else if (rc == RP_EVERIFY) {
    if (res.bad_entry > 0)
      rp_diags_add(&diags, RP_SEV_ERROR, path, 0, 0, "entry %lld: %s", res.bad_entry, res.problem);
    else
      rp_diags_add(&diags, RP_SEV_ERROR, path, 0, 0, "%s", res.problem);
    rp_buf_printf(&detail, "failed at entry %lld", res.bad_entry);
  }
  if (rc == RP_OK || rc == RP_EVERIFY) {
    rp_record_event ev = {.action = "verify",
                          .actor = login_name(),
                          .key_fpr = "",
                          .client_id = "",
                          .entry = res.bad_entry,
                          .detail = detail.data ? detail.data : ""};
    rp_diags quiet = RP_DIAGS_INIT;
    if (rp_record_log_add(rec, &ev, &quiet) != RP_OK)
      rp_diags_add(&diags, RP_SEV_WARNING, path, 0, 0,
                   "this verification is not in the record's log: %s",
                   quiet.n ? quiet.items[0].msg : "the record cannot be written");
    rp_diags_free(&quiet);
  }
  rp_buf_free(&detail);
done:
  report(&diags);
  for (size_t i = 0; i < ntrusted; i++)
    rp_record_key_free(trusted[i]);
  free(trusted);
  free(cp_path);
  rp_record_close(rec);
  rp_diags_free(&diags);
  return status;
}

// --- log -----------------------------------------------------------------------------------

static int print_event(void *ud, const rp_record_event *ev) {
  (void)ud;
  printf("%s  %-6s", ev->at, ev->action);
  if (ev->entry > 0) printf("  entry %lld", ev->entry);
  if (*ev->client_id) printf("  client %s", ev->client_id);
  printf("  by %s", ev->actor);
  if (*ev->key_fpr) printf(" (key %s)", ev->key_fpr);
  if (*ev->detail) printf(": %s", ev->detail);
  putchar('\n');
  return RP_OK;
}

int rp_cmd_log(rp_cli *cli, int argc, char **argv) {
  const char *client = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rp_cli_help("log");
      return RP_EXIT_OK;
    }
    if (strcmp(a, "--client") == 0) {
      if (i + 1 >= argc) return rp_cli_usage_error("log", "option '--client' needs a value");
      client = argv[++i];
    } else {
      return rp_cli_usage_error("log", "unknown argument '%s'", a);
    }
  }
  rp_diags diags = RP_DIAGS_INIT;
  rp_record *rec = NULL;
  int status = RP_EXIT_PROBLEM;
  if (rp_record_open(record_path(cli), RP_RECORD_READ, &rec, &diags) == RP_OK &&
      rp_record_log_list(rec, client, print_event, NULL, &diags) == RP_OK)
    status = RP_EXIT_OK;
  report(&diags);
  rp_record_close(rec);
  rp_diags_free(&diags);
  if (fflush(stdout) != 0) status = RP_EXIT_PROBLEM;
  return status;
}
