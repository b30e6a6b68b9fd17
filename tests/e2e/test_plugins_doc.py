"""docs/plugins.md is run as it reads, against the real binary, so the plugin
guide cannot drift from what Rapport does.

How the page is written, and what this test does with each part:

* Each level-2 section (`## Title`) runs in a fresh, empty workspace folder,
  and everything in it happens in order, top to bottom, as a reader would
  do it. A section with nothing to run is skipped (there is nothing in it).

* A fenced block whose first line is a file marker is saved in the
  workspace under that path, replacing any earlier file of that name:

      ```lua                        ```yaml                ```mustache
      -- file: my-plugins/x.lua     # file: session.yaml   {{! file: note.mustache }}

  The marker is a comment in the file's own language, so it stays in the
  file and line numbers in messages match what the reader sees. A marker
  ending in `(continued)` appends the rest of the block (without the marker
  line) to the file instead, after one blank line: "add this to the end of
  the file".

* A ```text block whose first line is `$ rapport ARGS...` runs the binary
  with ARGS (split as a shell would) in the workspace. The other lines are
  what it prints. Standard output and standard error are both shown, so the
  lines must be some interleaving of the two streams (a terminal and a pipe
  order them differently). A line `...` stands for any number of lines, and
  `...` inside a line for any text: the page uses it for the built-in
  plugins, which grow. The exit status must be 1 when an expected line
  holds ": error: ", 0 otherwise, unless the block's info string says
  `exit=N`.

* A ```sh block runs with /bin/sh -e in the workspace, with `rapport` on
  PATH, and must succeed: it is how the page creates folders and makes
  deliberate typos.

* A ```json block must parse; a ```yaml block without a marker must be a
  data file `rapport mustache` accepts. Any other ```lua block (one without
  a marker) is an error, and so is a ```text block that does not start with
  `$ rapport`: every piece of Lua on the page is something that runs.

Besides the page itself, this file checks that the tutorial's finished
plugin is examples/plugins/homework.lua, that the examples' tests pass,
that every option of core/lua/api.c is documented on the page and annotated
in plugins/meta/rapport.lua, that the meta file is valid Lua 5.4, and that
.luarc.json says what the page says.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

from harness import ROOT, RapportTest, binary, interleaves, line_matches

DOC = os.path.join(ROOT, "docs", "plugins.md")
API_C = os.path.join(ROOT, "core", "lua", "api.c")
META = os.path.join(ROOT, "plugins", "meta", "rapport.lua")
LUARC = os.path.join(ROOT, ".luarc.json")
EXAMPLES = os.path.join(ROOT, "examples", "plugins")

# The tutorial builds this file; examples/plugins/ holds the finished one.
TUTORIAL_FILE = "my-plugins/homework.lua"
TUTORIAL_RESULT = os.path.join(EXAMPLES, "homework.lua")

FENCE_OPEN = re.compile(r"^```(.*)$")
MARKERS = [
    re.compile(r"^-- file: (?P<path>\S+)(?P<cont> \(continued\))?\s*$"),
    re.compile(r"^# file: (?P<path>\S+)(?P<cont> \(continued\))?\s*$"),
    re.compile(r"^\{\{! file: (?P<path>\S+)(?P<cont> \(continued\))? \}\}\s*$"),
]


class Step:
    def __init__(self, kind, line, **kw):
        self.kind, self.line = kind, line
        self.__dict__.update(kw)


class Section:
    def __init__(self, title, line):
        self.title, self.line, self.steps = title, line, []


def parse(path):
    """The page's level-2 sections, each with its steps in order. Raises
    ValueError for a block that fits none of the forms above."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    sections = [Section("(before the first section)", 1)]
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            if lines[i].startswith("## "):
                sections.append(Section(lines[i][3:].strip(), i + 1))
            i += 1
            continue
        start = i + 1  # the line number of the opening fence
        info = m.group(1).split()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError("line %d: a fenced block that is never closed" % start)
        body = lines[i + 1:j]
        i = j + 1
        step = block_step(start, info, body)
        if step:
            sections[-1].steps.append(step)
    return [s for s in sections if s.steps]


def block_step(line, info, body):
    lang = info[0] if info else ""
    text = "\n".join(body) + "\n"
    first = body[0] if body else ""
    for marker in MARKERS:
        m = marker.match(first)
        if m:
            if m["cont"]:
                rest = "\n".join(body[1:]) + "\n"
                return Step("append", line, path=m["path"], content="\n" + rest)
            return Step("write", line, path=m["path"], content=text)
    if lang == "text":
        if not first.startswith("$ rapport"):
            raise ValueError("line %d: a ```text block must start with '$ rapport ...'" % line)
        argv = shlex.split(first[2:])
        expected = body[1:]
        code = None
        for word in info[1:]:
            if word.startswith("exit="):
                code = int(word[5:])
        if code is None:
            code = 1 if any(": error: " in e for e in expected) else 0
        return Step("run", line, argv=argv[1:], expected=expected, code=code)
    if lang == "sh":
        return Step("sh", line, script=text)
    if lang == "json":
        return Step("json", line, content=text)
    if lang == "yaml":
        return Step("yaml", line, content=text)
    if lang == "lua":
        raise ValueError("line %d: a ```lua block without a '-- file: PATH' marker" % line)
    raise ValueError("line %d: unexpected block ```%s" % (line, " ".join(info)))


