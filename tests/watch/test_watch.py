"""`rapport watch` driven through real file edits.

Each test starts the real binary on a workspace of its own, edits files the
way editors and tools do (save in place, by rename, JetBrains' safe write,
emacs' backup by rename, sed -i, cp, mv, git checkout, ...) and checks, after
each step, the notes in out/ and the lines the watch prints on standard
error: one rebuild line per burst, problems as PATH:LINE:COL: error: MESSAGE,
the last good note kept while a file is broken.

Reliability on a busy machine: nothing is asserted after a fixed sleep
(the idle-CPU checks measure over a 1 s window, and a few tests pace their
writes). A test waits (with a generous timeout) for the note or log line it
expects, and counts the rebuilds of a step with a barrier: it then changes
a session of its own (0bar/b.yaml, whose name sorts before every other
path) and waits for that note; the rebuild lines printed before the
barrier's are the step's. The barrier's own rebuild must render the barrier
alone, so a late rebuild of the step cannot hide in it.

Workspaces are made next to the binary (the build folder), not in /tmp, so
that editors behave as they do in a home folder (vim writes in place under
/tmp). The binary is $RAPPORT (CTest sets it), else build/rapport. Python
standard library only.
"""

import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLINIC = os.path.join(ROOT, "examples", "clinic")

SANITIZED = os.environ.get("RAPPORT_SANITIZED", "") in ("1", "ON", "on", "true")
# How long to wait (seconds) for something that should happen in milliseconds.
TIMEOUT = 30.0 if SANITIZED else 10.0
POLL = 0.015

REBUILD = re.compile(
    r"^rapport: \d\d:\d\d:\d\d (?P<what>.*): rendered (?P<rendered>\d+) notes? "
    r"\((?P<written>\d+) written\)"
    r"(?:, (?P<problems>\d+) with problems \(their last good notes are kept\))?"
    r"(?:, removed (?P<removed>\d+))?"
    r"(?P<plugins>; plugins have problems: the last good ones stay in use)?"
    r" in \d+(?:\.\d+)? ms$")
PROBLEM = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$")
TEMP = re.compile(r"^\..*\.tmp-")

BARRIER = "0bar/b.yaml"


def binary():
    path = os.environ.get("RAPPORT") or os.path.join(ROOT, "build", "rapport")
    if not os.access(path, os.X_OK):
        raise RuntimeError("no rapport binary at %r: build it, or set RAPPORT" % path)
    return os.path.abspath(path)


def scratch_base():
    """Where workspaces go: next to the binary, or the home folder."""
    for base in (os.path.join(os.path.dirname(binary()), "watch-scratch"),
                 os.path.join(os.path.expanduser("~"), ".cache", "rapport-watch-scratch")):
        try:
            os.makedirs(base, exist_ok=True)
            return base
        except OSError:
            continue
    return None


class Rebuild:
    def __init__(self, line):
        m = REBUILD.match(line)
        self.line = line
        self.what = m.group("what")
        self.rendered = int(m.group("rendered"))
        self.written = int(m.group("written"))
        self.problems = int(m.group("problems") or 0)
        self.removed = int(m.group("removed") or 0)
        self.plugins_bad = bool(m.group("plugins"))

    def counts(self):
        return (self.rendered, self.written, self.problems, self.removed, self.plugins_bad)

    def __repr__(self):
        return repr(self.line)


def html_unescape(text):
    return html.unescape(text)


def rebuild_of(line):
    return Rebuild(line) if REBUILD.match(line) else None


def soap(subjective, initials="J.D.", plan="Continue cognitive restructuring."):
    """A valid SOAP session; the subjective text is last, so that the first
    part of the file is a valid session too (a half-written file would give
    a note, a wrong one)."""
    return ("type: soap\n"
            "client: { id: C-1042, initials: %s }\n"
            "session: { date: 2026-12-01, number: 8, minutes: 50 }\n"
            "clinician: { name: Dana Whitfield }\n"
            "objective: Engaged and reflective.\n"
            "assessment: Good progress on goal 1.\n"
            "plan: %s\n"
            "risk: { level: none }\n"
            "subjective: %s\n" % (initials, plan, subjective)).encode()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# --- how editors and tools save a file ---------------------------------------------------

def save_in_place(path, data):
    with open(path, "wb") as f:
        f.write(data)


def save_by_rename(path, data, tmpname=None):
    """Writes a temporary file beside it and renames it over (hidden unless
    tmpname says otherwise)."""
    d, name = os.path.split(path)
    tmp = os.path.join(d, tmpname or ".%s.tmp%d" % (name, os.getpid()))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def save_vim(path, data):
    """vim's default outside /tmp (writebackup, backupcopy=auto): it checks
    it can create files (4913), keeps a swap file, renames the file to a
    backup, writes a new file, deletes the backup."""
    d, name = os.path.split(path)
    swap = os.path.join(d, "." + name + ".swp")
    write(swap, b"b0VIM 9.0\x00" + b"\x00" * 200)
    probe = os.path.join(d, "4913")
    open(probe, "wb").close()
    os.unlink(probe)
    backup = path + "~"
    os.rename(path, backup)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.unlink(backup)
    os.unlink(swap)


def save_jetbrains(path, data):
    """JetBrains' safe write."""
    tmp, old = path + "___jb_tmp___", path + "___jb_old___"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(path, old)
    os.rename(tmp, path)
    os.unlink(old)


def save_emacs(path, data):
    """emacs: while editing, a lock symlink .#NAME and an autosave file
    #NAME#; saving renames NAME to NAME~ (which stays) and writes a new NAME;
    then the lock and the autosave go."""
    d, name = os.path.split(path)
    lock = os.path.join(d, ".#" + name)
    os.symlink("dana@host.4242:1764000000", lock)
    autosave = os.path.join(d, "#" + name + "#")
    write(autosave, data)
    os.rename(path, path + "~")
    with open(path, "wb") as f:
        f.write(data)
    os.unlink(autosave)
    os.unlink(lock)


SAVES = {"in place": save_in_place, "by rename": save_by_rename, "vim": save_vim,
         "jetbrains": save_jetbrains, "emacs": save_emacs}


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


class Watch:
    """A running `rapport watch`; its standard error read line by line."""

    def __init__(self, ws, args):
        self.proc = subprocess.Popen([binary(), "-C", ws, "watch"] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.proc.stderr.readline, b""):
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def mark(self):
        with self.lock:
            return len(self.lines)

    def log(self):
        return "\n".join(self.snapshot())

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("rapport watch did not stop on signal %d\n%s" % (sig, self.log()))
        self.reader.join(TIMEOUT)
        self.proc.stderr.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(TIMEOUT)
        if not self.proc.stderr.closed:
            self.proc.stderr.close()


