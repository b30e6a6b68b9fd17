"""Every example in docs/templates.md and the README is run against the real
binary, so the documentation cannot drift from what Rapport does.

docs/templates.md writes an example as fenced blocks, in this order:

    ```mustache partial=NAME   zero or more partials, saved as NAME.mustache
    ```mustache                the template, saved as note.mustache
    ```json  or  ```yaml       optional data, saved as data.json / data.yaml
    ```text output [strict]    what is printed on standard output (exit 0)
    ```text error [strict]     or: what is printed on standard error (exit 1)

Partials may also come after the template. `strict` adds --strict to the
command. Other blocks (```sh) are commands shown to the reader and are not
run. Each example runs `rapport mustache [--strict] note.mustache [DATA]` in
a fresh folder holding only its files.
"""

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import unittest

from harness import ROOT, RapportTest, binary

PLANNED_AND_AVAILABLE = ["mustache", "render", "new", "check", "list", "watch", "test", "key",
                         "sign", "amend", "verify", "log"]

DOCS = os.path.join(ROOT, "docs", "templates.md")
README = os.path.join(ROOT, "README.md")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


def fenced_blocks(path, start=0, end=None):
    """(line number, info words, content) of each fenced block of a file,
    optionally only of those between two offsets of its text."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for m in FENCE.finditer(text, start, len(text) if end is None else end):
        line = text.count("\n", 0, m.start()) + 1
        yield line, m.group(1).split(), m.group(2)


class Example:
    def __init__(self, line):
        self.line = line
        self.template = None
        self.partials = {}
        self.data = None  # (file name, content)
        self.expect = None  # ("output" or "error", text)
        self.strict = False


def examples(path):
    """The examples of docs/templates.md, in order. Raises ValueError for a
    block that does not fit the form above, so a typo cannot hide an example."""
    found, cur = [], None
    for line, info, content in fenced_blocks(path):
        lang = info[0] if info else ""
        if lang == "mustache":
            if cur is None:
                cur = Example(line)
            partial = [w[len("partial="):] for w in info[1:] if w.startswith("partial=")]
            if partial:
                cur.partials[partial[0]] = content
            elif cur.template is not None:
                raise ValueError("line %d: a second template before the output of the example at "
                                 "line %d" % (line, cur.line))
            else:
                cur.template = content
                cur.line = line
        elif lang in ("json", "yaml"):
            if cur is None or cur.data is not None:
                raise ValueError("line %d: data outside an example" % line)
            cur.data = ("data." + lang, content)
        elif lang == "text" and len(info) > 1 and info[1] in ("output", "error"):
            if cur is None or cur.template is None:
                raise ValueError("line %d: an output without a template" % line)
            cur.expect = (info[1], content)
            cur.strict = "strict" in info[2:]
            found.append(cur)
            cur = None
        elif lang in ("sh", ""):
            continue
        else:
            raise ValueError("line %d: unexpected block ```%s" % (line, " ".join(info)))
    if cur is not None:
        raise ValueError("line %d: an example without an output block" % cur.line)
    return found


class TemplatesDoc(RapportTest):
    def test_examples_are_found(self):
        # A parsing slip must not turn into "no examples, nothing failed":
        # every output block of the page belongs to an example that runs.
        with open(DOCS, encoding="utf-8") as f:
            outputs = re.findall(r"^```text (?:output|error)\b", f.read(), re.M)
        self.assertGreaterEqual(len(outputs), 15)
        self.assertEqual(len(examples(DOCS)), len(outputs))


def make_test(ex):
    def test(self):
        self.write("note.mustache", ex.template)
        for name, content in ex.partials.items():
            self.write(name + ".mustache", content)
        args = ["mustache"] + (["--strict"] if ex.strict else []) + ["note.mustache"]
        if ex.data:
            self.write(*ex.data)
            args.append(ex.data[0])
        r = self.rapport(*args)
        kind, text = ex.expect
        if kind == "output":
            self.assertRenders(r, text)
        else:
            self.assertEqual(r.code, 1, r)
            self.assertEqual(r.out, "", r)
            self.assertEqual(r.err, text, r)
    return test


for _ex in examples(DOCS):
    setattr(TemplatesDoc, "test_example_at_line_%d" % _ex.line, make_test(_ex))


class Readme(RapportTest):
    def span(self, title, next_title):
        """Offsets of the README from heading `title` to heading `next_title`
        (headings inside code blocks, such as a note's own, do not count)."""
        with open(README, encoding="utf-8") as f:
            text = f.read()
        start = text.index("\n## %s\n" % title)
        return start, text.index("\n## %s\n" % next_title, start), text

    def test_first_template_output(self):
        start, end, _ = self.span("A first template", "Notes from session files")
        blocks = [(info, content) for _, info, content in fenced_blocks(README, start, end)]
        commands = [c for info, c in blocks if info[:1] == ["sh"]]
        outputs = [c for info, c in blocks if info[:1] == ["text"]]
        self.assertEqual(len(commands), 1, blocks)
        self.assertEqual(len(outputs), 1, blocks)
        argv = shlex.split(commands[0])
        self.assertEqual(argv[:2], ["./build/rapport", "mustache"])
        r = self.rapport(*argv[1:], cwd=ROOT)
        self.assertRenders(r, outputs[0])

    def test_notes_from_session_files(self):
        # Every command of the section runs from the repository's root and
        # succeeds (their output is checked in test_notes.py).
        start, end, _ = self.span("Notes from session files", "Watch mode and the live preview")
        blocks = [c for _, info, c in fenced_blocks(README, start, end) if info[:1] == ["sh"]]
        self.assertEqual(len(blocks), 1, blocks)
        for line in blocks[0].splitlines():
            command = line.split("#")[0].strip()
            if not command:
                continue
            argv = shlex.split(command)
            redirect = None
            if ">" in argv:
                redirect = argv[argv.index(">") + 1]
                argv = argv[:argv.index(">")]
            self.assertEqual(argv[0], "./build/rapport")
            # Globs as the shell expands them, relative to the workspace.
            expanded = []
            for a in argv[1:]:
                if "*" in a:
                    base = os.path.join(ROOT, "examples", "clinic")
                    expanded += sorted(os.path.relpath(p, base) for p in glob.glob(os.path.join(base, a)))
                else:
                    expanded.append(a)
            with self.subTest(command=command):
                # Outputs go to the scratch folder, not into the repository.
                args = [os.path.join(self.dir, "out") if a == "out" else a for a in expanded]
                r = self.rapport(*args, cwd=ROOT)
                self.assertEqual(r.code, 0, r)
                if redirect:
                    self.assertIn("type: soap", r.out)

    def test_watch_section(self):
        # The command starts, renders the clinic's notes, prints the preview's
        # address, and stops cleanly on Ctrl-C. It runs in a copy of the
        # workspace, so nothing is written into the repository.
        start, end, _ = self.span("Watch mode and the live preview", "Commands")
        blocks = [c for _, info, c in fenced_blocks(README, start, end) if info[:1] == ["sh"]]
        self.assertEqual(blocks, ["./build/rapport -C examples/clinic watch --serve\n"])
        ws = os.path.join(self.dir, "clinic")
        shutil.copytree(os.path.join(ROOT, "examples", "clinic"), ws)
        proc = subprocess.Popen([binary(), "-C", ws, "watch", "--serve"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        err = b""
        try:
            deadline = time.monotonic() + 60
            while b"preview at http://127.0.0.1:" not in err and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line:
                    break
                err += line
        finally:
            proc.send_signal(signal.SIGINT)
            _, rest = proc.communicate(timeout=60)
            err += rest
        self.assertEqual(proc.returncode, 0, err.decode())
        self.assertIn(b"start: rendered 4 notes", err)
        self.assertIn(b"rapport: stopped", err)
        self.assertEqual(sorted(os.listdir(os.path.join(ws, "out"))),
                         ["al-01.md", "jd-07.md", "mk-03.md", "rb-12.md"])

    def test_opening_commands(self):
        # The README opens with the two commands a newcomer runs.
        with open(README, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("```sh\nmake run\nmake test\n```\n", text)

    def test_commands_table_matches_help(self):
        # Every command the README lists as available is available, and the
        # planned ones say so in `rapport help`.
        start, end, text = self.span("Commands", "Layout")
        table = text[start:end]
        overview = self.rapport("help").out
        seen = []
        # A cell may hold escaped bars (`md\|html`).
        for m in re.finditer(r"^\| `rapport ([a-z]+)(?:[^|\\]|\\.)*\| (.*)\|$", table, re.M):
            name, what = m.group(1), m.group(2)
            seen.append(name)
            with self.subTest(command=name):
                planned = "*(planned)*" in what
                self.assertRegex(overview, r"(?m)^  %s +%s" % (name, r"\(planned\)" if planned
                                                              else r"(?!\(planned\))"))
        self.assertEqual(sorted(seen), sorted(PLANNED_AND_AVAILABLE))


if __name__ == "__main__":
    unittest.main(verbosity=2)
