"""The signed record as its users meet it: `rapport key new`, `sign`,
`amend`, `verify` and `log`, then a record attacked and damaged.

Each test has its own workspace, key folder (XDG_CONFIG_HOME) and
passphrase (RAPPORT_PASSPHRASE). Records are edited behind Rapport's back
with the sqlite3 shell and by changing bytes of the file; the canonical
bytes of docs/record.md are recomputed here, independently, with Python's
hashlib and sqlite3 modules. Full-disk and read-only cases use small tmpfs
mounts when running as root, as CI does (and say why they skip otherwise).
"""

import hashlib
import json
import os
import pty
import re
import select
import shutil
import sqlite3
import subprocess
import unittest

from harness import ROOT, RapportTest, binary
from test_notes import SOAP

PASS = "correct horse battery staple"
# A therapist's words: never in the log, never in a message.
CANARY = "CANARY-sleeps-7f3a"
SIGNED = re.compile(r"^Electronically signed by (?P<who>.+) on (?P<date>\d{4}-\d\d-\d\d \d\d:\d\d UTC)"
                    r" \u00b7 entry (?P<entry>\d+) \u00b7 key (?P<fpr>[0-9a-f]{16})$", re.M)


def soap(client="C-1042", number=7, text=CANARY):
    return (SOAP.replace("C-1042", client).replace("number: 7", "number: %d" % number)
            .replace("sleeping better", text))


def field(data):
    return len(data).to_bytes(8, "big") + data


def canonical(row):
    """The canonical bytes of docs/record.md, from an entries row."""
    text = lambda v: v.encode("utf-8") if isinstance(v, str) else bytes(v)  # noqa: E731
    parts = [b"rapport record entry v1", str(row["seq"]).encode(), row["kind"].encode(),
             str(row["amends"]).encode(), text(row["session_key"]), text(row["client_id"]),
             text(row["signed_at"]), text(row["signer_name"]), text(row["signer_credentials"]),
             bytes(row["public_key"]), text(row["note_type"]), text(row["made_by"]),
             text(row["reason"]), bytes(row["source"]), bytes(row["note_json"]),
             bytes(row["note_md"]), bytes(row["prev_hash"])]
    return b"".join(field(p) for p in parts)