def lines_of(text):
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


class PluginsDoc(RapportTest):
    def setUp(self):
        super().setUp()
        # `rapport` on PATH for the page's shell blocks.
        self.bin = os.path.join(self.dir, ".bin")
        os.makedirs(self.bin)
        os.symlink(binary(), os.path.join(self.bin, "rapport"))

    def run_step(self, step):
        where = "docs/plugins.md:%d" % step.line
        if step.kind == "write":
            self.write(step.path, step.content)
        elif step.kind == "append":
            path = os.path.join(self.dir, step.path)
            self.assertTrue(os.path.exists(path), "%s: nothing to continue in %s"
                            % (where, step.path))
            with open(path, "a", encoding="utf-8") as f:
                f.write(step.content)
        elif step.kind == "sh":
            env = dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get("PATH", ""))
            proc = subprocess.run(["/bin/sh", "-e", "-c", step.script], cwd=self.dir, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=60, check=False)
            self.assertEqual(proc.returncode, 0, "%s: the shell block failed:\n%s"
                             % (where, proc.stdout.decode("utf-8", "replace")))
        elif step.kind == "json":
            try:
                json.loads(step.content)
            except ValueError as e:
                self.fail("%s: invalid JSON: %s" % (where, e))
        elif step.kind == "yaml":
            self.write(".check.mustache", "")
            self.write(".check.yaml", step.content)
            r = self.rapport("mustache", ".check.mustache", ".check.yaml")
            self.assertEqual(r.code, 0, "%s: the YAML block does not load:\n%r" % (where, r))
        elif step.kind == "run":
            r = self.rapport(*step.argv)
            out, err = lines_of(r.out), lines_of(r.err)
            detail = ("%s: $ rapport %s\n--- expected (any interleaving of the two streams)\n"
                      "%s\n--- stdout\n%s--- stderr\n%s--- exit %d (expected %d)"
                      % (where, " ".join(step.argv), "\n".join(step.expected), r.out, r.err,
                         r.code, step.code))
            self.assertTrue(interleaves(step.expected, out, err), detail)
            self.assertEqual(r.code, step.code, detail)

    def test_page_is_found(self):
        # A parsing slip must not turn into "nothing ran, nothing failed".
        sections = parse(DOC)
        runs = [s for sec in sections for s in sec.steps if s.kind == "run"]
        files = [s for sec in sections for s in sec.steps if s.kind in ("write", "append")]
        self.assertGreaterEqual(len(runs), 20)
        self.assertGreaterEqual(len(files), 12)
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(len(runs), len(re.findall(r"^```text", text, re.M)))
        self.assertEqual(len(re.findall(r"^```lua", text, re.M)),
                         len([s for s in files if s.path.endswith(".lua")]))

    def test_tutorial_ends_with_the_example(self):
        # The tutorial's file, step by step, is the shipped example.
        tutorial = [s for s in parse(DOC) if s.title.startswith("Tutorial")]
        self.assertEqual(len(tutorial), 1)
        for step in tutorial[0].steps:
            self.run_step(step)
        with open(os.path.join(self.dir, TUTORIAL_FILE), encoding="utf-8") as f:
            built = f.read()
        with open(TUTORIAL_RESULT, encoding="utf-8") as f:
            shipped = f.read()
        self.assertEqual(built, "-- file: " + TUTORIAL_FILE + "\n" + shipped.split("\n", 1)[1])


def make_section_test(section):
    def test(self):
        for step in section.steps:
            self.run_step(step)
    return test


def slug(title):
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


for _sec in parse(DOC):
    setattr(PluginsDoc, "test_section_at_line_%d_%s" % (_sec.line, slug(_sec.title)[:40]),
            make_section_test(_sec))


class ExamplePlugins(RapportTest):
    def test_examples_pass_their_tests(self):
        r = self.rapport("--plugins", EXAMPLES, "test")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, "", r)
        m = re.fullmatch(r"(\d+) passed, 0 failed\n", r.out)
        self.assertIsNotNone(m, r)
        self.assertGreaterEqual(int(m.group(1)), 4, r)

    def test_examples_check_clean(self):
        r = self.rapport("--plugins", EXAMPLES, "check")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.err, r"^rapport: checked \d+ plugins, .*: 0 problems\n$")


