"""Hostile files: session files and output places built to break a render.

Each case runs the hostile file together with a good session in one run and
checks that the hostile one gives one clear problem (`PATH[:LINE:COL]:
error: MESSAGE`) and exit status 1, while nothing else is disturbed: the good
session's note is rendered exactly as when it is alone, nothing but the
expected notes is written (no stray or temporary file, nothing on standard
output when notes go to files), existing files are left as they were, and no
message prints what the file holds.

Inputs: a YAML alias bomb ("billion laughs"), 10,000-deep nesting in YAML
and JSON, a 100 MB line in a JSONL batch and a 100 MB session file
(generated in the scratch folder and deleted after), invalid UTF-8, NUL
bytes, a binary file, a session that is a folder, a FIFO (which must not
block), a symbolic link loop. Outputs: a full disk and a read-only output
folder (small tmpfs mounts when running as root, as CI does; a folder with
mode 0500 for the read-only case otherwise), an output path that is a
folder, an output folder that is a file, a FIFO as the output, and an
output that is the input itself under another name.

Outputs never replace inputs (PRODUCT.md section 9): -o or --out-dir naming
another session of the run (another client's), a plugin's file, a template,
the record, the session read from standard input, or a link to one of them,
is refused with exit status 1 and a message that names the file and what it
is, and every input stays byte-identical. Two sessions of the same name
into one folder: the first note is written, the second refused, both named.
What test_notes.py and test_notes_batch.py already check (-o naming the
session or the batch itself) is not repeated here.
"""

import json
import os
import shutil
import stat
import subprocess
import unittest

from harness import PROBLEM, ROOT, RapportTest, binary, wrapper
from test_notes import SOAP
from test_notes_batch import jsonl, session

# Written into hostile values: no message may repeat it.
CANARY = "CANARY-7f3a"
MIB = 1 << 20
# A FIFO must not block: a run that takes longer than this is a hang. (The
# harness multiplies it when the binary runs under valgrind.)
FIFO_TIMEOUT = 20 if os.environ.get("RAPPORT_SANITIZED") in ("1", "ON", "on", "true") else 10


def lines_of(text):
    return [line for line in text.splitlines() if line]


