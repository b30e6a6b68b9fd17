"""The live preview in a real browser: headless Chromium opens the page
`rapport watch --serve` prints, and sees it change by itself when a session
file changes on disk, with no action on the page; a broken session shows its
problem in place of the note (with file, line and column), and the note
comes back once the file is fixed.

Runs the real binary ($RAPPORT, or build/rapport) in a copy of
examples/clinic; Chromium through tests/e2e/browser.py. Every wait has a
deadline; none of them is an assertion about speed.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import browser  # noqa: E402
from harness import binary  # noqa: E402

WAIT = 20.0  # seconds: generous, for a loaded two-core machine



def frame_sessions(page):
    """The debugging sessions of the page's frames that run in processes of
    their own (the note's frame is sandboxed, so Chromium gives it one), the
    newest first, without those that have gone."""
    events = page.browser.events
    gone = {p.get("sessionId") for name, p, _ in events if name == "Target.detachedFromTarget"}
    found = [p["sessionId"] for name, p, s in events
             if name == "Target.attachedToTarget" and s == page.session
             and p.get("targetInfo", {}).get("type") == "iframe"
             and p["sessionId"] not in gone]
    return list(reversed(found))


def evaluate_in(page, session, expression):
    r = page.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                          session)
    return r.get("result", {}).get("value")


def visible_text(page):
    """The text a page shows: its own and its note frame's (which the page's
    own scripts cannot read: the test reads it through the frame's target)."""
    texts = []
    try:
        texts.append(page.evaluate("document.body ? document.body.innerText : ''") or "")
    except browser.BrowserError:
        pass  # replaced while it reloads: not yet
    for session in frame_sessions(page)[:1]:
        try:
            texts.append(evaluate_in(page, session,
                                     "document.body ? document.body.innerText : ''") or "")
        except browser.BrowserError:
            pass
    return "\n".join(texts)


def count_in_frames(page, selector):
    """How many elements match `selector` in the page and in its note frame."""
    expr = "document.querySelectorAll(%r).length" % selector
    total = page.evaluate(expr) or 0
    for session in frame_sessions(page)[:1]:
        total += evaluate_in(page, session, expr) or 0
    return total


class Watch:
    """`rapport watch --serve` running in a workspace, its stderr collected."""

    def __init__(self, ws):
        self.lines = []
        self.proc = subprocess.Popen([binary(), "watch", "--serve"], cwd=ws,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_line(self, pattern, timeout=WAIT):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = rx.search(line)
                if m:
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("no line matching %r; stderr:\n%s" % (pattern,
                                                                   "\n".join(self.lines)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        self.proc.stderr.close()
        return self.proc.returncode


def write(path, text):
    """Saves the way most editors do: a temporary file renamed over."""
    tmp = os.path.join(os.path.dirname(path), ".%s.tmp" % os.path.basename(path))
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class Preview(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.browser = browser.Browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rapport-preview-")
        self.ws = os.path.join(self.tmp, "clinic")
        shutil.copytree(os.path.join(ROOT, "examples", "clinic"), self.ws)
        self.session = os.path.join(self.ws, "sessions", "jd-07.yaml")
        with open(self.session, encoding="utf-8") as f:
            self.original = f.read()
        self.watch = Watch(self.ws)
        self.url = self.watch.wait_line(r"preview at (http://127\.0\.0\.1:\d+/\S*)").group(1)
        self.page = self.browser.new_page()
        # Out-of-process frames (the sandboxed note) become targets the test
        # can read.
        self.page.call("Target.setAutoAttach", {"autoAttach": True,
                                                "waitForDebuggerOnStart": False,
                                                "flatten": True})

    def tearDown(self):
        code = self.watch.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(code, 0, "\n".join(self.watch.lines))

    def open_note(self, note_id):
        self.page.goto(self.url)
        self.page.wait_for("document.querySelector('a[href*=\"%s\"]') !== null" % note_id,
                           timeout=WAIT)
        href = self.page.evaluate("document.querySelector('a[href*=\"%s\"]').href" % note_id)
        self.page.goto(href)

    def wait_text(self, fragment, present=True):
        deadline = time.monotonic() + WAIT
        text = ""
        while time.monotonic() < deadline:
            text = visible_text(self.page)
            if (fragment in text) == present:
                return
            time.sleep(0.1)
        raise AssertionError("the page %s %r in time:\n%s\n--- stderr\n%s" % (
            "never showed" if present else "still shows", fragment, text,
            "\n".join(self.watch.lines)))

    def test_the_index_lists_every_note(self):
        self.page.goto(self.url)
        for note_id in ("jd-07", "al-01", "mk-03", "rb-12"):
            self.wait_text(note_id)

    def test_the_page_follows_the_session_file(self):
        self.open_note("jd-07")
        self.wait_text("Affect congruent, engaged throughout.")
        write(self.session, self.original.replace("Affect congruent", "Affect brightened"))
        self.wait_text("Affect brightened, engaged throughout.")
        self.wait_text("Affect congruent", present=False)
        # Once more: the page keeps listening.
        write(self.session, self.original.replace("Affect congruent", "Affect guarded"))
        self.wait_text("Affect guarded, engaged throughout.")

    def test_a_broken_session_shows_its_problem_until_fixed(self):
        self.open_note("jd-07")
        self.wait_text("Affect congruent")
        broken = self.original.replace("level: none", "level: extreme")
        write(self.session, broken)
        line = broken.splitlines().index(
            next(l for l in broken.splitlines() if "extreme" in l)) + 1
        col = next(l for l in broken.splitlines() if "extreme" in l).index("extreme") + 1
        where = "sessions/jd-07.yaml:%d:%d" % (line, col)
        self.wait_text(where)
        self.wait_text("risk.level")
        # The problem never quotes what the session holds.
        self.assertNotIn("extreme", visible_text(self.page))
        write(self.session, self.original.replace("Affect congruent", "Affect settled"))
        self.wait_text("Affect settled")
        self.wait_text(where, present=False)

    def test_session_text_is_never_markup_in_the_preview(self):
        self.open_note("jd-07")
        self.wait_text("Affect congruent")
        write(self.session, self.original.replace(
            "Affect congruent", "Affect <b>bold</b> <script>alert(1)</script>"))
        self.wait_text("Affect <b>bold</b> <script>alert(1)</script>")
        # The preview's own page has one script (its refresher); the note
        # frame none, and no element made from the session's text.
        self.assertEqual(count_in_frames(self.page, "b"), 0)
        self.assertEqual(count_in_frames(self.page, "script"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