def api_options():
    """{table name: [keys]} of the option tables of core/lua/api.c, and the
    lists of allowed words (field types, item types, events)."""
    with open(API_C, encoding="utf-8") as f:
        src = f.read()
    tables = {}
    common = re.search(r"#define FIELD_COMMON(.*?)\n\n", src, re.S).group(1)
    common_keys = re.findall(r'\{"(\w+)", T_', common)
    for m in re.finditer(r"static const opt (\w+)\[\] = \{(.*?)\n\};", src, re.S):
        keys = re.findall(r'\{"(\w+)", T_', m.group(2))
        if "FIELD_COMMON" in m.group(2):
            keys += common_keys
        tables[m.group(1)] = keys
    words = {}
    for name in ("field_types", "item_types", "events"):
        body = re.search(r"static const char \*const %s\[\] = \{(.*?)\};" % name, src, re.S)
        words[name] = re.findall(r'"(\w+)"', body.group(1))
    return tables, words


# Which class of plugins/meta/rapport.lua annotates which option table.
META_CLASSES = {
    "field_opts": "rapport.Field",
    "list_item_opts": "rapport.ListItem",
    "note_type_opts": "rapport.NoteTypeOptions",
    "checklist_item_opts": "rapport.ChecklistItem",
    "checklist_opts": "rapport.ChecklistOptions",
    "cutoff_opts": "rapport.Cutoff",
    "band_opts": "rapport.Band",
    "measure_opts": "rapport.MeasureOptions",
}


def meta_fields(text, cls):
    """The ---@field names of class `cls` in the meta file (its own and those
    of the classes it extends)."""
    m = re.search(r"^---@class %s(?:\s*:\s*([\w.]+))?\s*$(.*?)^(?!---)" % re.escape(cls), text,
                  re.M | re.S)
    if not m:
        return None
    fields = re.findall(r"^---@field (\w+)\??\s", m.group(2), re.M)
    if m.group(1):
        fields += meta_fields(text, m.group(1)) or []
    return fields


class ApiCoverage(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tables, self.words = api_options()
        with open(DOC, encoding="utf-8") as f:
            self.doc = f.read()
        with open(META, encoding="utf-8") as f:
            self.meta = f.read()

    def test_tables_were_found(self):
        self.assertEqual(sorted(self.tables), sorted(META_CLASSES))
        self.assertIn("rating", self.words["field_types"])

    def test_every_option_is_documented(self):
        # The reference lists each option as a table row: | `key` | ...
        for table, keys in self.tables.items():
            for key in keys:
                with self.subTest(table=table, key=key):
                    self.assertRegex(self.doc, r"(?m)^\| `%s` \|" % key)

    def test_every_allowed_word_is_documented(self):
        for name, words in self.words.items():
            for w in words:
                with self.subTest(list=name, word=w):
                    self.assertIn("`%s`" % w, self.doc)
                    self.assertIn('"%s"' % w, self.meta)

    def test_every_option_is_annotated(self):
        for table, cls in META_CLASSES.items():
            with self.subTest(table=table, cls=cls):
                fields = meta_fields(self.meta, cls)
                self.assertIsNotNone(fields, "no ---@class %s in the meta file" % cls)
                self.assertEqual(sorted(set(fields)), sorted(self.tables[table]))

    def test_every_function_is_annotated(self):
        for fn in ("note_type", "checklist", "measure", "filter", "lambda", "on", "test"):
            with self.subTest(fn=fn):
                self.assertRegex(self.meta, r"(?m)^function rapport\.%s\(" % fn)
                self.assertRegex(self.doc, r"(?m)^### `rapport\.%s" % fn)
        for helper in ("eq", "ok", "fails", "render"):
            with self.subTest(helper=helper):
                self.assertRegex(self.meta, r"(?m)^function T\.%s\(" % helper)
                self.assertIn("`t.%s(" % helper, self.doc)


class EditorSupport(RapportTest):
    def test_meta_file_is_valid_lua(self):
        # The meta file never runs in Rapport, but it must be valid Lua 5.4:
        # loaded as a plugin of its own, it registers nothing and fails not.
        os.makedirs(os.path.join(self.dir, "meta"))
        shutil.copy(META, os.path.join(self.dir, "meta", "annotations.lua"))
        r = self.rapport("--plugins", "meta", "check")
        self.assertEqual(r.code, 0, r)
        self.assertIn("0 problems", r.err, r)

    def test_meta_file_is_not_built_in(self):
        r = self.rapport("list")
        self.assertNotIn("meta", r.out, r)

    def test_luarc(self):
        with open(LUARC, encoding="utf-8") as f:
            rc = json.load(f)
        self.assertEqual(rc["runtime.version"], "Lua 5.4")
        self.assertEqual(rc["workspace.library"], ["plugins/meta"])
        self.assertIn("rapport", rc["diagnostics.globals"])
        for lib in ("io", "debug", "package", "os"):
            self.assertEqual(rc["runtime.builtin"][lib], "disable", lib)
        # The page shows a clinic the same settings for its own workspace.
        with open(DOC, encoding="utf-8") as f:
            blocks = re.findall(r"^```json\n(.*?)^```$", f.read(), re.M | re.S)
        clinic = [json.loads(b) for b in blocks if "runtime.builtin" in b]
        self.assertEqual(len(clinic), 1)
        for key, value in rc.items():
            if key not in ("$schema", "workspace.library"):
                self.assertEqual(clinic[0].get(key), value, key)


if __name__ == "__main__":
    unittest.main(verbosity=2)