class Poller(threading.Thread):
    """Reads one file over and over, keeping each distinct content seen
    (None: the file was missing)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.seen = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            c = read(self.path)
            if not self.seen or self.seen[-1] != c:
                self.seen.append(c)
            time.sleep(0.002)

    def __enter__(self):
        self.start()
        while not self.seen:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()


class WatchCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.base = scratch_base()
        self.ws = tempfile.mkdtemp(prefix="ws-", dir=self.base)
        self.refdir = tempfile.mkdtemp(prefix="ref-", dir=self.base)
        for d in ("sessions", "plugins", "templates"):
            shutil.copytree(os.path.join(CLINIC, d), self.p(d))
        self.k = 0
        write(self.p(BARRIER), soap("Barrier.", plan="barrier 0"))
        self.w = None
        self.bar_note = "out/b.md"
        self.nref = 0

    def tearDown(self):
        if self.w:
            self.w.kill()
        shutil.rmtree(self.ws, ignore_errors=True)
        shutil.rmtree(self.refdir, ignore_errors=True)
        try:
            os.rmdir(self.base)
        except OSError:
            pass

    # --- files -------------------------------------------------------------------------

    def p(self, rel):
        return os.path.join(self.ws, rel)

    def read(self, rel):
        return read(self.p(rel))

    def write(self, rel, data):
        write(self.p(rel), data)

    def write_atomic(self, rel, data):
        path = self.p(rel)
        tmp = os.path.join(os.path.dirname(path), ".%s.tmp" % os.path.basename(path))
        write(tmp, data)
        os.rename(tmp, path)

    def out_files(self, out="out"):
        found = []
        for d, _, files in os.walk(self.p(out)):
            for f in files:
                found.append(os.path.relpath(os.path.join(d, f), self.p(out)))
        return sorted(found)

    def assert_no_temp(self, out="out"):
        temps = [f for f in self.out_files(out) if TEMP.match(os.path.basename(f))]
        self.assertEqual(temps, [], "temporary files left in %s" % out)

    def mtimes(self):
        return {f: os.stat(self.p("out/" + f)).st_mtime_ns for f in self.out_files()}

    def changed_since(self, before):
        now = self.mtimes()
        return sorted(f for f in now if now[f] != before.get(f))

    def assert_modes(self, out="out"):
        """Every note in the output folder is the owner's alone (0600)."""
        for f in self.out_files(out):
            mode = os.lstat(os.path.join(self.p(out), f)).st_mode & 0o777
            self.assertEqual(mode, 0o600, "%s/%s has mode %o" % (out, f, mode))

    def assert_notes(self, names, out="out"):
        """The output folder holds exactly these notes (and the barrier's)."""
        expected = sorted(set(names) | {os.path.relpath(self.bar_note, out)})
        self.assertEqual(self.out_files(out), expected, self.w.log() if self.w else "")

    def render(self, content=None, rel=None):
        """The note `rapport render` makes of content (or of a session file),
        in this workspace: what the watch must write."""
        if content is not None:
            self.nref += 1
            path = os.path.join(self.refdir, "r%d.yaml" % self.nref)
            write(path, content)
        else:
            path = rel
        r = subprocess.run([binary(), "-C", self.ws, "render", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout

    # --- the watch ----------------------------------------------------------------------

    def start(self, *args, roots=("sessions", "0bar")):
        self.w = Watch(self.ws, list(roots) + list(args))
        self.wait_for(lambda: any(l.startswith("rapport: watching ") for l in self.w.snapshot()),
                      "the watch to start")
        return self.w

    def wait_for(self, cond, what, timeout=None):
        deadline = time.monotonic() + (timeout or TIMEOUT)
        while True:
            v = cond()
            if v:
                return v
            if self.w and self.w.proc.poll() is not None:
                self.fail("rapport watch exited (%s) while waiting for %s\n%s"
                          % (self.w.proc.returncode, what, self.w.log()))
            if time.monotonic() > deadline:
                self.fail("timed out waiting for %s\n--- log\n%s"
                          % (what, self.w.log() if self.w else ""))
            time.sleep(POLL)

    def wait_note(self, rel, content, what=None):
        self.wait_for(lambda: self.read(rel) == content, what or "%s to be the expected note" % rel)

    def wait_gone(self, rel):
        self.wait_for(lambda: not os.path.exists(self.p(rel)), "%s to be removed" % rel)

    def settle(self, m):
        """Barrier: returns the rebuild lines and the problem lines logged
        since mark m, up to the barrier's own rebuild."""
        self.k += 1
        tag = ("barrier %d" % self.k).encode()
        # A rebuild after a full rescan says "files changed": only one that
        # starts after the barrier is written can be the barrier's (a test
        # whose step rescans everything waits for the step's line first).
        mb = self.w.mark()
        self.write_atomic(BARRIER, soap("Barrier.", plan=tag.decode()))
        self.wait_for(lambda: tag in (self.read(self.bar_note) or b""), "the barrier note")

        def find():
            lines = self.w.snapshot()
            for i in range(mb, len(lines)):
                r = rebuild_of(lines[i])
                if r and (r.what.startswith(BARRIER) or r.what == "files changed"):
                    return i, lines
            return None
        i, lines = self.wait_for(find, "the barrier's rebuild line")
        bar = Rebuild(lines[i])
        self.assertEqual(bar.counts(), (1, 1, 0, 0, False),
                         "the barrier's rebuild did more than the barrier\n" + "\n".join(lines))
        section = lines[m:i]
        return ([Rebuild(l) for l in section if REBUILD.match(l)],
                [l for l in section if ": error: " in l])

    def wait_rebuilds(self, m, cond, what):
        """Waits until the rebuild lines logged since mark m satisfy cond."""
        return self.wait_for(
            lambda: cond([Rebuild(l) for l in self.w.snapshot()[m:] if REBUILD.match(l)]), what)

    def settle_problem(self, m):
        """settle(), once a rebuild since mark m has reported a problem (a
        step whose note does not change)."""
        self.wait_rebuilds(m, lambda rs: any(r.problems or r.plugins_bad for r in rs),
                           "a rebuild with problems")
        return self.settle(m)

    def expect_one(self, m, counts, errors=()):
        """The step since mark m made exactly one rebuild line with these
        (rendered, written, problems, removed, plugins_bad) and these
        problem lines (regexes, in order)."""
        # The step's line first: the barrier is written once its rebuild
        # has ended (a rebuild that renders every note reads each session
        # when it renders it, and would take a barrier written meanwhile).
        self.wait_rebuilds(m, lambda rs: rs, "a rebuild line")
        lines, errs = self.settle(m)
        log = self.w.log()
        self.assertEqual(len(lines), 1, "expected one rebuild line\n" + log)
        self.assertEqual(lines[0].counts(), counts, log)
        self.assertEqual(len(errs), len(errors), "problem lines\n" + log)
        for line, pattern in zip(errs, errors):
            self.assertRegex(line, pattern)
        return lines[0]

    def expect_none(self, m):
        lines, errs = self.settle(m)
        self.assertEqual((lines, errs), ([], []), "expected no rebuild and no problem\n"
                         + self.w.log())


CLINIC_NOTES = ["al-01.md", "jd-07.md", "mk-03.md", "rb-12.md"]


class SavePatterns(WatchCase):
    """Editors' and tools' ways of saving a session: the note goes from the
    old complete note to the new one, never through anything else, in one
    rebuild."""

    SESSION = "sessions/jd-07.yaml"
    NOTE = "out/jd-07.md"

    def setUp(self):
        super().setUp()
        self.write(self.SESSION, soap("Version one. " + "word " * 60 + "end."))
        self.start()
        self.old = self.render(rel=self.p(self.SESSION))
        self.wait_note(self.NOTE, self.old)
        self.new_content = soap("Version two. " + "word " * 60 + "end.")
        self.new = self.render(self.new_content)

    def check_save(self, save, session=None, note=None, allow_missing=False,
                   allow_problems=False, counts=(1, 1, 0, 0, False), notes=CLINIC_NOTES):
        session = session or self.SESSION
        note = note or self.NOTE
        old = self.read(note)
        m = self.w.mark()
        with Poller(self.p(note)) as poller:
            save(self.p(session), self.new_content)
            self.wait_note(note, self.new)
            self.wait_rebuilds(m, lambda rs: rs, "a rebuild line")
            lines, errs = self.settle(m)
        allowed = [old, self.new] + ([None] if allow_missing else [])
        for c in poller.seen:
            self.assertTrue(any(c == a for a in allowed),
                            "a note that is neither the old nor the new one appeared:\n%r"
                            % (c[:400] if c else c))
        log = self.w.log()
        if not allow_problems:
            self.assertEqual(errs, [], log)
            self.assertEqual(len(lines), 1, "expected one rebuild line\n" + log)
            self.assertEqual(lines[0].counts(), counts, log)
        self.assertEqual(self.read(note), self.new)
        self.assert_notes(notes)
        self.assert_no_temp()
        self.assertEqual(os.stat(self.p(note)).st_mode & 0o777, 0o600)
        return lines, errs

    def test_in_place(self):
        self.check_save(save_in_place)

    def test_in_place_truncate_pause_write(self):
        # One writer: the file is empty for 100 ms, open for writing.
        def save(path, data):
            with open(path, "wb", buffering=0) as f:
                time.sleep(0.1)
                f.write(data)
        self.check_save(save)

    def test_in_place_half_written(self):
        # One writer: the first half (a valid session on its own, with a cut
        # subjective) stays 100 ms before the rest.
        half = self.new_content[:len(self.new_content) * 2 // 3]
        self.assertNotEqual(self.render(half), self.new)  # it would be a wrong note

        def save(path, data):
            with open(path, "wb", buffering=0) as f:
                f.write(half)
                time.sleep(0.1)
                f.write(data[len(half):])
        self.check_save(save)

    def test_truncate_close_pause_write(self):
        # `: > f; sleep 0.1; cat new > f`: the empty file is a finished
        # write, so it is reported; the last good note stays meanwhile.
        def save(path, data):
            open(path, "wb").close()
            time.sleep(0.1)
            with open(path, "wb") as f:
                f.write(data)
        lines, errs = self.check_save(save, allow_problems=True)
        self.assertLessEqual(len(lines), 2, self.w.log())
        for e in errs:
            self.assertRegex(e, r"^sessions/jd-07\.yaml:\d+:\d+: error: ")

    def test_temp_file_renamed_over(self):
        for tmpname in (".jd-07.yaml.tmp1234", "jd-07.yaml.tmp", "jd-07.yaml.new"):
            with self.subTest(tmpname=tmpname):
                self.check_save(lambda path, data: save_by_rename(path, data, tmpname))
                self.swap_versions()

    def swap_versions(self):
        """The next save goes back to the other version."""
        cur = self.read(self.SESSION)
        self.new_content = soap("Version one. " + "word " * 60 + "end.") \
            if b"Version two" in cur else soap("Version two. " + "word " * 60 + "end.")
        self.new = self.render(self.new_content)

    def test_vim_pattern(self):
        self.check_save(save_vim)

    @unittest.skipUnless(shutil.which("vim"), "vim is not installed")
    def test_vim_real(self):
        path = self.p(self.SESSION)
        ino = os.stat(path).st_ino
        m = self.w.mark()
        with Poller(self.p(self.NOTE)) as poller:
            r = subprocess.run(
                ["vim", "-es", "-N", "-u", "NONE", "-i", "NONE",
                 "-c", "set writebackup nobackup backupcopy=auto backupskip=",
                 "-c", "%s/Version one/Version two/", "-c", "wq", path],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.read(self.SESSION), self.new_content)
            self.assertNotEqual(os.stat(path).st_ino, ino, "vim did not save by rename")
            self.wait_note(self.NOTE, self.new)
            one = self.expect_one(m, (1, 1, 0, 0, False))
        for c in poller.seen:
            self.assertIn(c, (self.old, self.new))
        self.assertTrue(one.what.startswith("sessions/"), one)
        self.assert_notes(CLINIC_NOTES)
        self.assertEqual(os.listdir(self.p("sessions")).count(".jd-07.yaml.swp"), 0)

    def test_jetbrains_safe_write(self):
        self.check_save(save_jetbrains)

    def test_emacs_backup_by_rename(self):
        self.check_save(save_emacs)
        self.assertTrue(os.path.exists(self.p(self.SESSION + "~")))
        # The backup of a second save replaces the first.
        self.swap_versions()
        self.check_save(lambda path, data: (os.rename(path, path + "~"), write(path, data)))

    def test_sed_in_place(self):
        def save(path, data):
            subprocess.run(["sed", "-i", "s/Version one/Version two/", path], check=True)
            self.assertEqual(read(path), data)
        self.check_save(save)

    def test_cp_over(self):
        def save(path, data):
            src = os.path.join(self.refdir, "cp-src.yaml")
            write(src, data)
            subprocess.run(["cp", src, path], check=True)
        self.check_save(save)

    def test_mv_in_same_fs(self):
        staging = self.p("staging")
        os.mkdir(staging)

        def save(path, data):
            src = os.path.join(staging, os.path.basename(path))
            write(src, data)
            subprocess.run(["mv", src, path], check=True)
        # Over an existing session, then a new one.
        self.check_save(save)
        self.check_save(save, session="sessions/zz-new.yaml", note="out/zz-new.md",
                        allow_missing=True, notes=CLINIC_NOTES + ["zz-new.md"])

    def test_mv_in_other_fs(self):
        other = "/dev/shm"
        if not os.path.isdir(other) or os.stat(other).st_dev == os.stat(self.ws).st_dev:
            self.skipTest("/dev/shm is not another file system here")
        staging = tempfile.mkdtemp(prefix="rapport-watch-", dir=other)
        self.addCleanup(shutil.rmtree, staging, True)

        def save(path, data):
            src = os.path.join(staging, os.path.basename(path))
            write(src, data)
            subprocess.run(["mv", src, path], check=True)
        self.check_save(save)
        self.check_save(save, session="sessions/zz-new.yaml", note="out/zz-new.md",
                        allow_missing=True, notes=CLINIC_NOTES + ["zz-new.md"])

    def test_same_content_renders_nothing(self):
        path = self.p(self.SESSION)
        same = self.read(self.SESSION)
        before = os.stat(self.p(self.NOTE)).st_mtime_ns
        steps = [
            ("in place", lambda: write(path, same)),
            ("by rename", lambda: self.write_atomic(self.SESSION, same)),
            ("touch", lambda: os.utime(path)),
            ("jetbrains", lambda: (write(path + "___jb_tmp___", same),
                                   os.rename(path, path + "___jb_old___"),
                                   os.rename(path + "___jb_tmp___", path),
                                   os.unlink(path + "___jb_old___"))),
        ]
        for name, step in steps:
            with self.subTest(step=name):
                m = self.w.mark()
                step()
                self.expect_none(m)
        self.assertEqual(os.stat(self.p(self.NOTE)).st_mtime_ns, before)

    def test_swap_lock_backup_ignored(self):
        d = self.p("sessions")
        files = {
            ".jd-07.yaml.swp": b"b0VIM 9.0\x00\x00garbage: [",
            ".jd-07.yaml.swx": b"\x00\x01",
            "jd-07.yaml~": soap("An old backup."),
            "#jd-07.yaml#": soap("An autosave."),
            "4913": b"",
            "jd-07.yaml___jb_tmp___": b"type: [",
            ".zz.yaml": soap("A hidden session-looking file."),
        }
        m = self.w.mark()
        for name, data in files.items():
            write(os.path.join(d, name), data)
        os.symlink("dana@host.4242:1764000000", os.path.join(d, ".#jd-07.yaml"))
        self.expect_none(m)
        self.assert_notes(CLINIC_NOTES)
        m = self.w.mark()
        for name in list(files) + [".#jd-07.yaml"]:
            os.unlink(os.path.join(d, name))
        self.expect_none(m)
        self.assert_notes(CLINIC_NOTES)
        self.assertEqual(self.read(self.NOTE), self.old)


class Folders(WatchCase):
    """Sessions that come, go and move, with their folders."""

    def test_delete(self):
        self.start()
        self.wait_note("out/al-01.md", self.render(rel=self.p("sessions/al-01.yaml")))
        m = self.w.mark()
        os.unlink(self.p("sessions/al-01.yaml"))
        self.wait_gone("out/al-01.md")
        self.expect_one(m, (0, 0, 0, 1, False))
        self.assert_notes(["jd-07.md", "mk-03.md", "rb-12.md"])

    def test_a_comment_that_eats_text_is_a_warning_and_the_note_is_written(self):
        self.start()
        m = self.w.mark()
        text = soap("Slept better.", plan="review thought log #3 next time.")
        self.write_atomic("sessions/hash.yaml", text)
        self.wait_note("out/hash.md", self.render(text))
        warning = ("sessions/hash.yaml:%d:%d: warning: the text after '#' is not in the note: a "
                   "'#' after a space starts a comment; quote the value or use '|' to keep it")
        line = text.decode().split("\n").index("plan: review thought log #3 next time.") + 1
        self.wait_for(lambda: warning % (line, 26) in self.w.snapshot()[m:],
                      "the warning in the watch's log")
        self.assertIn(b"review thought log", self.read("out/hash.md"))

    def test_rename(self):
        self.start()
        m = self.w.mark()
        os.rename(self.p("sessions/al-01.yaml"), self.p("sessions/al-02.yaml"))
        self.wait_note("out/al-02.md", self.render(rel=self.p("sessions/al-02.yaml")))
        self.wait_gone("out/al-01.md")
        self.expect_one(m, (1, 1, 0, 1, False))
        self.assert_notes(["al-02.md", "jd-07.md", "mk-03.md", "rb-12.md"])
        # Still watched under its new name.
        m = self.w.mark()
        self.write("sessions/al-02.yaml", self.read("sessions/al-02.yaml").replace(
            b"Intake assessment", b"Intake interview"))
        self.wait_note("out/al-02.md", self.render(rel=self.p("sessions/al-02.yaml")))
        self.expect_one(m, (1, 1, 0, 0, False))

    def test_subfolders(self):
        self.start()
        # mkdir -p with content written at once.
        m = self.w.mark()
        os.makedirs(self.p("sessions/a/b"))
        self.write("sessions/a/b/x.yaml", soap("In a new folder."))
        self.wait_note("out/a/b/x.md", self.render(soap("In a new folder.")))
        lines, errs = self.settle(m)
        self.assertEqual(errs, [])
        self.assertLessEqual(len(lines), 2, self.w.log())
        self.assertEqual(sum(r.rendered for r in lines), 1, self.w.log())
        # A deeper tree made in one go, each level with a session.
        m = self.w.mark()
        os.makedirs(self.p("sessions/d1/d2/d3/d4"))
        for i, sub in enumerate(["d1", "d1/d2", "d1/d2/d3", "d1/d2/d3/d4"]):
            self.write("sessions/%s/s%d.yaml" % (sub, i), soap("Deep %d." % i))
        for i, sub in enumerate(["d1", "d1/d2", "d1/d2/d3", "d1/d2/d3/d4"]):
            self.wait_note("out/%s/s%d.md" % (sub, i), self.render(soap("Deep %d." % i)))
        lines, errs = self.settle(m)
        self.assertEqual(errs, [])
        self.assertEqual(sum(r.rendered for r in lines), 4, self.w.log())
        # The new folders are watched.
        m = self.w.mark()
        self.write("sessions/a/b/x.yaml", soap("Edited in the new folder."))
        self.wait_note("out/a/b/x.md", self.render(soap("Edited in the new folder.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        m = self.w.mark()
        self.write("sessions/d1/d2/d3/d4/s3.yaml", soap("Deep 3, edited."))
        self.wait_note("out/d1/d2/d3/d4/s3.md", self.render(soap("Deep 3, edited.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        m = self.w.mark()
        shutil.rmtree(self.p("sessions/d1"))
        for i, sub in enumerate(["d1", "d1/d2", "d1/d2/d3", "d1/d2/d3/d4"]):
            self.wait_gone("out/%s/s%d.md" % (sub, i))
        lines, errs = self.settle(m)
        self.assertEqual(errs, [])
        self.assertEqual(sum(r.removed for r in lines), 4, self.w.log())
        self.assertEqual(sum(r.rendered for r in lines), 0, self.w.log())
        # Renamed subfolder: the old note goes, the new one comes.
        m = self.w.mark()
        os.rename(self.p("sessions/a"), self.p("sessions/c"))
        self.wait_note("out/c/b/x.md", self.render(soap("Edited in the new folder.")))
        self.wait_gone("out/a/b/x.md")
        self.expect_one(m, (1, 1, 0, 1, False))
        m = self.w.mark()
        self.write("sessions/c/b/x.yaml", soap("Edited after the rename."))
        self.wait_note("out/c/b/x.md", self.render(soap("Edited after the rename.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        # Renamed back and forth quickly: one rebuild, the note under the last name.
        m = self.w.mark()
        os.rename(self.p("sessions/c"), self.p("sessions/e"))
        os.rename(self.p("sessions/e"), self.p("sessions/f"))
        self.wait_note("out/f/b/x.md", self.render(soap("Edited after the rename.")))
        self.wait_gone("out/c/b/x.md")
        self.expect_one(m, (1, 1, 0, 1, False))
        m = self.w.mark()
        self.write("sessions/f/b/x.yaml", soap("Edited after two renames."))
        self.wait_note("out/f/b/x.md", self.render(soap("Edited after two renames.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        # Deleted subfolder.
        m = self.w.mark()
        shutil.rmtree(self.p("sessions/f"))
        self.wait_gone("out/f/b/x.md")
        self.expect_one(m, (0, 0, 0, 1, False))
        self.assert_notes(CLINIC_NOTES)

    def test_folder_moved_in_and_out(self):
        self.start()
        staging = self.p("staging/grp")
        write(os.path.join(staging, "y.yaml"), soap("Moved in."))
        write(os.path.join(staging, "deep/z.yaml"), soap("Moved in, deeper."))
        m = self.w.mark()
        os.rename(staging, self.p("sessions/grp"))
        self.wait_note("out/grp/y.md", self.render(soap("Moved in.")))
        self.wait_note("out/grp/deep/z.md", self.render(soap("Moved in, deeper.")))
        self.expect_one(m, (2, 2, 0, 0, False))
        m = self.w.mark()
        self.write("sessions/grp/deep/z.yaml", soap("Edited once moved in."))
        self.wait_note("out/grp/deep/z.md", self.render(soap("Edited once moved in.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        # Moved out of the tree: its notes go, and it is no longer watched.
        m = self.w.mark()
        os.rename(self.p("sessions/grp"), self.p("staging/gone"))
        self.wait_gone("out/grp/deep/z.md")
        self.wait_gone("out/grp/y.md")
        self.expect_one(m, (0, 0, 0, 2, False))
        m = self.w.mark()
        self.write("staging/gone/deep/z.yaml", soap("Edited outside."))
        self.expect_none(m)
        self.assert_notes(CLINIC_NOTES)

    def check_root_back(self, take_away, bring_back):
        notes = {n: self.read("out/" + n) for n in CLINIC_NOTES}
        m = self.w.mark()
        take_away()
        for n in CLINIC_NOTES:
            self.wait_gone("out/" + n)
        self.wait_rebuilds(m, lambda rs: sum(r.removed for r in rs) >= 4, "notes removed")
        lines, errs = self.settle(m)
        self.assertEqual(errs, [])
        self.assertLessEqual(len(lines), 2, self.w.log())
        self.assertEqual(sum(r.removed for r in lines), 4, self.w.log())
        self.assert_notes([])
        m = self.w.mark()
        bring_back()
        for n in CLINIC_NOTES:
            self.wait_note("out/" + n, notes[n])
        self.wait_rebuilds(m, lambda rs: sum(r.rendered for r in rs) >= 4, "notes rendered")
        lines, errs = self.settle(m)
        self.assertEqual(errs, [])
        self.assertLessEqual(len(lines), 2, self.w.log())
        self.assertEqual(sum(r.rendered for r in lines), 4, self.w.log())
        # Watched again, subfolders too.
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("After the root came back."))
        self.wait_note("out/jd-07.md", self.render(soap("After the root came back.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        m = self.w.mark()
        text = "In a subfolder of the root that came back."
        self.write("sessions/sub/n.yaml", soap(text))
        self.wait_note("out/sub/n.md", self.render(soap(text)))
        self.expect_one(m, (1, 1, 0, 0, False))
        os.unlink(self.p("sessions/sub/n.yaml"))
        self.wait_gone("out/sub/n.md")
        shutil.rmtree(self.p("sessions/sub"))
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", self.saved_jd07)
        self.wait_note("out/jd-07.md", notes["jd-07.md"])
        self.settle(m)

    def test_sessions_root_deleted_and_recreated(self):
        self.start()
        self.saved_jd07 = self.read("sessions/jd-07.yaml")
        saved = self.p("saved")
        shutil.copytree(self.p("sessions"), saved)

        def recreate():
            os.mkdir(self.p("sessions"))
            for n in os.listdir(saved):
                shutil.copy(os.path.join(saved, n), self.p("sessions/" + n))
        self.check_root_back(lambda: shutil.rmtree(self.p("sessions")), recreate)
        # And again, this time moved away and back.
        self.check_root_back(lambda: os.rename(self.p("sessions"), self.p("sessions.away")),
                             lambda: os.rename(self.p("sessions.away"), self.p("sessions")))

    def test_git_checkout_burst(self):
        shutil.rmtree(self.p("sessions"))
        os.mkdir(self.p("sessions"))
        n = 200
        for i in range(n):
            self.write("sessions/s%03d.yaml" % i, soap("Main branch %d." % i))
        env = dict(os.environ, GIT_DIR=self.p(".git"), GIT_WORK_TREE=self.ws,
                   GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
                   GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org")

        def git(*args):
            subprocess.run(["git"] + list(args), cwd=self.ws, env=env, check=True,
                           stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        git("init", "-q", "-b", "main")
        self.assertTrue(os.path.isdir(self.p(".git")))
        git("add", "sessions")
        git("commit", "-q", "-m", "main")
        git("checkout", "-q", "-b", "other")
        for i in range(n):
            self.write("sessions/s%03d.yaml" % i, soap("Other branch %d, longer text." % i))
        git("commit", "-q", "-a", "-m", "other")
        git("checkout", "-q", "main")
        self.start()
        names = ["s%03d.md" % i for i in range(n)]
        self.wait_for(lambda: all(os.path.exists(self.p("out/" + x)) for x in names),
                      "the first notes")
        m = self.w.mark()
        git("checkout", "-q", "other")
        self.wait_for(lambda: all(b"Other branch %d," % i in (self.read("out/s%03d.md" % i) or b"")
                                  for i in range(n)), "every note of the other branch")
        lines, errs = self.settle(m)
        log = self.w.log()
        self.assertEqual(errs, [], log)
        self.assertGreaterEqual(len(lines), 1, log)
        self.assertLessEqual(len(lines), 2, log)
        self.assertEqual(sum(r.rendered for r in lines), n, "every note rendered once\n" + log)
        self.assertEqual(sum(r.written for r in lines), n, log)
        self.assertEqual(sum(r.problems for r in lines), 0, log)
        if len(lines) == 1:
            self.assertEqual(lines[0].removed, 0, log)
        # (When a slow checkout outlasts the 300 ms a burst may wait, the
        # first rebuild can find a file git has unlinked and not yet written
        # again: its note goes, and comes back in the second rebuild.)
        # Every note is exactly what render makes.
        ref = os.path.join(self.refdir, "out")
        r = subprocess.run([binary(), "-C", self.ws, "render", "--out-dir", ref]
                           + ["sessions/s%03d.yaml" % i for i in range(n)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        for x in names:
            self.assertEqual(self.read("out/" + x), read(os.path.join(ref, x)), x)
        self.assert_notes(names)
        self.assert_no_temp()


class Dependencies(WatchCase):
    """Templates and plugins: what a change renders again, and broken files."""

    def test_template_change_renders_only_its_notes(self):
        self.start()
        dap = self.read("templates/dap.md.mustache")
        # The clinic's DAP layout: mk-03 only.
        before = self.mtimes()
        m = self.w.mark()
        self.write("templates/dap.md.mustache", dap.replace(b"## Data", b"## Data (what happened)"))
        self.wait_note("out/mk-03.md", self.render(rel=self.p("sessions/mk-03.yaml")))
        self.assertIn(b"## Data (what happened)", self.read("out/mk-03.md"))
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "mk-03.md"])  # b.md: the barrier
        # A new layout that replaces a built-in one: al-01 (GIRP) only.
        before = self.mtimes()
        m = self.w.mark()
        self.write("templates/girp.md.mustache", b"# GIRP for {{client.initials}}\n\n{{goals}}\n")
        self.wait_note("out/al-01.md", self.render(rel=self.p("sessions/al-01.yaml")))
        self.assertTrue(self.read("out/al-01.md").startswith(b"# GIRP for A.L."))
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["al-01.md", "b.md"])
        # A partial nothing uses yet: nothing renders.
        m = self.w.mark()
        self.write("templates/extra.md.mustache", b"Extra: {{plan}}\n")
        self.expect_none(m)
        # Used by the DAP layout, then changed: mk-03 each time.
        m = self.w.mark()
        self.write("templates/dap.md.mustache", dap + b"\n{{> extra.md}}\n")
        self.wait_for(lambda: b"Extra: Practice" in (self.read("out/mk-03.md") or b""),
                      "the partial")
        self.expect_one(m, (1, 1, 0, 0, False))
        before = self.mtimes()
        m = self.w.mark()
        self.write("templates/extra.md.mustache", b"Extra, changed: {{plan}}\n")
        self.wait_for(lambda: b"Extra, changed: Practice" in (self.read("out/mk-03.md") or b""),
                      "the changed partial")
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "mk-03.md"])
        # The replacing layout deleted: the built-in GIRP layout again.
        m = self.w.mark()
        os.unlink(self.p("templates/girp.md.mustache"))
        self.wait_for(lambda: not (self.read("out/al-01.md") or b"").startswith(b"# GIRP for"),
                      "the built-in layout back")
        self.assertEqual(self.read("out/al-01.md"), self.render(rel=self.p("sessions/al-01.yaml")))
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assert_notes(CLINIC_NOTES)
        self.assert_no_temp()

    def test_template_and_plugin_save_patterns(self):
        self.start()
        dap = self.read("templates/dap.md.mustache")
        lua = self.read("plugins/clinic.lua")
        for i, (name, save) in enumerate(SAVES.items()):
            with self.subTest(save=name):
                # A template: the notes whose layout uses it (mk-03).
                old = self.read("out/mk-03.md")
                before = self.mtimes()
                m = self.w.mark()
                with Poller(self.p("out/mk-03.md")) as poller:
                    save(self.p("templates/dap.md.mustache"),
                         dap.replace(b"## Plan", b"## Plan (%d)" % i))
                    new = self.render(rel=self.p("sessions/mk-03.yaml"))
                    self.assertIn(b"## Plan (%d)" % i, new)
                    self.wait_note("out/mk-03.md", new)
                    self.expect_one(m, (1, 1, 0, 0, False))
                for c in poller.seen:
                    self.assertIn(c, (old, new))
                self.assertEqual(self.changed_since(before), ["b.md", "mk-03.md"])
                # A plugin: every note (5), of which mk-03 changes.
                old = new
                m = self.w.mark()
                with Poller(self.p("out/mk-03.md")) as poller:
                    save(self.p("plugins/clinic.lua"),
                         lua.replace(b":upper())", b":upper() .. \"-%d\")" % i))
                    new = self.render(rel=self.p("sessions/mk-03.yaml"))
                    self.assertIn(b"client MK-%d," % i, new)
                    self.wait_note("out/mk-03.md", new)
                    self.expect_one(m, (5, 1, 0, 0, False))
                for c in poller.seen:
                    self.assertIn(c, (old, new))
        self.assert_notes(CLINIC_NOTES)
        self.assert_no_temp()

    def test_template_written_in_two_halves(self):
        self.start()
        old = self.read("out/mk-03.md")
        dap = self.read("templates/dap.md.mustache")
        new_dap = dap.replace(b"## Plan", b"## Plan (next steps)")
        cut = new_dap.index(b"{{data}}") + 4  # mid-tag: a syntax error on its own
        m = self.w.mark()
        with Poller(self.p("out/mk-03.md")) as poller:
            with open(self.p("templates/dap.md.mustache"), "wb", buffering=0) as f:
                f.write(new_dap[:cut])
                time.sleep(0.1)
                f.write(new_dap[cut:])
            new = self.render(rel=self.p("sessions/mk-03.yaml"))
            self.wait_note("out/mk-03.md", new)
            self.expect_one(m, (1, 1, 0, 0, False))
        for c in poller.seen:
            self.assertIn(c, (old, new))

    def test_broken_template(self):
        self.start()
        good = self.read("out/mk-03.md")
        dap = self.read("templates/dap.md.mustache")
        m = self.w.mark()
        self.write("templates/dap.md.mustache", dap + b"{{#data}}\n")
        lines, errs = self.settle_problem(m)
        log = self.w.log()
        self.assertEqual(len(lines), 1, log)
        self.assertEqual(lines[0].counts(), (0, 0, 1, 0, False), log)
        self.assertTrue(errs, log)
        self.assertTrue(any(re.match(r"^templates/dap\.md\.mustache:\d+:1: error: section 'data' "
                                     r"is never closed$", e) for e in errs), log)
        self.assertEqual(self.read("out/mk-03.md"), good)
        # A session of another note type still renders meanwhile.
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("While the DAP layout is broken."))
        self.wait_note("out/jd-07.md", self.render(soap("While the DAP layout is broken.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        # Fixed: mk-03 renders with the fixed layout.
        m = self.w.mark()
        self.write("templates/dap.md.mustache", dap.replace(b"## Plan", b"## Plan (fixed)"))
        self.wait_for(lambda: b"## Plan (fixed)" in self.read("out/mk-03.md"), "the fixed layout")
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assertEqual(self.read("out/mk-03.md"), self.render(rel=self.p("sessions/mk-03.yaml")))

    def test_broken_session(self):
        self.start()
        good = self.read("out/jd-07.md")
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("[unclosed"))
        lines, errs = self.settle_problem(m)
        log = self.w.log()
        self.assertEqual([r.counts() for r in lines], [(0, 0, 1, 0, False)], log)
        self.assertEqual(len(errs), 1, log)
        self.assertRegex(errs[0], r"^sessions/jd-07\.yaml:\d+:\d+: error: invalid YAML")
        self.assertEqual(self.read("out/jd-07.md"), good)
        # A session that is valid YAML but not a valid session.
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("x").replace(b"level: none", b"level: high"))
        lines, errs = self.settle_problem(m)
        log = self.w.log()
        self.assertEqual([r.counts() for r in lines], [(0, 0, 1, 0, False)], log)
        self.assertTrue(errs and all(PROBLEM.match(e) for e in errs), log)
        self.assertTrue(all(e.startswith("sessions/jd-07.yaml:") for e in errs), log)
        self.assertEqual(self.read("out/jd-07.md"), good)
        # Fixed: the note of the fixed session.
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("Fixed."))
        self.wait_note("out/jd-07.md", self.render(soap("Fixed.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        # A new session that is broken from the start gives no note.
        m = self.w.mark()
        self.write("sessions/new.yaml", b"type: soap\nclient: [\n")
        lines, errs = self.settle_problem(m)
        self.assertEqual([r.counts() for r in lines], [(0, 0, 1, 0, False)], self.w.log())
        self.assertRegex(errs[0], r"^sessions/new\.yaml:\d+:\d+: error: ")
        self.assert_notes(CLINIC_NOTES)
        m = self.w.mark()
        self.write("sessions/new.yaml", soap("New, fixed."))
        self.wait_note("out/new.md", self.render(soap("New, fixed.")))
        self.expect_one(m, (1, 1, 0, 0, False))

    def test_plugin_change_renders_every_note(self):
        self.start()
        lua = self.read("plugins/clinic.lua")
        before = self.mtimes()
        m = self.w.mark()
        self.write("plugins/clinic.lua", lua.replace(b":upper())", b":upper() .. \"-X\")"))
        self.wait_for(lambda: b"client MK-X," in self.read("out/mk-03.md"), "the new filter")
        # Every note renders again (5 with the barrier's); only mk-03 changes.
        self.expect_one(m, (5, 1, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "mk-03.md"])
        self.assertEqual(self.read("out/mk-03.md"), self.render(rel=self.p("sessions/mk-03.yaml")))

    def test_no_note_sees_another_session_through_a_plugin(self):
        # A plugin that writes into each note's plan the client it saw last,
        # and what the memory count was as the session started: in watch
        # mode as in a batch, every session starts from the plugins as they
        # loaded.
        self.write("plugins/hoarder.lua", b"""
local last = "fresh"
local memory
rapport.on("session", function() memory = collectgarbage("count") end)
rapport.on("note", function(note)
  note.plan = "previous: " .. last .. "; memory: " .. memory .. "; " .. note.plan
  last = note.client.initials
end)
""")
        self.start()
        expected = {}
        for n in CLINIC_NOTES:
            note = self.read("out/" + n)
            self.assertIn(b"previous: fresh;", note, n)
            expected[n] = self.render(rel=self.p("sessions/" + n[:-3] + ".yaml"))
            self.assertEqual(note, expected[n], n)
        # Edits render one note at a time after the others: still fresh,
        # and still what the session alone gives.
        mk = self.read("sessions/mk-03.yaml")
        for k in range(3):
            m = self.w.mark()
            self.write("sessions/mk-03.yaml", mk.replace(b"initials: M.K.", b"initials: M.%d." % k))
            self.wait_for(lambda: (b"client M%d," % k) in self.read("out/mk-03.md"), "mk-03 edit")
            self.expect_one(m, (1, 1, 0, 0, False))
            note = self.read("out/mk-03.md")
            self.assertIn(b"previous: fresh;", note)
            self.assertEqual(note, self.render(rel=self.p("sessions/mk-03.yaml")))

    def check_broken_plugin(self, break_it, fix_it, error):
        self.start()
        good = {n: self.read("out/" + n) for n in CLINIC_NOTES}
        m = self.w.mark()
        break_it()
        lines, errs = self.settle_problem(m)
        log = self.w.log()
        self.assertEqual([r.counts() for r in lines], [(0, 0, 0, 0, True)], log)
        self.assertEqual(len(errs), 1, log)
        self.assertRegex(errs[0], error)
        for n in CLINIC_NOTES:
            self.assertEqual(self.read("out/" + n), good[n], n)
        # The last good plugins stay in use: the DAP layout's `caps` filter
        # (from clinic.lua) still works for a session edited meanwhile.
        mk = self.read("sessions/mk-03.yaml")
        m = self.w.mark()
        self.write("sessions/mk-03.yaml", mk.replace(b"initials: M.K.", b"initials: M.Q."))
        self.wait_for(lambda: b"client MQ," in self.read("out/mk-03.md"), "mk-03 with caps")
        self.expect_one(m, (1, 1, 0, 0, False))
        m = self.w.mark()
        self.write("sessions/mk-03.yaml", mk)
        self.wait_note("out/mk-03.md", good["mk-03.md"])
        self.expect_one(m, (1, 1, 0, 0, False))
        # Fixed: the plugins load again and every note renders (none changes).
        m = self.w.mark()
        fix_it()
        self.wait_rebuilds(m, lambda rs: rs, "the plugins loaded again")
        self.expect_one(m, (5, 0, 0, 0, False))
        for n in CLINIC_NOTES:
            self.assertEqual(self.read("out/" + n), good[n], n)

    def test_broken_plugin_at_start(self):
        # No good plugin set yet: what loads is used; the note that needs
        # the broken plugin's filter has a problem until it is fixed.
        lua = self.read("plugins/clinic.lua")
        self.write("plugins/clinic.lua", lua + b"\nlocal x =\n")
        self.start()
        lines = self.w.snapshot()
        log = "\n".join(lines)
        self.assertTrue(any(re.match(r"^plugins/clinic\.lua:\d+:\d+: error: ", l)
                            for l in lines), log)
        self.assertTrue(any(l.startswith("sessions/mk-03.yaml") and ": error: " in l
                            for l in lines), log)
        start = [Rebuild(l) for l in lines if REBUILD.match(l)]
        self.assertEqual([r.counts()[:4] for r in start], [(4, 4, 1, 0)], log)
        self.assert_notes(["al-01.md", "jd-07.md", "rb-12.md"])
        m = self.w.mark()
        self.write("plugins/clinic.lua", lua)
        self.wait_note("out/mk-03.md", self.render(rel=self.p("sessions/mk-03.yaml")))
        self.expect_one(m, (5, 1, 0, 0, False))
        self.assert_notes(CLINIC_NOTES)

    def test_broken_plugin_syntax(self):
        lua = self.read("plugins/clinic.lua")
        self.check_broken_plugin(
            lambda: self.write("plugins/clinic.lua", lua + b"\nlocal x =\n"),
            lambda: self.write("plugins/clinic.lua", lua + b"\nlocal x = 1\n"),
            r"^plugins/clinic\.lua:\d+:\d+: error: ")

    def test_broken_plugin_endless_loop(self):
        self.check_broken_plugin(
            lambda: self.write("plugins/loop.lua", b"while true do end\n"),
            lambda: os.unlink(self.p("plugins/loop.lua")),
            r"^plugins/loop\.lua:1:\d+: error: .*budget")


class Process(WatchCase):
    """Starting, idling and stopping."""

    def test_start(self):
        self.start()
        lines = self.w.snapshot()
        self.assertRegex(lines[0], r"^rapport: \d\d:\d\d:\d\d start: rendered 5 notes "
                                   r"\(5 written\) in \d+\.\d ms$")
        self.assertRegex(lines[1], r"^rapport: watching \d+ folders; notes in out/; Ctrl-C stops$")
        self.assert_notes(CLINIC_NOTES)
        for n in CLINIC_NOTES:
            self.assertEqual(os.stat(self.p("out/" + n)).st_mode & 0o777, 0o600, n)
            self.assertEqual(self.read("out/" + n),
                             self.render(rel=self.p("sessions/" + n[:-3] + ".yaml")), n)

    def test_restart_writes_nothing(self):
        # Started again over its own notes, which are what it would write:
        # notes are written only when their bytes change.
        self.start()
        self.assertEqual(self.w.stop(), 0)
        notes = {n: self.read("out/" + n) for n in self.out_files()}
        before = {n: os.stat(self.p("out/" + n)).st_mtime_ns for n in notes}
        self.start()
        first = self.w.snapshot()[0]
        self.assertEqual({n: self.read("out/" + n) for n in self.out_files()}, notes)
        rewritten = [n for n in notes if os.stat(self.p("out/" + n)).st_mtime_ns != before[n]]
        self.assertEqual(rewritten, [], "notes written again with the same bytes\n" + first)
        self.assertRegex(first, r" start: rendered 5 notes \(0 written\) in ")

    def test_single_file_root(self):
        # PATH may be one session file: its folder is watched (editors save
        # by rename), the other sessions there are not rendered.
        self.start(roots=("sessions/jd-07.yaml", "0bar"))
        self.assertRegex(self.w.snapshot()[0], r" start: rendered 2 notes \(2 written\) in ")
        self.assert_notes(["jd-07.md"])
        for i, (name, save) in enumerate(SAVES.items()):
            with self.subTest(save=name):
                m = self.w.mark()
                save(self.p("sessions/jd-07.yaml"), soap("Single file, save %d." % i))
                self.wait_note("out/jd-07.md", self.render(soap("Single file, save %d." % i)))
                self.expect_one(m, (1, 1, 0, 0, False))
        m = self.w.mark()
        self.write("sessions/mk-03.yaml", soap("Not watched as a session."))
        self.write("sessions/new.yaml", soap("Not watched either."))
        self.expect_none(m)
        self.assert_notes(["jd-07.md"])

    def test_debounce(self):
        for bad in ("0", "1001", "x", "-5"):
            r = subprocess.run([binary(), "-C", self.ws, "watch", "--debounce", bad],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 2, (bad, r.stderr))
            self.assertIn(b"Try 'rapport help watch'", r.stderr)
        # A longer quiet window takes in edits 40 ms apart as one burst.
        self.start("--debounce", "150")
        m = self.w.mark()
        for i, n in enumerate(("al-01", "jd-07", "mk-03")):
            if i:
                time.sleep(0.04)
            self.write("sessions/%s.yaml" % n, soap("Debounced %d." % i))
        for i, n in enumerate(("al-01", "jd-07", "mk-03")):
            self.wait_note("out/%s.md" % n, self.render(soap("Debounced %d." % i)))
        self.expect_one(m, (3, 3, 0, 0, False))

    def test_busy_writer_cannot_postpone(self):
        # A session rewritten every 5 ms for 1.5 s (never 15 ms quiet): notes
        # still come, at most 300 ms after the first event of a burst.
        self.start()
        m = self.w.mark()
        end = time.monotonic() + 1.5
        i = 0
        seen_during = False
        while time.monotonic() < end:
            self.write("sessions/jd-07.yaml", soap("Busy %d." % i))
            i += 1
            time.sleep(0.005)
            if not seen_during and b"Busy " in (self.read("out/jd-07.md") or b""):
                seen_during = True
        self.assertTrue(seen_during, "no note while the writer kept writing\n" + self.w.log())
        self.wait_note("out/jd-07.md", self.render(soap("Busy %d." % (i - 1))))
        lines, errs = self.settle(m)
        # A rebuild may start just before the next truncation is seen, and
        # read the file empty: that is reported, and the last good note kept.
        for e in errs:
            self.assertTrue(e.startswith("sessions/jd-07.yaml:"), self.w.log())
        self.assertGreaterEqual(len(lines), 2, self.w.log())

    def test_open_writer_hold_is_bounded(self):
        # A writer that keeps the file open holds the rebuild back, for at
        # most 2 s: the note comes while it is still open.
        self.start()
        new = self.render(soap("Written, file left open."))
        m = self.w.mark()
        with open(self.p("sessions/jd-07.yaml"), "wb", buffering=0) as f:
            f.write(soap("Written, file left open."))
            t0 = time.monotonic()
            self.wait_note("out/jd-07.md", new)
            held = time.monotonic() - t0
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assertGreater(held, 1.0, "the open writer did not hold the rebuild back")

    def test_default_path(self):
        self.w = Watch(self.ws, [])
        self.wait_for(lambda: any(l.startswith("rapport: watching ") for l in self.w.snapshot()),
                      "the watch to start")
        self.assertRegex(self.w.snapshot()[0], r" start: rendered 4 notes \(4 written\) in ")
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("Default path."))
        self.wait_note("out/jd-07.md", self.render(soap("Default path.")))
        self.wait_for(lambda: len([l for l in self.w.snapshot()[m:] if REBUILD.match(l)]) == 1,
                      "one rebuild line")

    def stop_during_rebuild(self, sig):
        shutil.rmtree(self.p("sessions"))
        n = 200
        for i in range(n):
            self.write("sessions/s%03d.yaml" % i, soap("Before %d." % i))
        self.start()
        old = {i: self.read("out/s%03d.md" % i) for i in range(n)}
        self.assertTrue(all(old.values()))
        for i in range(n):
            self.write("sessions/s%03d.yaml" % i, soap("After %d, a longer text." % i))
        new = {i: self.render(rel=self.p("sessions/s%03d.yaml" % i)) for i in (0, n - 1)}
        self.wait_for(lambda: self.read("out/s000.md") == new[0] or
                      self.read("out/s%03d.md" % (n - 1)) == new[n - 1], "the rebuild to start")
        rc = self.w.stop(sig)
        lines = self.w.snapshot()
        self.assertEqual(rc, 0, "\n".join(lines))
        self.assertEqual(lines[-1], "rapport: stopped")
        self.assertFalse([l for l in lines if ": error: " in l], "\n".join(lines))
        self.assert_no_temp()
        for i in range(n):
            note = self.read("out/s%03d.md" % i)
            self.assertTrue(note == old[i] or b"After %d, a longer text." % i in note, i)

    def test_sigint(self):
        self.stop_during_rebuild(signal.SIGINT)

    def test_sigterm(self):
        self.stop_during_rebuild(signal.SIGTERM)

    def test_sigint_idle(self):
        self.start()
        self.assertEqual(self.w.stop(signal.SIGINT), 0)
        self.assertEqual(self.w.snapshot()[-1], "rapport: stopped")
        self.assert_no_temp()

    def check_idle(self, what):
        pid = self.w.proc.pid
        m = self.w.mark()
        t0 = cpu_ticks(pid)
        time.sleep(1.0)  # the window measured, not a wait for something
        used = cpu_ticks(pid) - t0
        self.assertLess(used, 5, "%s: %d clock ticks of CPU in 1 s of idling" % (what, used))
        return m

    def test_idle_cpu(self):
        self.start()
        m = self.check_idle("after start")
        self.expect_none(m)
        m = self.w.mark()
        self.write("sessions/jd-07.yaml", soap("One edit."))
        self.wait_note("out/jd-07.md", self.render(soap("One edit.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        m = self.check_idle("after a rebuild")
        self.expect_none(m)

    def check_out_inside(self, roots, args, out, bar_note, notes):
        self.bar_note = bar_note
        self.start(*args, roots=roots)
        start = self.w.snapshot()
        self.assertFalse([l for l in start if ": error: " in l], "\n".join(start))
        self.assert_notes(notes, out=out)
        m = self.check_idle("idle, %s inside the watched tree" % out)
        self.expect_none(m)
        m = self.w.mark()
        text = "Out inside, edit %d." % self.k
        self.write("sessions/jd-07.yaml", soap(text))
        self.wait_for(lambda: text.encode() in (self.read(os.path.join(out, notes[1])) or b""),
                      "the note")
        self.expect_one(m, (1, 1, 0, 0, False))
        m = self.check_idle("idle after writing into %s" % out)
        self.expect_none(m)
        self.assert_notes(notes, out=out)
        self.assert_no_temp(out)

    def test_out_dir_inside_watched_tree(self):
        self.check_out_inside(
            (".",), ["--out-dir", "out"], "out", "out/0bar/b.md",
            ["sessions/al-01.md", "sessions/jd-07.md", "sessions/mk-03.md", "sessions/rb-12.md"])

    def test_out_dir_inside_sessions(self):
        self.check_out_inside(
            ("sessions", "0bar"), ["--out-dir", "sessions/out", "--format", "json"],
            "sessions/out", "sessions/out/b.json",
            ["al-01.json", "jd-07.json", "mk-03.json", "rb-12.json"])

    # JSON notes have a session's extension: the watch must never take its
    # own notes for sessions, in a second run over the first run's notes
    # either, however the output folder and the roots are written.
    JSON_NOTES = ["sessions/al-01.json", "sessions/jd-07.json", "sessions/mk-03.json",
                  "sessions/rb-12.json"]

    def check_json_out(self, roots, out_dir, out, bar_note, notes):
        for run in (1, 2):
            with self.subTest(run=run):
                if self.w:
                    self.assertEqual(self.w.stop(), 0)
                self.check_out_inside(roots, ["--out-dir", out_dir, "--format", "json"],
                                      out, bar_note, notes)

    def test_out_dir_json_twice(self):
        self.check_json_out((".",), "out", "out", "out/0bar/b.json", self.JSON_NOTES)

    def test_out_dir_json_trailing_slash(self):
        self.check_json_out((".",), "out/", "out", "out/0bar/b.json", self.JSON_NOTES)

    def test_out_dir_json_dot_slash(self):
        self.check_json_out((".",), "./out", "out", "out/0bar/b.json", self.JSON_NOTES)

    def test_out_dir_json_absolute(self):
        self.check_json_out((".",), self.p("out"), "out", "out/0bar/b.json", self.JSON_NOTES)

    def test_out_dir_json_root_dot_slash(self):
        self.check_json_out(("./sessions", "0bar"), "sessions/out", "sessions/out",
                            "sessions/out/b.json",
                            ["al-01.json", "jd-07.json", "mk-03.json", "rb-12.json"])

    def test_out_dir_json_root_trailing_slash(self):
        self.check_json_out(("sessions/", "0bar"), "sessions/out", "sessions/out",
                            "sessions/out/b.json",
                            ["al-01.json", "jd-07.json", "mk-03.json", "rb-12.json"])


# --- measure-only and note-type plugins of a clinic --------------------------------------

MOOD_LUA = b"""-- A measure only: notes of the note types that use it depend on it.
rapport.measure {
  id = "mood_check",
  title = "Weekly mood check",
  items = 3,
  min = 0,
  max = 4,
  score = function(items)
    local total = 0
    for _, s in ipairs(items) do total = total + s end
    return { total = total + OFFSET }
  end,
}
"""

CHECKIN_LUA = b"""-- A note type of the clinic's own that uses mood_check.
rapport.note_type {
  id = "checkin",
  title = "TITLE",
  fields = {
    { id = "client", type = "object", required = true,
      fields = { { id = "id", type = "string", required = true } } },
    { id = "summary", type = "text" },
  },
  measures = { "mood_check" },
  layout = "checkin",
}
"""

CHECKIN_LAYOUT = (b"# {{note_type.title}} {{client.id}}\n\n{{summary}}\n\n"
                  b"Mood total: {{scores.mood_check.total}}\n")


def checkin(client, items):
    return ("type: checkin\nclient: { id: %s }\nsummary: Fine.\nmeasures:\n  mood_check: %s\n"
            % (client, items)).encode()


class PluginScope(WatchCase):
    """A plugin change renders again only the notes it can change."""

    def setUp(self):
        super().setUp()
        self.write("plugins/mood.lua", MOOD_LUA.replace(b"OFFSET", b"0"))
        self.write("plugins/checkin.lua", CHECKIN_LUA.replace(b"TITLE", b"Check-in"))
        self.write("templates/checkin.md.mustache", CHECKIN_LAYOUT)
        self.write("sessions/c1.yaml", checkin("C-1", "[1, 2, 3]"))
        self.write("sessions/sub/c2.yaml", checkin("C-2", "[0, 0, 4]"))
        self.notes = CLINIC_NOTES + ["c1.md", "sub/c2.md"]

    def test_a_measure_plugin_renders_only_the_notes_that_use_it(self):
        self.start()
        self.assertIn(b"Mood total: 6\n", self.read("out/c1.md"))
        self.assert_notes(self.notes)
        for offset, totals in ((100, (b"106", b"104")), (7, (b"13", b"11"))):
            with self.subTest(offset=offset):
                before = self.mtimes()
                m = self.w.mark()
                self.write("plugins/mood.lua", MOOD_LUA.replace(b"OFFSET", b"%d" % offset))
                self.wait_for(lambda: b"Mood total: %s\n" % totals[0] in self.read("out/c1.md"),
                              "c1 with the new score")
                self.wait_note("out/sub/c2.md", self.render(rel=self.p("sessions/sub/c2.yaml")))
                self.assertIn(b"Mood total: %s\n" % totals[1], self.read("out/sub/c2.md"))
                # The two check-in notes, not the clinic's four.
                self.expect_one(m, (2, 2, 0, 0, False))
                self.assertEqual(self.changed_since(before), ["b.md", "c1.md", "sub/c2.md"])
        self.assert_notes(self.notes)
        self.assert_modes()

    def test_a_note_type_plugin_renders_only_its_notes(self):
        self.start()
        before = self.mtimes()
        m = self.w.mark()
        self.write("plugins/checkin.lua", CHECKIN_LUA.replace(b"TITLE", b"Weekly check-in"))
        self.wait_for(lambda: self.read("out/c1.md").startswith(b"# Weekly check-in C-1"),
                      "c1 with the new title")
        self.wait_for(lambda: self.read("out/sub/c2.md").startswith(b"# Weekly check-in C-2"),
                      "c2 with the new title")
        self.expect_one(m, (2, 2, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "c1.md", "sub/c2.md"])

    def test_a_filter_plugin_renders_every_note(self):
        self.start()
        lua = self.read("plugins/clinic.lua")
        before = self.mtimes()
        m = self.w.mark()
        self.write("plugins/clinic.lua", lua.replace(b":upper())", b":upper() .. \"-F\")"))
        self.wait_for(lambda: b"client MK-F," in self.read("out/mk-03.md"), "the new filter")
        # Every note (7 with the barrier's) renders; only mk-03 uses caps.
        self.expect_one(m, (7, 1, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "mk-03.md"])

    def test_a_session_and_a_template_render_only_their_notes(self):
        self.start()
        before = self.mtimes()
        m = self.w.mark()
        self.write("sessions/c1.yaml", checkin("C-1", "[4, 4, 4]"))
        self.wait_for(lambda: b"Mood total: 12\n" in self.read("out/c1.md"), "c1 again")
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "c1.md"])
        before = self.mtimes()
        m = self.w.mark()
        self.write("templates/checkin.md.mustache", CHECKIN_LAYOUT + b"\nLayout 2.\n")
        self.wait_for(lambda: b"Layout 2." in self.read("out/sub/c2.md"), "c2 with layout 2")
        self.wait_for(lambda: b"Layout 2." in self.read("out/c1.md"), "c1 with layout 2")
        self.expect_one(m, (2, 2, 0, 0, False))
        self.assertEqual(self.changed_since(before), ["b.md", "c1.md", "sub/c2.md"])


# --- outputs: links planted in the output folder, modes ---------------------------------

class Outputs(WatchCase):
    """Notes go into the output folder only, as files of mode 0600."""

    LINKED = re.compile(r"^out/(sub|sub2)/(x|y)\.md: error: not written: a folder on the way "
                        r"is a link \(notes stay inside out\)$")

    def test_a_link_planted_in_the_output_folder(self):
        os.makedirs(self.p("out"))
        os.makedirs(self.p("elsewhere"))
        self.write("elsewhere/keep.md", b"Not a note.\n")
        os.symlink("../elsewhere", self.p("out/sub"))
        self.write("sessions/sub/x.yaml", soap("A session in sub."))
        self.start()
        lines = self.w.snapshot()
        log = "\n".join(lines)
        self.assertEqual(sorted(os.listdir(self.p("elsewhere"))), ["keep.md"], log)
        self.assertEqual([l for l in lines if ": error: " in l],
                         ["out/sub/x.md: error: not written: a folder on the way is a link "
                          "(notes stay inside out)"], log)
        self.assertEqual([r.counts() for r in map(rebuild_of, lines) if r],
                         [(5, 5, 1, 0, False)], log)
        # Edited: still refused, still reported.
        m = self.w.mark()
        self.write("sessions/sub/x.yaml", soap("Edited in sub."))
        lines, errs = self.settle_problem(m)
        self.assertEqual([r.counts() for r in lines], [(0, 0, 1, 0, False)], self.w.log())
        self.assertEqual(len(errs), 1, self.w.log())
        self.assertRegex(errs[0], self.LINKED)
        # A link planted while the watch runs, then a session for it.
        os.symlink("../elsewhere", self.p("out/sub2"))
        m = self.w.mark()
        self.write("sessions/sub2/y.yaml", soap("A session in sub2."))
        lines, errs = self.settle_problem(m)
        self.assertEqual(sum(r.problems for r in lines), 1, self.w.log())
        self.assertTrue(errs and all(self.LINKED.match(e) for e in errs), self.w.log())
        self.assertEqual(sorted(os.listdir(self.p("elsewhere"))), ["keep.md"], self.w.log())
        self.assertEqual(self.read("elsewhere/keep.md"), b"Not a note.\n")
        self.assertEqual(os.readlink(self.p("out/sub")), "../elsewhere")
        self.assert_modes()

    def test_an_existing_note_of_mode_0644_becomes_0600(self):
        os.makedirs(self.p("out"))
        notes = {n: self.render(rel=self.p("sessions/" + n[:-3] + ".yaml")) for n in CLINIC_NOTES}
        for n, note in notes.items():
            self.write("out/" + n, note)
            os.chmod(self.p("out/" + n), 0o644)
        self.start()
        # Same bytes, wrong mode: written again (4 clinic notes + the barrier).
        self.assertEqual([r.counts() for r in map(rebuild_of, self.w.snapshot()) if r],
                         [(5, 5, 0, 0, False)], self.w.log())
        for n, note in notes.items():
            self.assertEqual(self.read("out/" + n), note)
        self.assert_modes()
        # And every note written later.
        m = self.w.mark()
        self.write("sessions/new.yaml", soap("A new session."))
        self.wait_note("out/new.md", self.render(soap("A new session.")))
        self.expect_one(m, (1, 1, 0, 0, False))
        self.assert_modes()


# --- the live preview --------------------------------------------------------------------

PREVIEW_URL = re.compile(r"^rapport: preview at http://127\.0\.0\.1:(\d+)/\?t=([0-9a-f]+)$")
INDEX_ROW = re.compile(r'<tr><td><a href="/n/([^"?]+)\?t=[0-9a-f]+">[^<]*</a></td>'
                       r'<td>([^<]*)</td><td class="(ok|error)">')


class Preview(WatchCase):
    """watch --serve over HTTP: every note its own address, problems shown."""

    def start_serving(self):
        self.start("--serve")
        for line in self.w.snapshot():
            m = PREVIEW_URL.match(line)
            if m:
                self.port, self.token = int(m.group(1)), m.group(2)
                return
        self.fail("no preview address\n" + self.w.log())

    def get(self, path):
        """GET path?t=TOKEN: (status, body as text)."""
        url = "http://127.0.0.1:%d%s?t=%s" % (self.port, path, self.token)
        req = urllib.request.Request(url, headers={"Host": "127.0.0.1:%d" % self.port})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def index(self):
        """The index: {session path: (id, status)}."""
        status, body = self.get("/")
        self.assertEqual(status, 200, body)
        return {html_unescape(path): (i, st) for i, path, st in INDEX_ROW.findall(body)}

    def state(self, note_id):
        status, body = self.get("/n/%s/state" % urllib.parse.quote(note_id))
        self.assertEqual(status, 200, (note_id, body))
        return json.loads(body)

    def html_of(self, rel):
        r = subprocess.run([binary(), "-C", self.ws, "render", "--format", "html", rel],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode("utf-8")

    def test_every_session_has_its_own_page(self):
        shutil.rmtree(self.p("sessions"))
        names = {"sessions/x y.yaml": "X.S.", "sessions/x_y.yaml": "X.U.",
                 "sessions/sub/x.yaml": "S.X.", "sessions/sub.x.yaml": "S.D.",
                 "sessions/a.yaml": "A.Y.", "sessions/a.json": "A.J."}
        for rel, initials in names.items():
            if rel.endswith(".json"):
                data = json.dumps({"type": "soap", "client": {"id": "C-9", "initials": initials},
                                   "session": {"date": "2026-12-01", "number": 8,
                                               "minutes": 50},
                                   "clinician": {"name": "Dana Whitfield"},
                                   "subjective": "Seen.", "objective": "Engaged.",
                                   "assessment": "Progress.", "plan": "Continue.",
                                   "risk": {"level": "none"}}).encode()
            else:
                data = soap("Seen.", initials=initials)
            self.write(rel, data)
        self.start_serving()
        log = self.w.log()
        self.assertFalse([l for l in self.w.snapshot() if ": error: " in l], log)
        index = self.wait_for(lambda: (lambda ix: ix if len(ix) == 7 else None)(self.index()),
                              "seven notes in the index")
        ids = [index[rel][0] for rel in names]
        self.assertEqual(len(set(ids)), len(ids), index)
        for rel, initials in names.items():
            with self.subTest(session=rel):
                note_id, st = index[rel]
                self.assertEqual(st, "ok", index)
                status, page = self.get("/n/%s/page" % urllib.parse.quote(note_id))
                self.assertEqual(status, 200, page)
                self.assertEqual(page, self.html_of(rel))
                self.assertIn(initials, page)
                for other, theirs in names.items():
                    if other != rel:
                        self.assertNotIn(theirs, page)
                self.assertEqual(self.state(note_id)["status"], "ok")
        # Each note has its own file too: six notes (and the barrier's),
        # each the note of its own session.
        notes = self.out_files()
        self.assertEqual(len(notes), 7, notes)
        contents = {n: self.read("out/" + n) for n in notes}
        for rel in names:
            want = self.render(rel=self.p(rel))
            self.assertEqual([n for n in notes if contents[n] == want].__len__(), 1,
                             "%s: its note is not in exactly one file of %s" % (rel, notes))
        self.assert_modes()

    def wait_states(self, ids, cond, what):
        return self.wait_for(lambda: all(cond(self.state(i)) for i in ids), what)

    def test_a_broken_plugin_shows_on_every_note(self):
        self.start_serving()
        index = self.wait_for(lambda: (lambda ix: ix if len(ix) == 5 else None)(self.index()),
                              "five notes in the index")
        ids = [v[0] for v in index.values()]
        good = {n: self.read("out/" + n) for n in self.out_files()}
        lua = self.read("plugins/clinic.lua")
        m = self.w.mark()
        self.write("plugins/clinic.lua", lua + b"\nlocal x =\n")
        where = re.compile(r"(^|\n)plugins/clinic\.lua:\d+:\d+: error: ")
        self.wait_states(ids, lambda s: s["status"] == "error" and where.search(s["errors"]),
                         "every note to show the plugin's problem")
        # The very problem the terminal shows, with its line.
        shown = [l for l in self.w.snapshot()[m:] if l.startswith("plugins/clinic.lua:")]
        self.assertEqual(len(shown), 1, self.w.log())
        self.assertRegex(shown[0], r"^plugins/clinic\.lua:%d:\d+: error: "
                         % (lua.count(b"\n") + 3))
        for i in ids:
            self.assertIn(shown[0] + "\n", self.state(i)["errors"] + "\n")
        self.assertEqual(set(v[1] for v in self.index().values()), {"error"})
        self.assertEqual({n: self.read("out/" + n) for n in self.out_files()}, good)
        # Fixed: every note is back, with its page.
        self.write("plugins/clinic.lua", lua)
        self.wait_states(ids, lambda s: s["status"] == "ok", "every note ok again")
        self.assertEqual(set(v[1] for v in self.index().values()), {"ok"})
        for rel, (i, _) in self.index().items():
            self.assertNotIn("errors", self.state(i))
            status, page = self.get("/n/%s/page" % i)
            self.assertEqual(page, self.html_of(rel))
        self.assertEqual({n: self.read("out/" + n) for n in self.out_files()}, good)

    def test_a_broken_template_shows_on_the_notes_that_use_it(self):
        self.start_serving()
        index = self.wait_for(lambda: (lambda ix: ix if len(ix) == 5 else None)(self.index()),
                              "five notes in the index")
        mk = index["sessions/mk-03.yaml"][0]
        others = [v[0] for k, v in index.items() if k != "sessions/mk-03.yaml"]
        good = {n: self.read("out/" + n) for n in self.out_files()}
        dap = self.read("templates/dap.md.mustache")
        line = dap.count(b"\n") + 1
        self.write("templates/dap.md.mustache", dap + b"{{#data}}\n")
        where = re.compile(r"(^|\n)templates/dap\.md\.mustache:%d:1: error: section 'data' is "
                           r"never closed" % line)
        self.wait_states([mk], lambda s: s["status"] == "error" and where.search(s["errors"]),
                         "mk-03 to show the template's problem")
        for i in others:
            self.assertEqual(self.state(i)["status"], "ok", i)
        self.assertEqual({n: self.read("out/" + n) for n in self.out_files()}, good)
        self.write("templates/dap.md.mustache", dap)
        self.wait_states([mk], lambda s: s["status"] == "ok", "mk-03 ok again")
        status, page = self.get("/n/%s/page" % mk)
        self.assertEqual(page, self.html_of("sessions/mk-03.yaml"))
        self.assertEqual({n: self.read("out/" + n) for n in self.out_files()}, good)


if __name__ == "__main__":
    unittest.main(verbosity=2)
