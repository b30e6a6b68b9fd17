"""Crash safety: `rapport render --out-dir` and `rapport watch` are killed
with SIGKILL at random moments while they write hundreds of notes, many times
over; after each kill every note on disk must be absent, the previous
complete version or the new complete version, never partial, and nothing but
hidden temporary files (`.NAME.tmp-XXXXXXXXXX`) may be left besides notes.
The preview server must survive many connections opened and dropped.

The expected versions of every note are rendered first, separately, so each
file after a kill is compared with whole notes byte for byte. The figures
(kills survived, files checked) are printed at the end. Seeded, so a failure
can be replayed: RAPPORT_CRASH_SEED=N.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from harness import binary  # noqa: E402

SEED = int(os.environ.get("RAPPORT_CRASH_SEED", "20261125"))
# Under the sanitizers every run is several times slower: fewer rounds there
# (the full count runs in the normal build).
SANITIZED = os.environ.get("RAPPORT_SANITIZED", "") in ("1", "ON", "on", "true")
RENDER_KILLS = 10 if SANITIZED else 40
WATCH_KILLS = 6 if SANITIZED else 20
N_SESSIONS = 300
TEMP = re.compile(r"^\..+\.tmp-[A-Za-z0-9]{10}$")
STATS = {"kills": 0, "files": 0, "temps": 0}


def session(i, version):
    return {
        "type": "soap",
        "client": {"id": "C-%04d" % i, "initials": "K%d." % i},
        "session": {"date": "2026-11-%02d" % (1 + i % 28), "number": 1 + i},
        "clinician": {"name": "Dana Whitfield"},
        "subjective": ("Version %s of session %d. " % (version, i)) * (20 + i % 40),
        "objective": "Engaged.", "assessment": "Progress.", "plan": "Continue.",
        "risk": {"level": "none"},
    }


def write_sessions(folder, version):
    os.makedirs(folder, exist_ok=True)
    for i in range(N_SESSIONS):
        path = os.path.join(folder, "s%03d.json" % i)
        tmp = path + ".new"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(session(i, version), f)
        os.replace(tmp, path)


def render_expected(work, version):
    """The complete notes of `version`, rendered on their own."""
    src = os.path.join(work, "expect-src-" + version)
    out = os.path.join(work, "expect-" + version)
    write_sessions(src, version)
    files = sorted(os.path.join(src, n) for n in os.listdir(src))
    r = subprocess.run([binary(), "-q", "render", "--out-dir", out] + files,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr.decode()
    notes = {}
    for name in os.listdir(out):
        with open(os.path.join(out, name), "rb") as f:
            notes[name] = f.read()
    assert len(notes) == N_SESSIONS
    return notes


class Crash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="rapport-crash-")
        cls.versions = {v: render_expected(cls.work, v) for v in ("A", "B")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        print("\ncrash safety: %d kills survived, %d notes checked, %d temporary files "
              "left by kills (hidden, never named as notes)" % (
                  STATS["kills"], STATS["files"], STATS["temps"]), file=sys.stderr)

    def check_out(self, out, allowed):
        """Every file in `out` is a complete note of an allowed version, or a
        hidden temporary file; returns the temporaries (then removed)."""
        temps = 0
        for name in os.listdir(out):
            path = os.path.join(out, name)
            if TEMP.match(name):
                temps += 1
                os.unlink(path)
                continue
            with open(path, "rb") as f:
                data = f.read()
            ok = [v for v in allowed if self.versions[v].get(name) == data]
            self.assertTrue(ok, "%s is not a complete note of version %s (%d bytes)" % (
                name, "/".join(allowed), len(data)))
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            STATS["files"] += 1
        STATS["temps"] += temps
        return temps

    def test_render_killed_while_writing(self):
        rng = random.Random(SEED)
        ws = os.path.join(self.work, "render")
        out = os.path.join(ws, "out")
        src = os.path.join(ws, "sessions")
        version = "A"
        write_sessions(src, version)
        files = sorted(os.path.join(src, n) for n in os.listdir(src))
        subprocess.run([binary(), "-q", "render", "--out-dir", out] + files, check=True)
        self.check_out(out, ["A"])
        # How long a whole run takes here, to spread the kills over it.
        t0 = time.monotonic()
        subprocess.run([binary(), "-q", "render", "--out-dir", out] + files, check=True)
        span = max(time.monotonic() - t0, 0.05)
        for _ in range(RENDER_KILLS):
            new = "B" if version == "A" else "A"
            write_sessions(src, new)
            proc = subprocess.Popen([binary(), "-q", "render", "--out-dir", out] + files,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, span))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            STATS["kills"] += 1
            self.check_out(out, [version, new])
            # Finish the run, so the next kill starts from one whole version.
            subprocess.run([binary(), "-q", "render", "--out-dir", out] + files, check=True)
            self.check_out(out, [new])
            version = new

    def test_watch_killed_while_rebuilding(self):
        rng = random.Random(SEED + 1)
        ws = os.path.join(self.work, "watch")
        src = os.path.join(ws, "sessions")
        out = os.path.join(ws, "out")
        version = "A"
        write_sessions(src, version)
        for _ in range(WATCH_KILLS):
            log = open(os.path.join(ws, "watch.log"), "wb")
            proc = subprocess.Popen([binary(), "watch"], cwd=ws, stdout=log, stderr=log)
            try:
                # Wait for the first full render.
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with open(os.path.join(ws, "watch.log"), "rb") as f:
                        if b"watching" in f.read():
                            break
                    time.sleep(0.02)
                else:
                    self.fail("watch did not start")
                self.check_out(out, [version])
                new = "B" if version == "A" else "A"
                write_sessions(src, new)
                time.sleep(rng.uniform(0, 0.4))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                log.close()
            STATS["kills"] += 1
            self.check_out(out, [version, new])
            version = new

    def test_preview_survives_connections_opened_and_dropped(self):
        ws = os.path.join(self.work, "preview")
        write_sessions(os.path.join(ws, "sessions"), "A")
        log_path = os.path.join(ws, "watch.log")
        log = open(log_path, "wb")
        proc = subprocess.Popen([binary(), "watch", "--serve"], cwd=ws, stdout=log, stderr=log)
        try:
            url = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not url:
                with open(log_path, "rb") as f:
                    m = re.search(rb"preview at (http://127\.0\.0\.1:(\d+)/\S*)", f.read())
                if m:
                    url, port = m.group(1).decode(), int(m.group(2))
                time.sleep(0.02)
            self.assertTrue(url, "no preview address")
            rng = random.Random(SEED + 2)
            for i in range(400):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                kind = rng.randrange(4)
                if kind == 1:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
                elif kind == 2:
                    s.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))))
                elif kind == 3:
                    s.sendall(b"GET /_/events?" + url.split("?", 1)[1].encode() +
                              b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
                s.close()
            self.assertIsNone(proc.poll(), "the preview server died")
            # Still answers a good request.
            path = "/?" + url.split("?", 1)[1]
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (
                path.encode(), port))
            data = b""
            s.settimeout(10)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
            self.assertIn(b"s000", data)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            log.close()
        self.assertEqual(code, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