class Hostile(RapportTest):
    def setUp(self):
        super().setUp()
        self.write("good.yaml", SOAP)
        alone = self.rapport("render", "good.yaml")
        self.assertEqual(alone.code, 0, alone)
        self.good_note = alone.out
        self.mounts = []

    def tearDown(self):
        for path in reversed(self.mounts):
            subprocess.run(["umount", path], check=False)
        # A folder left read-only must not stop the scratch folder's removal.
        for root, dirs, _ in os.walk(self.dir):
            for d in dirs:
                p = os.path.join(root, d)
                if not os.path.islink(p) and not os.path.ismount(p):
                    os.chmod(p, 0o700)
        super().tearDown()

    # --- helpers ------------------------------------------------------------

    def path(self, name):
        return os.path.join(self.dir, name)

    def snapshot(self, skip=()):
        """Every entry under the scratch folder but those in `skip` (and
        what is under them): kind, size, mode and modification time (not a
        folder's: a temporary file made and removed in it changes that)."""
        seen = {}
        for root, dirs, files in os.walk(self.dir):
            rel_root = os.path.relpath(root, self.dir)
            dirs[:] = [d for d in dirs if os.path.normpath(os.path.join(rel_root, d)) not in skip]
            for name in dirs + files:
                rel = os.path.normpath(os.path.join(rel_root, name))
                if rel in skip:
                    continue
                st = os.lstat(os.path.join(root, name))
                if stat.S_ISDIR(st.st_mode):
                    seen[rel] = (st.st_mode,)
                else:
                    seen[rel] = (st.st_mode, st.st_size, st.st_mtime_ns)
        return seen

    def run_untouched(self, *args, out_dir=None, timeout=60):
        """Runs rapport ARGS and checks that it changed nothing in the scratch
        folder but what it may write into `out_dir`."""
        skip = (out_dir,) if out_dir else ()
        before = self.snapshot(skip)
        try:
            r = self.rapport(*args, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("rapport %s did not finish within %d s" % (" ".join(args), timeout))
        self.assertEqual(self.snapshot(skip), before, "files other than the notes changed")
        self.assertNotIn(CANARY, r.err, "messages never print what a file holds")
        return r

    def assertOnlyProblemsOf(self, r, name, fragment, line=None, col=None):
        """Exit 1; every line of stderr is a problem of `name` or the run's
        summary; the first problem mentions `fragment` (at LINE:COL when
        given)."""
        self.assertEqual(r.code, 1, r)
        problems = []
        for text in lines_of(r.err):
            if text.startswith("rapport: rendered "):
                continue
            m = PROBLEM.match(text)
            if m:
                problems.append((m["path"], int(m["line"]), int(m["col"]), m["msg"]))
            else:
                self.assertTrue(text.startswith(name + ": error: "),
                                "not a clear problem line: %r\n%r" % (text, r))
                problems.append((name, 0, 0, text[len(name) + 9:]))
        self.assertTrue(problems, r)
        self.assertTrue(all(p[0] == name for p in problems), r)
        self.assertIn(fragment, problems[0][3], r)
        if line is not None:
            self.assertEqual(problems[0][1], line, r)
        if col is not None:
            self.assertEqual(problems[0][2], col, r)
        return problems

    def assertBesideGood(self, name, fragment, line=None, col=None, timeout=60):
        """Renders `name` and good.yaml in one run into --out-dir out: one
        problem for `name`, good.yaml's note as it is alone, nothing else."""
        r = self.run_untouched("render", name, "good.yaml", "--out-dir", "out", out_dir="out",
                               timeout=timeout)
        self.assertOnlyProblemsOf(r, name, fragment, line, col)
        self.assertEqual(r.out, "", r)
        self.assertIn("rapport: rendered 1 of 2 sessions into out", r.err)
        self.assertEqual(sorted(os.listdir(self.path("out"))), ["good.md"], r)
        with open(self.path("out/good.md"), encoding="utf-8") as f:
            self.assertEqual(f.read(), self.good_note)
        return r

    def write_batch(self, name, bad_line):
        """A JSONL batch: a good session, `bad_line` (bytes, no newline),
        another good session."""
        with open(self.path(name), "wb") as f:
            f.write(json.dumps(session(1)).encode() + b"\n")
            f.write(bad_line + b"\n")
            f.write(json.dumps(session(2)).encode() + b"\n")

    def assertBatchBesideGood(self, name, fragment, col=None, timeout=60):
        """The batch `name` renders its lines 1 and 3 to standard output as
        a batch of those two alone does, and reports line 2."""
        self.write("pair.jsonl", jsonl([session(1), session(2)]))
        pair = self.rapport("render", "pair.jsonl")
        self.assertEqual(pair.code, 0, pair)
        r = self.run_untouched("render", name, timeout=timeout)
        problems = self.assertOnlyProblemsOf(r, name, fragment)
        self.assertEqual(problems[0][1], 2, r)
        if col is not None:
            self.assertEqual(problems[0][2], col, r)
        self.assertEqual(r.out, pair.out, "lines 1 and 3 render as they do alone")
        self.assertIn("rapport: rendered 2 of 3 sessions into standard output", r.err)
        return r

    def mount_tmpfs(self, name, options):
        """Mounts a tmpfs at `name` (made here), or skips the test saying why."""
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs (CI runs as root)")
        os.makedirs(self.path(name), exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", self.path(name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s"
                          % p.stdout.decode(errors="replace").strip())
        self.mounts.append(self.path(name))

    # --- inputs -------------------------------------------------------------

    def test_a_yaml_alias_bomb_is_refused_at_its_first_anchor(self):
        lines = ["type: soap", 'a0: &a0 ["%s", "lol", "lol", "lol", "lol", "lol", "lol", "lol", '
                 '"lol", "lol"]' % CANARY]
        for i in range(1, 10):
            lines.append("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)))
        self.write("bomb.yaml", "\n".join(lines) + "\n")
        self.assertBesideGood("bomb.yaml", "anchors (&name) are not supported", 2, 5)

    def test_an_alias_without_its_anchor_is_refused(self):
        self.write("alias.yaml", "type: soap\nsubjective: *laughs\n")
        self.assertBesideGood("alias.yaml", "invalid YAML", 2, 13)

    def test_yaml_nested_10000_deep(self):
        self.write("deep.yaml", "type: soap\nx: " + "[" * 10000 + "]" * 10000 + "\n")
        # At the 64th bracket (level 65: the top mapping is level 1), column 4 + 63.
        self.assertBesideGood("deep.yaml", "nesting deeper than 64 levels", 2, 4 + 63)

    def test_yaml_block_sequences_nested_10000_deep(self):
        self.write("deep.yaml", "type: soap\nx:\n" + "- " * 10000 + CANARY + "\n")
        self.assertBesideGood("deep.yaml", "nesting deeper than 64 levels", 3, 1 + 2 * 63)

    def test_a_json_session_nested_10000_deep(self):
        self.write("deep.json", '{"type": "soap", "x": ' + "[" * 10000 + "]" * 10000 + "}\n")
        # At the 64th bracket, which starts at column 23.
        self.assertBesideGood("deep.json", "nesting deeper than 64 levels", 1, 23 + 63)

    def test_a_jsonl_line_nested_10000_deep(self):
        self.write_batch("deep.jsonl",
                         b'{"type": "soap", "x": ' + b"[" * 10000 + b"]" * 10000 + b"}")
        self.assertBatchBesideGood("deep.jsonl", "nesting deeper than 64 levels", 23 + 63)

    def test_a_100_mb_line_in_a_batch(self):
        with open(self.path("big.jsonl"), "wb") as f:
            f.write(json.dumps(session(1)).encode() + b"\n")
            f.write(b'{"type": "soap", "subjective": "')
            chunk = CANARY.encode() * (MIB // len(CANARY))
            for _ in range(100 * MIB // len(chunk) + 1):
                f.write(chunk)
            f.write(b'"}\n')
            f.write(json.dumps(session(2)).encode() + b"\n")
        try:
            self.assertBatchBesideGood("big.jsonl", "line longer than 64 MiB", 1, timeout=120)
        finally:
            os.unlink(self.path("big.jsonl"))

    def test_a_100_mb_session_file(self):
        for name in ("big.yaml", "big.json"):
            with open(self.path(name), "wb") as f:
                f.write(b'{"type": "soap", "subjective": "')
                chunk = CANARY.encode() * (MIB // len(CANARY))
                for _ in range(100 * MIB // len(chunk) + 1):
                    f.write(chunk)
                f.write(b'"}\n')
            try:
                with self.subTest(name):
                    self.assertBesideGood(name, "64 MiB", timeout=120)
            finally:
                os.unlink(self.path(name))
                shutil.rmtree(self.path("out"), ignore_errors=True)

    def test_a_session_too_large_for_the_plugins_memory(self):
        # 20 MiB passes the file cap (64 MiB) but not the Lua state's (16
        # MiB): once the copy into Lua ran out of memory outside every
        # protected call and ended the process before good.yaml rendered.
        text = CANARY * (20 * MIB // len(CANARY))
        self.write("big.yaml", SOAP.replace("objective: Affect congruent, engaged throughout.",
                                            "objective: " + text))
        self.write("big.json", json.dumps(dict(session(1), objective=text)))
        for name in ("big.yaml", "big.json"):
            with self.subTest(name):
                self.assertBesideGood(name, "too large for the plugins' memory (16 MiB; "
                                      "RAPPORT_LUA_MEMORY_MIB raises it)", timeout=120)
                shutil.rmtree(self.path("out"), ignore_errors=True)
        # With more memory for the plugins it renders.
        r = self.rapport("render", "big.yaml", "-o", "big.md", env={"RAPPORT_LUA_MEMORY_MIB": "256"},
                         timeout=120)
        self.assertEqual(r.code, 0, r)
        self.assertGreater(os.path.getsize(self.path("big.md")), 20 * MIB)

    def test_a_repeated_line_of_free_text_is_never_echoed(self):
        # A misindented line of a client's words becomes a key; written
        # twice, it is a duplicate key, which the message once quoted.
        words = "Client disclosed %s by her uncle" % CANARY
        self.write("dup.yaml", SOAP + "%s: passive ideation\n%s: passive ideation\n"
                   % (words, words))
        self.write("dup.json", json.dumps(session(1))[:-1] + ', "%s": 1, "%s": 2}' % (words, words))
        for name, line in (("dup.yaml", SOAP.count("\n") + 2), ("dup.json", 1)):
            with self.subTest(name):
                self.assertBesideGood(name, "duplicate key: this key appears earlier in the same "
                                      "map", line=line)
                shutil.rmtree(self.path("out"), ignore_errors=True)

    def test_invalid_utf8(self):
        self.write("utf8.yaml", SOAP.replace("sleeping better", "sleeping b\udce9tter")
                   .encode("utf-8", "surrogateescape"))
        line = SOAP[:SOAP.index("sleeping better")].count("\n") + 1
        self.assertBesideGood("utf8.yaml", "invalid UTF-8", line, 28)
        shutil.rmtree(self.path("out"))
        self.write("utf8.json", json.dumps(session(1)).replace("Section", "S\udce9ction", 1)
                   .encode("utf-8", "surrogateescape"))
        self.assertBesideGood("utf8.json", "invalid UTF-8", 1)
        self.write_batch("utf8.jsonl", json.dumps(session(3)).replace("Section", "S\udce9ction", 1)
                         .encode("utf-8", "surrogateescape"))
        self.assertBatchBesideGood("utf8.jsonl", "invalid UTF-8")

    def test_nul_bytes(self):
        self.write("nul.yaml", SOAP.replace("sleeping better", "sleeping\0better"))
        self.assertBesideGood("nul.yaml", "control characters are not allowed")
        shutil.rmtree(self.path("out"))
        self.write("nul.json", json.dumps(session(1)).replace("Section", "Sec\0tion", 1))
        self.assertBesideGood("nul.json", "invalid")
        self.write_batch("nul.jsonl", json.dumps(session(3)).replace("Section", "Sec\0tion", 1)
                         .encode())
        self.assertBatchBesideGood("nul.jsonl", "invalid")
        escaped = json.dumps(session(3)).replace("Section", "Sec\\u0000tion", 1)
        self.write_batch("escaped.jsonl", escaped.encode())
        self.assertBatchBesideGood("escaped.jsonl", "NUL")

    def test_a_binary_file(self):
        # What a PNG starts with, then bytes of every value.
        self.write("photo.yaml", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4)
        self.assertBesideGood("photo.yaml", "invalid YAML", 1)

    def test_a_session_that_is_a_folder(self):
        os.mkdir(self.path("folder.yaml"))
        self.assertBesideGood("folder.yaml", "is a folder")
        shutil.rmtree(self.path("out"))
        os.mkdir(self.path("folder.json"))
        self.assertBesideGood("folder.json", "is a folder, not a file")

    def test_a_fifo_does_not_block(self):
        # Nothing ever writes to these FIFOs: opening one for reading in the
        # ordinary way waits for a writer forever. One run for all three, so
        # that a hang costs one timeout. A FIFO may be refused, or read
        # without waiting for a writer: then the sessions are empty, which
        # is a problem, and the batch is empty, which is not.
        names = ["fifo.yaml", "fifo.json", "fifo.jsonl"]
        for name in names:
            os.mkfifo(self.path(name))
        r = self.run_untouched("render", *names, "good.yaml", "--out-dir", "out", out_dir="out",
                               timeout=FIFO_TIMEOUT)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        for text in lines_of(r.err):
            self.assertRegex(text, r"^(fifo\.\w+(:\d+:\d+)?: error: |rapport: rendered )", r)
        for name in names[:2]:
            self.assertRegex(r.err, r"(?m)^%s(:\d+:\d+)?: error: " % name.replace(".", r"\."))
        self.assertEqual(os.listdir(self.path("out")), ["good.md"])
        with open(self.path("out/good.md"), encoding="utf-8") as f:
            self.assertEqual(f.read(), self.good_note)

    def test_a_symbolic_link_loop(self):
        os.symlink("loop.yaml", self.path("loop.yaml"))
        self.assertBesideGood("loop.yaml", "Too many levels of symbolic links")
        shutil.rmtree(self.path("out"))
        os.symlink("b.jsonl", self.path("a.jsonl"))
        os.symlink("a.jsonl", self.path("b.jsonl"))
        r = self.run_untouched("render", "a.jsonl", "good.yaml", "--out-dir", "out",
                               out_dir="out")
        self.assertOnlyProblemsOf(r, "a.jsonl", "Too many levels of symbolic links")
        self.assertEqual(os.listdir(self.path("out")), ["good.md"])

    # --- outputs ------------------------------------------------------------

    def test_a_full_disk(self):
        self.mount_tmpfs("full", "size=64k")
        self.write("other.yaml", SOAP.replace("C-1042", "C-2"))
        self.write("full/good.md", "the last good note\n")
        self.write("day.jsonl", jsonl([session(1), session(2)]))
        # Fill what is left.
        fd = os.open(self.path("full/filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        before = os.listdir(self.path("full"))

        r = self.run_untouched("render", "good.yaml", "other.yaml", "--out-dir", "full")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        for name in ("full/good.md", "full/other.md"):
            self.assertIn("%s: error: cannot write: No space left on device" % name, r.err)
        self.assertIn("rapport: rendered 0 of 2 sessions into full", r.err)

        r = self.run_untouched("render", "day.jsonl", "-o", "full/day.md")
        self.assertEqual(r.code, 1, r)
        self.assertIn("full/day.md: error: cannot write: No space left on device", r.err)

        self.assertEqual(sorted(os.listdir(self.path("full"))), sorted(before),
                         "no temporary or partial file is left")
        with open(self.path("full/good.md"), encoding="utf-8") as f:
            self.assertEqual(f.read(), "the last good note\n")

    def read_only_folder(self, name):
        """A folder holding an old note, that cannot be written to: a
        tmpfs remounted read-only as root (where modes do not apply), mode
        0500 otherwise."""
        if os.geteuid() == 0:
            self.mount_tmpfs(name, "size=1m")
            self.write(name + "/good.md", "the last good note\n")
            p = subprocess.run(["mount", "-o", "remount,ro", self.path(name)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
            if p.returncode != 0:
                self.skipTest("cannot remount a tmpfs read-only: %s"
                              % p.stdout.decode(errors="replace").strip())
            return "Read-only file system"
        self.write(name + "/good.md", "the last good note\n")
        os.chmod(self.path(name), 0o500)
        return "Permission denied"

    def test_a_read_only_output_folder(self):
        reason = self.read_only_folder("ro")
        self.write("other.yaml", SOAP.replace("C-1042", "C-2"))
        self.write("day.jsonl", jsonl([session(1), session(2)]))
        r = self.run_untouched("render", "good.yaml", "other.yaml", "--out-dir", "ro")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        for name in ("ro/good.md", "ro/other.md"):
            self.assertIn("%s: error: cannot write: %s" % (name, reason), r.err)
        r = self.run_untouched("render", "day.jsonl", "--out-dir", "ro")
        self.assertEqual(r.code, 1, r)
        self.assertIn("ro/day-1.md: error: cannot write: %s" % reason, r.err)
        r = self.run_untouched("render", "day.jsonl", "-o", "ro/day.md")
        self.assertEqual(r.code, 1, r)
        self.assertIn("ro/day.md: error: cannot write: %s" % reason, r.err)
        self.assertEqual(os.listdir(self.path("ro")), ["good.md"])

    def test_an_output_path_that_is_a_folder(self):
        os.mkdir(self.path("notes"))
        self.write("day.jsonl", jsonl([session(1)]))
        for args, target in ((["good.yaml", "-o", "notes"], "notes"),
                             (["good.yaml", "-o", "notes/"], "notes/"),
                             (["day.jsonl", "-o", "notes"], "notes")):
            with self.subTest(args=args):
                r = self.run_untouched("render", *args)
                self.assertEqual(r.code, 1, r)
                self.assertEqual(r.out, "", r)
                self.assertIn("%s: error: cannot write: Is a directory" % target, r.err)
                self.assertEqual(os.listdir(self.path("notes")), [])

    def test_an_output_folder_that_is_a_file(self):
        self.write("notes", "not a folder\n")
        r = self.run_untouched("render", "good.yaml", "--out-dir", "notes")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        self.assertRegex(r.err, r"(?m)^notes: error: ")

    def test_a_fifo_as_the_output(self):
        os.mkfifo(self.path("note.md"))
        r = self.run_untouched("render", "good.yaml", "-o", "note.md", timeout=FIFO_TIMEOUT)
        self.assertEqual(r.code, 1, r)
        self.assertIn("note.md: error: cannot write: not a regular file", r.err)

    def test_the_input_under_another_name_is_never_written(self):
        os.symlink("good.yaml", self.path("link.yaml"))
        os.link(self.path("good.yaml"), self.path("hard.yaml"))
        self.write("s.md", SOAP)
        self.write("day.jsonl", jsonl([session(1)]))
        os.symlink("day.jsonl", self.path("day-link.jsonl"))
        for args, target in ((["good.yaml", "-o", "link.yaml"], "link.yaml"),
                             (["good.yaml", "-o", "hard.yaml"], "hard.yaml"),
                             (["good.yaml", "-o", "./good.yaml"], "./good.yaml"),
                             # The note of s.md in this folder is s.md itself.
                             (["s.md", "--out-dir", "."], "./s.md"),
                             (["day.jsonl", "-o", "day-link.jsonl"], "day-link.jsonl")):
            with self.subTest(args=args):
                r = self.run_untouched("render", *args)
                self.assertEqual(r.code, 1, r)
                self.assertEqual(r.out, "", r)
                self.assertIn("%s: error: not written: it is the session file itself" % target,
                              r.err)

    # --- outputs that are inputs --------------------------------------------

    def clinic(self):
        """The example clinic's plugins/ and templates/ here, and a record."""
        for d in ("plugins", "templates"):
            shutil.copytree(os.path.join(ROOT, "examples", "clinic", d), self.path(d))
        self.write("record.db", b"SQLite format 3\x00" + b"\x00" * 84)
        self.write("record.checkpoint", "1 0000\n")

    def assertRefused(self, args, target, what, out_dir=None, stdin=None, env=None):
        """rapport render ARGS changes no file (but in out_dir), exits 1 with
        nothing on stdout, and says `TARGET: error: not written: it is WHAT`."""
        skip = (out_dir,) if out_dir else ()
        before = self.snapshot(skip)
        r = self.rapport("render", *args, stdin=stdin, env=env)
        self.assertEqual(self.snapshot(skip), before, "files other than the notes changed\n%r" % r)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        self.assertIn("%s: error: not written: it is %s\n" % (target, what), r.err)
        return r

    def test_a_note_never_replaces_another_clients_session(self):
        # Client A's note would be b/x.json, which is client B's session.
        self.write("a/x.json", json.dumps(session(1)))
        self.write("b/x.json", json.dumps(session(2)))
        with open(self.path("b/x.json"), "rb") as f:
            b_before = f.read()
        r = self.assertRefused(["--format", "json", "--out-dir", "b", "a/x.json", "b/x.json"],
                               "b/x.json", "a session file of this run")
        with open(self.path("b/x.json"), "rb") as f:
            self.assertEqual(f.read(), b_before)
        self.assertIn("rapport: rendered 0 of 2 sessions into b", r.err)
        self.assertNotIn("K1.", r.err + r.out)

    def test_a_note_never_replaces_a_plugin_template_or_the_record(self):
        self.clinic()
        self.write("day.jsonl", jsonl([session(1)]))
        for args, target, what in (
                (["good.yaml", "-o", "plugins/clinic.lua"], "plugins/clinic.lua",
                 "a plugin's file"),
                (["good.yaml", "-o", "./plugins/clinic.lua"], "./plugins/clinic.lua",
                 "a plugin's file"),
                (["good.yaml", "-o", "templates/dap.md.mustache"], "templates/dap.md.mustache",
                 "a template"),
                (["good.yaml", "--format", "html", "-o", "record.db"], "record.db", "the record"),
                (["good.yaml", "-o", "record.checkpoint"], "record.checkpoint",
                 "the record's checkpoint"),
                # A batch into one file over a plugin.
                (["day.jsonl", "-o", "plugins/clinic.lua"], "plugins/clinic.lua",
                 "a plugin's file")):
            with self.subTest(args=args):
                self.assertRefused(args, target, what)

    def test_the_record_named_by_rapport_record(self):
        self.clinic()
        self.write("practice.db", b"SQLite format 3\x00")
        self.assertRefused(["good.yaml", "-o", "practice.db"], "practice.db", "the record",
                           env={"RAPPORT_RECORD": "practice.db"})

    def test_a_note_from_standard_input_never_replaces_its_session(self):
        self.write("s.yaml", SOAP)
        with open(self.path("s.yaml"), "rb") as stdin:
            before = self.snapshot()
            proc = subprocess.run(wrapper() + [binary(), "render", "-", "-o", "s.yaml"], cwd=self.dir,
                                  stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=60, check=False)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(proc.returncode, 1, proc)
        self.assertIn(b"s.yaml: error: not written: it is the session read from standard input\n",
                      proc.stderr)
        with open(self.path("s.yaml"), encoding="utf-8") as f:
            self.assertEqual(f.read(), SOAP)

    def test_a_link_to_an_input_as_the_output(self):
        self.clinic()
        self.write("other.yaml", SOAP.replace("J.D.", "K.L."))
        os.symlink("plugins/clinic.lua", self.path("plugin-link.md"))
        os.link(self.path("plugins/clinic.lua"), self.path("plugin-hard.md"))
        os.symlink("templates/dap.md.mustache", self.path("template-link.md"))
        os.link(self.path("templates/dap.md.mustache"), self.path("template-hard.md"))
        os.symlink("record.db", self.path("record-link.md"))
        for args, target, what in (
                (["good.yaml", "-o", "plugin-link.md"], "plugin-link.md", "a plugin's file"),
                (["good.yaml", "-o", "plugin-hard.md"], "plugin-hard.md", "a plugin's file"),
                (["good.yaml", "-o", "template-link.md"], "template-link.md", "a template"),
                (["good.yaml", "-o", "template-hard.md"], "template-hard.md", "a template"),
                (["good.yaml", "-o", "record-link.md"], "record-link.md", "the record")):
            with self.subTest(args=args):
                self.assertRefused(args, target, what)
        # In an output folder, the note of one session is a link to the
        # other session of the run: neither is written.
        os.mkdir(self.path("out"))
        os.symlink("../other.yaml", self.path("out/good.md"))
        os.link(self.path("good.yaml"), self.path("out/other.md"))
        r = self.assertRefused(["good.yaml", "other.yaml", "--out-dir", "out"], "out/good.md",
                               "a session file of this run")
        self.assertIn("out/other.md: error: not written: it is a session file of this run\n",
                      r.err)
        self.assertIn("rapport: rendered 0 of 2 sessions into out", r.err)

    def test_an_output_folder_holding_plugins_or_templates(self):
        # A note whose name is a file of the plugin or template folders (a
        # plugin folder's README, a template folder's notes).
        self.clinic()
        self.write("plugins/codes/init.lua", "-- codes\n")
        self.write("plugins/codes/README.md", "What the codes plugin does.\n")
        self.write("templates/README.md", "Our layouts.\n")
        self.write("sessions/README.yaml", SOAP)
        for args, target, what in (
                (["sessions/README.yaml", "good.yaml", "--out-dir", "plugins/codes"],
                 "plugins/codes/README.md", "a plugin's file"),
                (["sessions/README.yaml", "good.yaml", "--out-dir", "templates"],
                 "templates/README.md", "a template")):
            with self.subTest(args=args):
                out = args[-1]
                before = self.snapshot((out + "/good.md",))
                r = self.rapport("render", *args)
                self.assertEqual(self.snapshot((out + "/good.md",)), before)
                self.assertEqual(r.code, 1, r)
                self.assertIn("%s: error: not written: it is %s\n" % (target, what), r.err)
                self.assertIn("rapport: rendered 1 of 2 sessions into %s" % out, r.err)
                with open(self.path(out + "/good.md"), encoding="utf-8") as f:
                    self.assertEqual(f.read(), self.good_note)
                os.unlink(self.path(out + "/good.md"))

    def test_a_note_never_replaces_a_session_of_the_workspace(self):
        # Not a session of this run, but one of the workspace's sessions/:
        # still an input of the workspace, never a note's place.
        self.write("sessions/mk-03.yaml", SOAP.replace("J.D.", "M.K."))
        self.write("sessions/rb-12.json", json.dumps(session(4)))
        self.write("elsewhere/rb-12.json", json.dumps(session(5)))
        self.assertRefused(["good.yaml", "-o", "sessions/mk-03.yaml"], "sessions/mk-03.yaml",
                           "a session file of the workspace")
        self.assertRefused(["elsewhere/rb-12.json", "--format", "json", "--out-dir", "sessions"],
                           "sessions/rb-12.json", "a session file of the workspace")

    def test_two_sessions_of_the_same_name_into_one_folder(self):
        self.write("a/jd.yaml", SOAP)
        self.write("b/jd.yaml", SOAP.replace("J.D.", "Q.Z."))
        r = self.run_untouched("render", "a/jd.yaml", "b/jd.yaml", "--out-dir", "out",
                               out_dir="out")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        problems = self.problems(r)
        lines = [l for l in lines_of(r.err) if ": error: " in l]
        self.assertEqual(len(lines), 1, r)
        self.assertTrue(lines[0].startswith("b/jd.yaml: error: not written: "), r)
        self.assertIn("out/jd.md", lines[0])
        self.assertIn("a/jd.yaml", lines[0])
        self.assertEqual(problems, [], "no line:col for a problem of the whole file")
        self.assertIn("rapport: rendered 1 of 2 sessions into out\n", r.err)
        self.assertEqual(os.listdir(self.path("out")), ["jd.md"])
        with open(self.path("out/jd.md"), encoding="utf-8") as f:
            self.assertEqual(f.read(), self.good_note)


if __name__ == "__main__":
    unittest.main(verbosity=2)