def sqlite_shell(db, sql):
    p = subprocess.run(["sqlite3", db, sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Record(RapportTest):
    def setUp(self):
        super().setUp()
        self.env = {"XDG_CONFIG_HOME": self.path("config"), "RAPPORT_PASSPHRASE": PASS}
        self.mounts = []

    def tearDown(self):
        for path in reversed(self.mounts):
            subprocess.run(["umount", path], check=False)
        super().tearDown()

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_env(self, *args, env=None, **kw):
        full = dict(self.env)
        full.update(env or {})
        return self.rapport(*args, env=full, **kw)

    def key(self, name="Dana Whitfield", credentials="LCSW", env=None):
        r = self.run_env("key", "new", "--name", name, "--credentials", credentials, env=env)
        self.assertEqual(r.code, 0, r)
        return re.search(r"^fingerprint: ([0-9a-f]{16})$", r.out, re.M).group(1)

    def sign(self, *files, env=None):
        return self.run_env("sign", *files, env=env)

    def rows(self, db="record.db"):
        con = sqlite3.connect(self.path(db))
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("SELECT * FROM entries ORDER BY seq")]
        finally:
            con.close()

    def verify(self, *args, env=None):
        return self.run_env("verify", *args, env=env)

    def assertVerifyFails(self, entry, fragment, *args):
        r = self.verify(*args)
        self.assertEqual(r.code, 1, r)
        self.assertNotIn("entries verified", r.out, r)
        if entry:
            self.assertIn("record.db: error: entry %d: " % entry, r.err, r)
        self.assertIn(fragment, r.err, r)
        return r

    def signed_three(self):
        """Three sessions signed, one by one: entries 1, 2, 3."""
        self.fpr = self.key()
        for i in (1, 2, 3):
            self.write("sessions/s%d.yaml" % i, soap("C-%d" % i, i))
            r = self.sign("sessions/s%d.yaml" % i)
            self.assertEqual(r.code, 0, r)
        self.assertEqual(self.verify().out.splitlines()[0], "3 entries verified")

    def drop_triggers(self):
        code, _, err = sqlite_shell(self.path("record.db"),
                                    "DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;")
        self.assertEqual(code, 0, err)

    # --- keys ------------------------------------------------------------------------

    def test_key_new_keeps_the_secret_encrypted_and_private(self):
        r = self.run_env("key", "new", "--name", "Dana Whitfield", "--credentials", "LCSW")
        self.assertEqual(r.code, 0, r)
        folder = self.path("config/rapport")
        pub = re.search(r"^public key: ([0-9a-f]{64})$", r.out, re.M).group(1)
        fpr = re.search(r"^fingerprint: ([0-9a-f]{16})$", r.out, re.M).group(1)
        self.assertEqual(fpr, hashlib.sha256(bytes.fromhex(pub)).hexdigest()[:16])
        self.assertEqual(os.stat(folder).st_mode & 0o777, 0o700)
        for name in ("signing.key", "signing.pub"):
            self.assertEqual(os.stat(os.path.join(folder, name)).st_mode & 0o777, 0o600)
        with open(os.path.join(folder, "signing.key")) as f:
            text = f.read()
        self.assertNotIn(PASS, text)
        secret = re.search(r"^secret: ([0-9a-f]+)$", text, re.M).group(1)
        # Sealed: 64 bytes of key, the name and credentials, and the MAC.
        self.assertEqual(len(secret) // 2, 64 + len("Dana Whitfield\nLCSW") + 16)
        self.assertIn("kdf: argon2id13", text)
        # The public key is in the record, with the clinician's name.
        con = sqlite3.connect(self.path("record.db"))
        self.assertEqual(con.execute("SELECT fingerprint, name, credentials, hex(public_key) "
                                     "FROM keys").fetchall(),
                         [(fpr, "Dana Whitfield", "LCSW", pub.upper())])
        con.close()
        self.assertEqual(os.stat(self.path("record.db")).st_mode & 0o777, 0o600)
        # Never replaced.
        again = self.run_env("key", "new", "--name", "Someone Else")
        self.assertEqual(again.code, 1, again)
        self.assertIn("a signing key is here already", again.err)
        with open(os.path.join(folder, "signing.key")) as f:
            self.assertEqual(f.read(), text)

    def test_key_new_refuses_a_short_passphrase_and_a_missing_name(self):
        r = self.run_env("key", "new", "--name", "Dana", env={"RAPPORT_PASSPHRASE": "short"})
        self.assertEqual(r.code, 1, r)
        self.assertIn("the passphrase is too short", r.err)
        self.assertFalse(os.path.exists(self.path("config/rapport/signing.key")))
        self.assertUsageError(self.run_env("key", "new"), command="key")
        self.assertUsageError(self.run_env("key", "old"), command="key")

    def on_terminal(self, args, answers):
        """Runs rapport ARGS on a new pseudo-terminal (its controlling one,
        without RAPPORT_PASSPHRASE), typing each answer after each prompt.
        Returns (exit status, everything the terminal showed)."""
        env = dict(os.environ, XDG_CONFIG_HOME=self.path("config"))
        env.pop("RAPPORT_PASSPHRASE", None)
        exe = binary()
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(self.dir)
            os.execve(exe, [exe] + list(args), env)
        shown = b""
        try:
            for answer in answers:
                while b": " not in shown.rsplit(b"\n", 1)[-1]:
                    ready, _, _ = select.select([fd], [], [], 30)
                    self.assertTrue(ready, "no prompt: %r" % shown)
                    try:
                        shown += os.read(fd, 4096)
                    except OSError:
                        self.fail("rapport stopped before its prompt: %r" % shown)
                os.write(fd, answer.encode() + b"\n")
                shown += b"\n"
            while True:
                ready, _, _ = select.select([fd], [], [], 30)
                try:
                    chunk = os.read(fd, 4096) if ready else b""
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                shown += chunk
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")

    def test_the_passphrase_is_asked_on_the_terminal_without_echo(self):
        code, shown = self.on_terminal(["key", "new", "--name", "Dana Whitfield"], [PASS, PASS])
        self.assertEqual(code, 0, shown)
        self.assertIn("New passphrase for your signing key: ", shown)
        self.assertIn("Passphrase again: ", shown)
        self.assertNotIn(PASS, shown)
        self.write("s.yaml", soap())
        code, shown = self.on_terminal(["sign", "s.yaml"], [PASS])
        self.assertEqual(code, 0, shown)
        self.assertIn("Passphrase for the signing key of Dana Whitfield: ", shown)
        self.assertIn("s.yaml: signed as entry 1", shown)
        self.assertNotIn(PASS, shown)
        code, shown = self.on_terminal(["sign", "s.yaml"], ["not it at all"])
        self.assertEqual(code, 1, shown)
        self.assertIn("wrong passphrase", shown)

    def test_two_different_passphrases_make_no_key(self):
        code, shown = self.on_terminal(["key", "new", "--name", "Dana"], [PASS, PASS + "!"])
        self.assertEqual(code, 1, shown)
        self.assertIn("the two passphrases differ", shown)
        self.assertFalse(os.path.exists(self.path("config/rapport/signing.key")))

    def test_no_terminal_and_no_variable(self):
        self.key()
        self.write("s.yaml", soap())
        env = dict(os.environ, XDG_CONFIG_HOME=self.path("config"))
        env.pop("RAPPORT_PASSPHRASE", None)
        p = subprocess.run([binary(), "sign", "s.yaml"], cwd=self.dir, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("a passphrase is needed: run on a terminal, or set RAPPORT_PASSPHRASE",
                      p.stderr.decode())

    def test_a_wrong_passphrase_is_refused(self):
        self.key()
        self.write("s.yaml", soap())
        r = self.sign("s.yaml", env={"RAPPORT_PASSPHRASE": "not the passphrase"})
        self.assertEqual(r.code, 1, r)
        self.assertIn("wrong passphrase for this signing key", r.err)
        self.assertEqual(self.rows(), [])

    def test_signing_without_a_key_says_how_to_make_one(self):
        self.write("s.yaml", soap())
        r = self.sign("s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("no signing key here: make one with rapport key new --name NAME", r.err)

    def test_an_edited_key_file_is_refused(self):
        self.key()
        keyfile = self.path("config/rapport/signing.key")
        with open(keyfile) as f:
            text = f.read()
        with open(keyfile, "w") as f:
            f.write(text.replace("name: Dana Whitfield", "name: Dr Impostor"))
        self.write("s.yaml", soap())
        r = self.sign("s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("the key file was edited", r.err)

    # --- sign ------------------------------------------------------------------------

    def test_sign_stores_the_session_note_and_signature(self):
        fpr = self.key()
        self.write("sessions/jd-07.yaml", soap())
        r = self.sign("sessions/jd-07.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, "", r)
        self.assertIn("sessions/jd-07.yaml: signed as entry 1\n", r.out)
        self.assertRegex(r.out, r"checkpoint: 1 entries, head [0-9a-f]{64}, \S+Z, key " + fpr)
        [row] = self.rows()
        with open(self.path("sessions/jd-07.yaml"), "rb") as f:
            self.assertEqual(bytes(row["source"]), f.read())
        self.assertEqual(row["kind"], "note")
        self.assertEqual(row["session_key"], "C-1042/2026-11-24/7")
        self.assertEqual(row["client_id"], "C-1042")
        self.assertEqual(row["note_type"], "soap")
        self.assertEqual((row["signer_name"], row["signer_credentials"]), ("Dana Whitfield", "LCSW"))
        # The note exactly as render shows it now that it is signed, its
        # signature block included.
        md = self.run_env("render", "sessions/jd-07.yaml").out
        stored = bytes(row["note_md"]).decode()
        self.assertEqual(stored, md)
        m = SIGNED.search(stored)
        self.assertIsNotNone(m, stored)
        self.assertEqual((m["who"], m["entry"], m["fpr"]), ("Dana Whitfield, LCSW", "1", fpr))
        # The computed note; render adds the signature beside it.
        shown = json.loads(self.run_env("render", "--format", "json", "sessions/jd-07.yaml").out)
        self.assertEqual(shown.pop("signature")["entry"], "1")
        computed = json.loads(bytes(row["note_json"]).decode())
        self.assertIsNone(computed.pop("signature"))  # unsigned when it was computed
        self.assertEqual(computed, shown)
        made = row["made_by"]
        self.assertRegex(made, r'"note_type":"soap"')
        self.assertRegex(made, r'"plugin":\{"path":"plugins/[a-z]+\.lua","sha256":"[0-9a-f]{64}"\}')
        with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "..", "templates",
                               "soap.md.mustache"), "rb") as f:
            layout_hash = hashlib.sha256(f.read()).hexdigest()
        self.assertIn('"layout":{"path":"templates/soap.md.mustache","sha256":"%s"}' % layout_hash,
                      made)

    def test_the_hash_is_the_documented_canonical_bytes(self):
        self.signed_three()
        # The Python of docs/record.md, run as it is printed there.
        with open(os.path.join(ROOT, "docs", "record.md"), encoding="utf-8") as f:
            doc = f.read()
        [code] = re.findall(r"^```python\n(.*?)^```$", doc, re.M | re.S)
        documented = {}
        exec(code, documented)  # noqa: S102
        prev = bytes(32)
        for row in self.rows():
            self.assertEqual(bytes(row["prev_hash"]), prev)
            self.assertEqual(bytes(row["hash"]), hashlib.sha256(canonical(row)).digest())
            self.assertEqual(bytes(row["hash"]), documented["entry_hash"](row))
            self.assertEqual(len(bytes(row["signature"])), 64)
            prev = bytes(row["hash"])

    def test_signing_the_same_content_again_is_a_no_op(self):
        self.key()
        self.write("s.yaml", soap())
        self.assertEqual(self.sign("s.yaml").code, 0)
        r = self.sign("s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, "s.yaml: already signed as entry 1, unchanged: nothing to do\n")
        # The same session under another name is the same session.
        shutil.copy(self.path("s.yaml"), self.path("copy.yaml"))
        r = self.sign("copy.yaml")
        self.assertIn("already signed as entry 1", r.out)
        self.assertEqual(len(self.rows()), 1)

    def test_signing_changed_content_is_refused_and_says_to_amend(self):
        self.key()
        self.write("s.yaml", soap())
        self.assertEqual(self.sign("s.yaml").code, 0)
        self.write("s.yaml", soap(text="slept badly"))
        self.write("other.yaml", soap("C-2", 1))
        r = self.sign("s.yaml", "other.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("s.yaml: error: not signed: this session is signed already (entry 1) and "
                      "its entry is locked; to change it, use: rapport amend s.yaml --reason TEXT",
                      r.err)
        self.assertIn("other.yaml: signed as entry 2", r.out)
        self.assertEqual(len(self.rows()), 2)

    def test_a_session_with_problems_is_refused_with_every_problem(self):
        self.key()
        bad = soap().replace("trust: 4", "trust: 7").replace("collaboration: 3",
                                                             "collaboration: 9")
        self.write("bad.yaml", bad)
        self.write("good.yaml", soap("C-2", 1))
        r = self.sign("bad.yaml", "good.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "bad.yaml", 12, 10, "alliance.trust")
        self.assertProblem(r, "bad.yaml", 14, 18, "alliance.collaboration")
        self.assertNotIn(CANARY, r.err)
        self.assertIn("good.yaml: signed as entry 1", r.out)
        self.assertEqual([row["client_id"] for row in self.rows()], ["C-2"])

    def test_a_session_without_identity_is_refused(self):
        self.key()
        self.write("s.json", '{"type": "soap"}')
        r = self.sign("s.json")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.rows(), [])

    def test_sign_usage(self):
        self.assertUsageError(self.run_env("sign"), command="sign")
        self.assertUsageError(self.run_env("sign", "-"), command="sign")
        self.assertUsageError(self.run_env("amend", "s.yaml"), command="amend")
        h = self.rapport("help", "sign")
        self.assertEqual(h.code, 0)
        self.assertIn("usage: rapport sign FILE...", h.out)
        top = self.rapport("help").out
        for cmd in ("key", "sign", "amend", "verify", "log", "--record PATH"):
            self.assertIn(cmd, top)

    def test_the_record_flag_and_variable_name_another_record(self):
        self.key()
        self.write("s.yaml", soap())
        os.makedirs(self.path("elsewhere"))
        r = self.run_env("--record", "elsewhere/clinic.db", "sign", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(os.path.exists(self.path("elsewhere/clinic.checkpoint")))
        r = self.run_env("verify", env={"RAPPORT_RECORD": "elsewhere/clinic.db"})
        self.assertEqual(r.out.splitlines()[0], "1 entries verified", r)
        self.assertEqual(self.rows("elsewhere/clinic.db")[0]["seq"], 1)

    # --- amend -----------------------------------------------------------------------

    def test_amend_appends_a_signed_addendum_and_keeps_the_original(self):
        self.key()
        self.write("s.yaml", soap())
        with open(self.path("s.yaml"), "rb") as f:
            original = f.read()
        self.assertEqual(self.sign("s.yaml").code, 0)
        self.write("s.yaml", soap(text="slept badly"))
        r = self.run_env("amend", "s.yaml", "--reason", "wrong night recorded")
        self.assertEqual(r.code, 0, r)
        self.assertIn("s.yaml: amended as entry 2", r.out)
        first, second = self.rows()
        self.assertEqual(bytes(first["source"]), original)
        self.assertEqual((second["kind"], second["amends"], second["reason"]),
                         ("amendment", 1, "wrong night recorded"))
        md = bytes(second["note_md"]).decode()
        self.assertIn("slept badly", md)
        self.assertEqual([m["entry"] for m in SIGNED.finditer(md)], ["1", "2"])
        self.assertIn("Reason: wrong night recorded", md)
        # Signing the amended file is now a no-op; amending it unchanged is refused.
        self.assertIn("already signed as entry 2", self.sign("s.yaml").out)
        r = self.run_env("amend", "s.yaml", "--reason", "again")
        self.assertEqual(r.code, 1, r)
        self.assertIn("nothing to amend: entry 2 holds this file as it is", r.err)
        self.assertEqual(self.verify().out.splitlines()[0], "2 entries verified")

    def test_amending_an_unsigned_session_is_refused(self):
        self.key()
        self.write("s.yaml", soap())
        r = self.run_env("amend", "s.yaml", "--reason", "typo")
        self.assertEqual(r.code, 1, r)
        self.assertIn("not amended: this session is not signed yet", r.err)

    # --- log -------------------------------------------------------------------------

    def test_log_shows_who_did_what_and_no_clinical_text(self):
        fpr = self.key()
        self.write("a.yaml", soap("C-1", 1))
        self.write("b.yaml", soap("C-2", 1))
        self.sign("a.yaml", "b.yaml")
        self.write("a.yaml", soap("C-1", 1, text="slept badly"))
        self.run_env("amend", "a.yaml", "--reason", "corrected")
        self.verify()
        r = self.run_env("log")
        self.assertEqual(r.code, 0, r)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 5, r.out)
        self.assertRegex(lines[0], r"^\S+Z  key .* by Dana Whitfield \(key %s\)" % fpr)
        self.assertRegex(lines[1], r"^\S+Z  sign    entry 1  client C-1  by Dana Whitfield "
                                   r"\(key %s\)$" % fpr)
        self.assertRegex(lines[3], r"amend   entry 3  client C-1  .*: amends entry 1$")
        self.assertRegex(lines[4], r"verify  by .*: 3 entries verified$")
        only = self.run_env("log", "--client", "C-1").out.splitlines()
        self.assertEqual(len(only), 2)
        # No clinical text in the log, nor anywhere in its table.
        self.assertNotIn(CANARY, r.out)
        self.assertNotIn("slept", r.out)
        code, dump, _ = sqlite_shell(self.path("record.db"), "SELECT * FROM audit")
        self.assertEqual(code, 0)
        self.assertNotIn(CANARY, dump)
        self.assertNotIn("corrected", dump)
        # Append-only.
        for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
            code, _, err = sqlite_shell(self.path("record.db"), sql)
            self.assertNotEqual(code, 0)
            self.assertIn("the audit log is append-only", err)

    def test_entries_refuse_update_and_delete(self):
        self.signed_three()
        for sql in ("UPDATE entries SET reason = 'x'", "DELETE FROM entries WHERE seq = 3"):
            code, _, err = sqlite_shell(self.path("record.db"), sql)
            self.assertNotEqual(code, 0)
            self.assertIn("signed and locked", err)
        self.assertEqual(self.verify().code, 0)

    # --- a record edited behind Rapport's back -------------------------------------

    def test_a_byte_changed_in_an_entry(self):
        self.signed_three()
        self.drop_triggers()
        sqlite_shell(self.path("record.db"),
                     "UPDATE entries SET note_md = CAST(replace(CAST(note_md AS TEXT), "
                     "'Client reports', 'Client denies') AS BLOB) WHERE seq = 2")
        self.assertVerifyFails(2, "its contents do not match its hash: it was changed after "
                                  "signing")

    def test_render_shows_a_signed_note_as_signed(self):
        fpr = self.key()
        self.write("sessions/s.yaml", soap("C-7", 3))
        self.write("sessions/u.yaml", soap("C-8", 4))
        self.assertEqual(self.sign("sessions/s.yaml").code, 0)
        line = re.compile(r"^Electronically signed by Dana Whitfield, LCSW on \d{4}-\d\d-\d\d "
                          r"\d\d:\d\d UTC · entry 1 · key %s$" % fpr, re.M)
        for fmt in ("md", "txt", "html"):
            r = self.run_env("render", "--format", fmt, "sessions/s.yaml")
            self.assertEqual(r.code, 0, r)
            text = re.sub(r"<[^>]+>", "", r.out) if fmt == "html" else r.out
            self.assertRegex(text.replace("&middot;", "·"), line, fmt)
            self.assertNotIn("Signed: ____", r.out, fmt)
        r = self.run_env("render", "--format", "json", "sessions/s.yaml")
        sig = json.loads(r.out)["signature"]
        self.assertEqual((sig["name"], sig["credentials"], sig["entry"], sig["key"]),
                         ("Dana Whitfield", "LCSW", "1", fpr))
        # A session not in the record keeps the blank signature line.
        r = self.run_env("render", "sessions/u.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("Electronically signed", r.out)
        self.assertIn("Signed: ____", r.out)
        self.assertIsNone(json.loads(
            self.run_env("render", "--format", "json", "sessions/u.yaml").out)["signature"])
        # Changed since it was signed: a warning, and no signature on the note.
        self.write("sessions/s.yaml", soap("C-7", 3, text="sleeping worse"))
        r = self.run_env("render", "sessions/s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn("sessions/s.yaml: warning: signed as entry 1; the file has changed since",
                      r.err)
        self.assertNotIn("Electronically signed", r.out)
        # No record at all: nothing is marked and nothing is created.
        os.rename(self.path("record.db"), self.path("elsewhere.db"))
        for f in ("record.db-wal", "record.db-shm"):
            if os.path.exists(self.path(f)):
                os.unlink(self.path(f))
        r = self.run_env("render", "sessions/u.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertFalse(os.path.exists(self.path("record.db")))

    def test_a_byte_changed_in_the_file(self):
        self.signed_three()
        db = self.path("record.db")
        with open(db, "rb") as f:
            data = bytearray(f.read())
        # Entry 2's source is the only text with client C-2's line as typed:
        # change one byte of it where the file stores it (a row larger than
        # a page is not stored in one piece, so look for that line itself).
        line = b"client: { id: C-2, initials: J.D. }"
        rows = self.rows()
        self.assertIn(line, bytes(rows[1]["source"]))
        self.assertEqual(data.count(line), 1)
        k = data.find(line) + len(b"client: { id: C-")
        data[k] ^= 0x20
        with open(db, "wb") as f:
            f.write(data)
        self.assertVerifyFails(2, "its contents do not match its hash")

    def test_an_entry_deleted(self):
        self.signed_three()
        self.drop_triggers()
        sqlite_shell(self.path("record.db"), "DELETE FROM entries WHERE seq = 2")
        self.assertVerifyFails(2, "missing: the chain goes from entry 1 to entry 3")

    def test_the_last_entries_removed(self):
        self.signed_three()
        self.drop_triggers()
        sqlite_shell(self.path("record.db"), "DELETE FROM entries WHERE seq >= 2")
        self.assertVerifyFails(2, "missing (entries 2 to 3 are gone): the checkpoint")
        # With the record's own checkpoints removed too, the file still tells.
        sqlite_shell(self.path("record.db"), "DELETE FROM checkpoints WHERE entries >= 2")
        self.assertVerifyFails(2, "missing (entries 2 to 3 are gone): the checkpoint file")
        # And with the file gone, the record's own copy does.
        os.unlink(self.path("record.checkpoint"))
        sqlite_shell(self.path("record.db"), "DELETE FROM checkpoints")
        self.assertVerifyFails(0, "no checkpoint")

    def test_the_whole_chain_rewritten_without_the_key(self):
        """Every entry changed and its hash and chain recomputed, as a forger
        without the secret key can: the signatures no longer match."""
        self.signed_three()
        self.drop_triggers()
        con = sqlite3.connect(self.path("record.db"))
        con.row_factory = sqlite3.Row
        prev = bytes(32)
        for row in [dict(r) for r in con.execute("SELECT * FROM entries ORDER BY seq")]:
            row["source"] = bytes(row["source"]).replace(CANARY.encode(), b"forged")
            row["prev_hash"] = prev
            h = hashlib.sha256(canonical(row)).digest()
            con.execute("UPDATE entries SET source = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                        (row["source"], prev, h, row["seq"]))
            prev = h
        con.commit()
        con.close()
        self.assertVerifyFails(1, "its signature does not match its hash and key")

    def test_the_whole_chain_rewritten_with_another_key(self):
        """A forger with a key of their own re-signs a whole record: the
        checkpoint file left in place, or the clinician's public key given
        with --key, finds it."""
        self.signed_three()
        dana_pub = self.path("config/rapport/signing.pub")
        forger = {"XDG_CONFIG_HOME": self.path("forger")}
        self.key("Dana Whitfield", "LCSW", env=forger)
        os.makedirs(self.path("forged"))
        for i in (1, 2, 3):
            self.write("forged/s%d.yaml" % i, soap("C-%d" % i, i, text="forged"))
        r = self.run_env("--record", "forged/record.db", "sign", "forged/s1.yaml",
                         "forged/s2.yaml", "forged/s3.yaml", env=forger)
        self.assertEqual(r.code, 0, r)
        shutil.copy(self.path("forged/record.db"), self.path("record.db"))
        for name in ("record.db-wal", "record.db-shm"):
            if os.path.exists(self.path(name)):
                os.unlink(self.path(name))
        self.assertVerifyFails(3, "it does not match the checkpoint file")
        # The forger's checkpoint too: only the clinician's key finds it.
        shutil.copy(self.path("forged/record.checkpoint"), self.path("record.checkpoint"))
        self.assertEqual(self.verify().code, 0)
        self.assertVerifyFails(1, "which is not one of the keys given", "--key", dana_pub)

    def test_verify_with_the_clinicians_key(self):
        self.signed_three()
        r = self.verify("--key", self.path("config/rapport/signing.pub"))
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out.splitlines()[0], "3 entries verified")

    def test_a_damaged_checkpoint_file(self):
        self.signed_three()
        with open(self.path("record.checkpoint"), "r+") as f:
            text = f.read()
            f.seek(0)
            f.write(text.replace("entries: 3", "entries: 2"))
        self.assertVerifyFails(0, "the checkpoint file is not signed by its key")

    def test_verify_without_a_record(self):
        r = self.verify()
        self.assertEqual(r.code, 1, r)
        self.assertIn("record.db: error: no record here", r.err)
        self.assertFalse(os.path.exists(self.path("record.db")))

    # --- the record's libraries are opened by the commands that use it ------------

    def loaded(self, *args):
        """The shared libraries the dynamic loader searched for while
        `rapport ARGS` ran (LD_DEBUG=libs), and the result."""
        r = self.run_env(*args, env={"LD_DEBUG": "libs"})
        return re.findall(r"find library=(\S+?)(?: |;|$)", r.err, re.M), r

    def test_the_record_libraries_load_only_when_the_record_is_used(self):
        self.write("sessions/s.yaml", soap("C-7", 3))
        record_libs = ("libsqlite3", "libsodium")
        # No record: a note, a list, a new skeleton touch neither library.
        for args in (("--version",), ("render", "sessions/s.yaml"), ("list",), ("new", "soap")):
            libs, r = self.loaded(*args)
            self.assertEqual(r.code, 0, r)
            self.assertTrue(any(l.startswith("liblua") for l in libs), r.err)
            for name in record_libs:
                self.assertFalse([l for l in libs if l.startswith(name)], (args, libs))
        # Signing, then rendering a workspace that has a record, opens both.
        self.key()
        for args in (("sign", "sessions/s.yaml"), ("render", "sessions/s.yaml"), ("verify",)):
            libs, r = self.loaded(*args)
            self.assertEqual(r.code, 0, r)
            for name in record_libs:
                self.assertTrue([l for l in libs if l.startswith(name)], (args, libs))

    def test_a_record_library_that_cannot_be_opened_is_an_error(self):
        self.key()
        self.write("sessions/s.yaml", soap("C-7", 3))
        libs, r = self.loaded("sign", "sessions/s.yaml")
        self.assertEqual(r.code, 0, r)
        sqlite_name = [l for l in libs if l.startswith("libsqlite3")][0]
        # A broken copy found first, as a damaged installation would give.
        broken = self.path("broken-libs")
        os.mkdir(broken)
        with open(os.path.join(broken, sqlite_name), "w") as f:
            f.write("not a shared library")
        env = {"LD_LIBRARY_PATH": broken}
        for args in (("verify",), ("render", "sessions/s.yaml"), ("log",)):
            r = self.run_env(*args, env=env)
            self.assertEqual(r.code, 1, (args, r))
            self.assertIn("rapport: error: cannot load SQLite (%s): " % sqlite_name, r.err, args)
            self.assertNotIn("Traceback", r.err)
        # Without a record the same installation still renders.
        os.rename(self.path("record.db"), self.path("elsewhere.db"))
        r = self.run_env("render", "sessions/s.yaml", env=env)
        self.assertEqual(r.code, 0, r)
        self.assertIn("SOAP note", r.out)

    def test_not_a_record(self):
        self.write("record.db", "just some text, not a database" * 100)
        r = self.verify()
        self.assertEqual(r.code, 1, r)
        self.assertIn("record.db: error: cannot open the record: not a record, or a damaged one",
                      r.err)

    # --- faults ----------------------------------------------------------------------

    def test_two_processes_signing_at_once(self):
        self.key()
        for i in range(60):
            self.write("a/s%d.yaml" % i, soap("A-%d" % i, 1))
            self.write("b/s%d.yaml" % i, soap("B-%d" % i, 1))
        env = dict(os.environ, **self.env)
        procs = [subprocess.Popen([binary()] + ["-q", "sign"] +
                                  ["%s/s%d.yaml" % (side, i) for i in range(60)],
                                  cwd=self.dir, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
                 for side in ("a", "b")]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err.decode())
        r = self.verify()
        self.assertEqual(r.out.splitlines()[0], "120 entries verified", r)
        self.assertEqual([row["seq"] for row in self.rows()], list(range(1, 121)))

    def mount_tmpfs(self, name, options):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs (CI runs as root)")
        os.makedirs(self.path(name), exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", self.path(name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s" % p.stdout.decode(errors="replace"))
        self.mounts.append(self.path(name))

    def test_a_full_disk(self):
        self.mount_tmpfs("full", "size=256k")
        self.key()
        self.write("s.yaml", soap())
        r = self.run_env("--record", "full/record.db", "sign", "s.yaml")
        self.assertEqual(r.code, 0, r)
        fd = os.open(self.path("full/filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        for i in range(40):
            self.write("big/s%d.yaml" % i, soap("C-%d" % i, 1, text="x" * 20000))
        r = self.run_env("--record", "full/record.db", "sign",
                         *["big/s%d.yaml" % i for i in range(40)])
        self.assertEqual(r.code, 1, r)
        self.assertIn("full/record.db: error: ", r.err)
        self.assertIn("No space left on device", r.err)
        self.assertNotIn("signed as entry", r.out)
        os.unlink(self.path("full/filler"))
        r = self.run_env("--record", "full/record.db", "verify")
        self.assertEqual(r.out.splitlines()[0], "1 entries verified", r)

    def test_a_read_only_record(self):
        self.key()
        self.write("s.yaml", soap())
        self.write("t.yaml", soap("C-2", 1))
        if os.geteuid() == 0:
            self.mount_tmpfs("ro", "size=1m")
            self.assertEqual(self.run_env("--record", "ro/record.db", "sign", "s.yaml").code, 0)
            p = subprocess.run(["mount", "-o", "remount,ro", self.path("ro")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
            if p.returncode != 0:
                self.skipTest("cannot remount a tmpfs read-only")
        else:
            os.makedirs(self.path("ro"))
            self.assertEqual(self.run_env("--record", "ro/record.db", "sign", "s.yaml").code, 0)
            os.chmod(self.path("ro/record.db"), 0o400)
            os.chmod(self.path("ro"), 0o500)
        r = self.run_env("--record", "ro/record.db", "sign", "t.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertRegex(r.err, r"ro/record\.db: error: .*(read-only|Read-only)")
        self.assertNotIn("signed as entry", r.out)
        # Still verified, with a warning that the verification is not logged.
        r = self.run_env("--record", "ro/record.db", "verify")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out.splitlines()[0], "1 entries verified")
        self.assertIn("warning: this verification is not in the record's log", r.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
