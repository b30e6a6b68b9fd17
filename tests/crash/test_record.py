"""Crash safety of the signed record: `rapport sign` is killed with SIGKILL
at random moments while it signs a batch of sessions, many times over
(half of the kills aimed at the end of the run, where it commits).
After every kill the record must verify (`rapport verify` exits 0), and the
batch must be in it whole or not at all (one sign of up to 256 sessions is
one transaction): the number of entries is the number before the kill, or
that plus the batch. Then the batch is signed again to completion, and the
next round starts.

Seeded, so a failure can be replayed: RAPPORT_CRASH_SEED=N. The figures are
printed at the end.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from harness import binary  # noqa: E402

SEED = int(os.environ.get("RAPPORT_CRASH_SEED", "20261206"))
SANITIZED = os.environ.get("RAPPORT_SANITIZED", "") in ("1", "ON", "on", "true")
KILLS = 10 if SANITIZED else 30
BATCH = 60
STATS = {"kills": 0, "whole": 0, "absent": 0}
VERIFIED = re.compile(r"^(\d+) entries verified$", re.M)


def session(round_, i):
    return {
        "type": "soap",
        "client": {"id": "R%03d-%03d" % (round_, i), "initials": "K."},
        "session": {"date": "2026-11-%02d" % (1 + i % 28), "number": 1},
        "clinician": {"name": "Dana Whitfield"},
        "subjective": ("Round %d, session %d. " % (round_, i)) * 30,
        "objective": "Engaged.", "assessment": "Progress.", "plan": "Continue.",
        "risk": {"level": "none"},
    }


class RecordCrash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="rapport-crash-record-")
        cls.env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(cls.work, "config"),
                       RAPPORT_PASSPHRASE="correct horse battery staple")
        r = subprocess.run([binary(), "key", "new", "--name", "Dana Whitfield"], cwd=cls.work,
                           env=cls.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert r.returncode == 0, r.stderr.decode()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        print("\nrecord crash safety: %d kills survived; batch whole after %d, absent after %d"
              % (STATS["kills"], STATS["whole"], STATS["absent"]), file=sys.stderr)

    def sign(self, files, **kw):
        return subprocess.Popen([binary(), "-q", "sign"] + files, cwd=self.work, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)

    def entries(self):
        r = subprocess.run([binary(), "verify"], cwd=self.work, env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, "the record does not verify after a kill:\n%s"
                         % r.stderr.decode())
        return int(VERIFIED.search(r.stdout.decode()).group(1))

    def test_sign_killed_at_random_moments(self):
        rng = random.Random(SEED)
        # How long one batch takes here, to spread the kills over it.
        files = self.write_round(0)
        t0 = time.monotonic()
        self.assertEqual(self.sign(files).wait(), 0)
        span = max(time.monotonic() - t0, 0.05)
        count = self.entries()
        self.assertEqual(count, BATCH)
        for round_ in range(1, KILLS + 1):
            files = self.write_round(round_)
            proc = self.sign(files)
            # Every other kill aims at the end of the run, where the
            # transaction commits and the checkpoint is written.
            time.sleep(span * (rng.uniform(0, 1) if round_ % 2 else rng.uniform(0.85, 1.02)))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            STATS["kills"] += 1
            after = self.entries()
            self.assertIn(after, (count, count + BATCH),
                          "round %d: %d entries after the kill, %d before" % (round_, after, count))
            STATS["whole" if after > count else "absent"] += 1
            # Finish the batch: what was signed is a no-op, the rest is added.
            self.assertEqual(self.sign(files).wait(), 0)
            count = self.entries()
            self.assertEqual(count, BATCH * (round_ + 1))

    def write_round(self, round_):
        folder = os.path.join(self.work, "r%03d" % round_)
        os.makedirs(folder)
        files = []
        for i in range(BATCH):
            path = os.path.join(folder, "s%03d.json" % i)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(session(round_, i), f)
            files.append(os.path.relpath(path, self.work))
        return files


if __name__ == "__main__":
    unittest.main(verbosity=2)
