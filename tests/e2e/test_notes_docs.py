"""docs/therapists.md and docs/notes.md are run as they read, against the real
binary, so the therapists' guide and the session-file reference cannot drift
from what Rapport does.

The conventions are those of test_plugins_doc.py, with three differences
(marked *):

* * Each page runs in one fresh, empty workspace folder, top to bottom, as a
  reader would follow it: a file one part of the page writes is there for
  the commands further down.

* A fenced block whose first line is a file marker is saved in the
  workspace under that path, replacing any earlier file of that name:

      ```yaml                          ```lua                ```mustache
      # file: sessions/jd-08.yaml      -- file: plugins/x.lua  {{! file: templates/x.md.mustache }}

  The marker is a comment in the file's own language, so it stays in the
  file and line numbers in messages match what the reader sees.
  * JSON has no comments, so a JSON file is named in the block's info
  string instead: ```json file=sessions/jd-08.json

* A ```text block whose first line is `$ rapport ARGS...` runs the binary
  with ARGS (split as a shell would; * an argument holding `*` is expanded
  as the shell would, in the workspace) and compares what it prints: the
  other lines are some interleaving of standard output and standard error.
  A line `...` stands for any number of lines, and `...` inside a line for
  any text. * Spaces at the ends of lines are not compared (editors strip
  them from the page). The exit status must be 1 when an expected line holds
  ": error: ", 0 otherwise, unless the info string says `exit=N`.

* A ```sh block runs with /bin/sh -e in the workspace, with `rapport` on
  PATH, and must succeed (the pages use it to make folders and to write
  bytes a page cannot show). A ```yaml or ```json block without a file
  marker is a fragment: it must load as data (`rapport mustache`). Any other
  block is an error, so an example cannot hide from this test.

Besides running the pages, this file checks that:

* every session file a page writes renders (`rapport render`), or that a
  command further down the page, before the file is written again, shows
  the errors it gives (PATH:LINE:COL: error: ...);
* every note a page renders into a file is private (mode 0600);
* the field tables of docs/notes.md are what `rapport new TYPE` writes for
  each built-in note type: ids, kinds of value (and of a list's items),
  required marks, allowed values, ranges, defaults and labels;
* every field type is documented, and every validation message of
  core/schema/schema.c and every refusal of the loaders appears in
  docs/notes.md as something a command on the page printed.
"""

import glob
import json
import os
import re
import shlex
import stat
import subprocess
import tempfile
import unittest

from harness import ROOT, RapportTest, binary, run, interleaves, line_matches

DOCS = os.path.join(ROOT, "docs")
THERAPISTS = os.path.join(DOCS, "therapists.md")
NOTES = os.path.join(DOCS, "notes.md")
SCHEMA_C = os.path.join(ROOT, "core", "schema", "schema.c")
BUILTIN_TYPES = ["soap", "dap", "birp", "girp"]

FENCE_OPEN = re.compile(r"^```(.*)$")
MARKERS = [
    re.compile(r"^-- file: (?P<path>\S+)(?P<cont> \(continued\))?\s*$"),
    re.compile(r"^# file: (?P<path>\S+)(?P<cont> \(continued\))?\s*$"),
    re.compile(r"^\{\{! file: (?P<path>\S+)(?P<cont> \(continued\))? \}\}\s*$"),
]
SESSION_EXT = (".yaml", ".yml", ".json")


class Step:
    def __init__(self, kind, line, **kw):
        self.kind, self.line = kind, line
        self.__dict__.update(kw)


def parse(path):
    """The steps of a page, in order. Raises ValueError for a block that fits
    none of the forms above."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    steps = []
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        start = i + 1  # the line number of the opening fence
        info = m.group(1).split()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError("line %d: a fenced block that is never closed" % start)
        steps.append(block_step(start, info, lines[i + 1:j]))
        i = j + 1
    return steps


def block_step(line, info, body):
    lang = info[0] if info else ""
    text = "\n".join(body) + "\n"
    first = body[0] if body else ""
    for word in info[1:]:
        if word.startswith("file="):
            return Step("write", line, path=word[5:], content=text)
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
        expected = [e.rstrip() for e in body[1:]]
        code = None
        for word in info[1:]:
            if word.startswith("exit="):
                code = int(word[5:])
        if code is None:
            code = 1 if any(": error: " in e for e in expected) else 0
        return Step("run", line, argv=argv[1:], expected=expected, code=code)
    if lang == "sh":
        return Step("sh", line, script=text)
    if lang in ("json", "yaml"):
        return Step("fragment", line, lang=lang, content=text)
    raise ValueError("line %d: unexpected block ```%s" % (line, " ".join(info)))


def lines_of(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


def is_session(path, content):
    if not path.endswith(SESSION_EXT) or path.startswith(("plugins/", "templates/")):
        return False
    return re.search(r'(?m)^type:|"type"\s*:', content) is not None


class Page:
    """Runs a page's steps in a workspace, recording what the checks after
    the run need."""

    def __init__(self, test, path):
        self.test, self.path = test, path
        self.name = os.path.relpath(path, ROOT)
        self.steps = parse(path)
        self.pending = {}  # session path -> (doc line, render result) awaiting its errors
        self.outputs = set()  # files the page's commands wrote

    def where(self, step):
        return "%s:%d" % (self.name, step.line)

    def run(self):
        for step in self.steps:
            self.run_step(step)
        for path, (line, result) in self.pending.items():
            self.test.fail("%s:%d: %s does not render, and the page never shows why:\n%r"
                           % (self.name, line, path, result))

    def files(self):
        found = set()
        for base, dirs, names in os.walk(self.test.dir):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for n in names:
                found.add(os.path.relpath(os.path.join(base, n), self.test.dir))
        return found

    def run_step(self, step):
        t = self.test
        where = self.where(step)
        if step.kind == "write":
            if step.path in self.pending:
                line, result = self.pending.pop(step.path)
                t.fail("%s:%d: %s does not render, and the page replaces it before showing why:"
                       "\n%r" % (self.name, line, step.path, result))
            t.write(step.path, step.content)
            if is_session(step.path, step.content):
                r = t.rapport("render", "--format", "json", step.path)
                if r.code != 0:
                    self.pending[step.path] = (step.line, r)
        elif step.kind == "append":
            path = os.path.join(t.dir, step.path)
            t.assertTrue(os.path.exists(path), "%s: nothing to continue in %s" % (where, step.path))
            with open(path, "a", encoding="utf-8") as f:
                f.write(step.content)
        elif step.kind == "sh":
            env = dict(os.environ, PATH=t.bin + os.pathsep + os.environ.get("PATH", ""))
            proc = subprocess.run(["/bin/sh", "-e", "-c", step.script], cwd=t.dir, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=60, check=False)
            t.assertEqual(proc.returncode, 0, "%s: the shell block failed:\n%s"
                          % (where, proc.stdout.decode("utf-8", "replace")))
        elif step.kind == "fragment" and step.lang == "json":
            try:
                json.loads(step.content)
            except ValueError as e:
                t.fail("%s: invalid JSON: %s" % (where, e))
        elif step.kind == "fragment":
            t.write(".check/fragment.mustache", "")
            t.write(".check/fragment.yaml", step.content)
            r = t.rapport("mustache", ".check/fragment.mustache", ".check/fragment.yaml")
            t.assertEqual(r.code, 0, "%s: the YAML fragment does not load:\n%r" % (where, r))
        elif step.kind == "run":
            argv = []
            for a in step.argv:
                if "*" in a or "?" in a:
                    matches = sorted(os.path.relpath(p, t.dir)
                                     for p in glob.glob(os.path.join(t.dir, a)))
                    argv += matches or [a]
                else:
                    argv.append(a)
            before = self.files()
            r = t.rapport(*argv)
            self.outputs |= self.files() - before
            out, err = lines_of(r.out), lines_of(r.err)
            detail = ("%s: $ rapport %s\n--- expected (any interleaving of the two streams)\n"
                      "%s\n--- stdout\n%s--- stderr\n%s--- exit %d (expected %d)"
                      % (where, " ".join(step.argv), "\n".join(step.expected), r.out, r.err,
                         r.code, step.code))
            t.assertTrue(interleaves(step.expected, out, err), detail)
            t.assertEqual(r.code, step.code, detail)
            # A session that does not render is explained once a command shows
            # an error at one of its lines.
            for path in list(self.pending):
                if any(re.match(r"%s:\d+:\d+: error: " % re.escape(path), e)
                       for e in step.expected):
                    del self.pending[path]


class PageTest(RapportTest):
    def setUp(self):
        super().setUp()
        # `rapport` on PATH for the pages' shell blocks.
        self.bin = os.path.join(self.dir, ".bin")
        os.makedirs(self.bin)
        os.symlink(binary(), os.path.join(self.bin, "rapport"))

    def run_page(self, path):
        page = Page(self, path)
        runs = [s for s in page.steps if s.kind == "run"]
        self.assertGreaterEqual(len(runs), 5, "%s: too few commands found" % page.name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # A parsing slip must not turn into "nothing ran, nothing failed".
        self.assertEqual(len(runs), len(re.findall(r"^```text", text, re.M)))
        page.run()
        return page

    def assertPrivate(self, page):
        # Notes hold health information: each one a command wrote is 0600.
        notes = [p for p in page.outputs if p.endswith((".md", ".html", ".txt", ".json", ".yaml"))]
        self.assertTrue(notes, "%s: no command wrote a file" % page.name)
        for p in notes:
            mode = stat.S_IMODE(os.stat(os.path.join(self.dir, p)).st_mode)
            self.assertEqual(mode, 0o600, "%s: %s has mode %o" % (page.name, p, mode))

    def test_therapists_page(self):
        page = self.run_page(THERAPISTS)
        self.assertPrivate(page)

    def test_notes_page(self):
        page = self.run_page(NOTES)
        self.assertPrivate(page)


# --- the field tables of docs/notes.md against `rapport new TYPE` -------------------

# A field line of a skeleton: `name:` with nothing after the colon (sample
# values are only ever in comments), then its description.
SKELETON_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<id>\w+):  # (?P<desc>.*)$")
KINDS = [
    ("text on one line", "string"),
    ("text", "text"),
    ("a whole number", "integer"),
    ("a number", "number"),
    ("true or false", "boolean"),
    ("a date, YYYY-MM-DD", "date"),
    ("a date and time, YYYY-MM-DDTHH:MM", "datetime"),
    ("a rating", "rating"),
    ("a list, one item per '- ' line", "list"),
    ("a group of fields", "object"),
]
KIND = r"(?:%s|one of .*?)" % "|".join(re.escape(k) for k, _ in KINDS)
RANGE = r"(?: from \S+ to \S+| of at least \S+| of at most \S+)"
DESC = re.compile(
    r"^(?:(?P<label>[^;]*): )?(?P<kind>%s|one of (?P<values>.*?))(?P<range>%s)?"
    r"(?:; each item: (?P<item>%s%s?))?"
    r"(?:(?P<required>; required(?: in each item)?)|; optional)"
    r"(?: \(default (?P<default>[^)]*)\))?(?:; e\.g\. (?P<example>.*))?$"
    % ("|".join(re.escape(k) for k, _ in KINDS), RANGE, KIND, RANGE))


def kind_type(kind):
    """The field type a skeleton's kind of value names."""
    return "enum" if kind.startswith("one of ") else dict(KINDS)[kind]


def skeleton_lines(text):
    """(line number, line as it reads with its comment mark taken away,
    commented) for each line of a skeleton that belongs to the note type's
    fields. A list's items are comment lines indented under the list: the
    line without its "# " is what a session holds. Comment lines that start
    at the first column are the skeleton's words, or the checklists' and
    measures' parts, which are not fields of the note type."""
    for number, line in enumerate(text.split("\n"), 1):
        m = re.match(r"^( +)# (.*)$", line)
        if m:
            yield number, m.group(1) + m.group(2), True
        elif not line.startswith("#"):
            yield number, line, False


def skeleton_fields(note_type, text=None):
    """{dotted id: field} of the fields `rapport new TYPE` writes (or the
    skeleton `text`). A field is a dict: type, required, values, range,
    default, label, item (a list's item type, else ""; a list of enum's
    values are its items' values), and line, col and
    commented (where its name is). Groups are left out (their fields' dotted
    ids say they are there); a list's item fields are `LIST[].FIELD`."""
    if text is None:
        r = run(["new", note_type])
        if r.code != 0:
            raise AssertionError("rapport new %s failed:\n%r" % (note_type, r))
        text = r.out
    # stack: (indent of the frame's fields, dotted prefix) of the open groups,
    # lists and list items
    fields, stack = {}, []
    for number, line, commented in skeleton_lines(text):
        if line == "type: " + note_type:
            continue
        m = SKELETON_LINE.match(line)
        if not m:
            if re.match(r"^ *(- )?\w+:", line):
                raise AssertionError("a field line without its description, or with a value: %r"
                                     % line)
            continue
        indent = len(m["indent"])
        col = indent + 1 + (2 if m["dash"] else 0)
        while stack and stack[-1][0] > indent:
            stack.pop()
        if m["dash"]:
            # A new item of the list whose fields are at this indent: its
            # own fields are two further in, the first on the "- " line.
            stack.append((indent + 2, (stack[-1][1] if stack else "") + "[]"))
            indent += 2
        parent = stack[-1][1] if stack else ""
        dotted = (parent + "." if parent else "") + m["id"]
        d = DESC.match(m["desc"])
        if not d:
            raise AssertionError("cannot read the skeleton line %r" % line)
        typ = kind_type(d["kind"])
        rng = d["range"].strip() if d["range"] else ""
        rng = re.sub(r"^from (\S+) to (\S+)$", r"\1 to \2", rng)
        if typ in ("object", "list"):
            stack.append((indent + 2, dotted))
        if typ == "object":
            continue
        item, values = "", d["values"].split(", ") if d["values"] else []
        if d["item"]:
            item_kind = re.sub(RANGE + "$", "", d["item"])
            item = kind_type(item_kind)
            if item == "enum":
                values = item_kind[len("one of "):].split(", ")
        fields[dotted] = {
            "type": typ,
            "required": bool(d["required"]),
            "values": values,
            "range": rng,
            "default": d["default"] or "",
            "label": d["label"] or "",
            "item": item,
            "example": d["example"] or "",
            "line": number,
            "col": col,
            "commented": commented,
        }
    return fields


def table_fields(note_type):
    """skeleton_fields without what the tables of docs/notes.md do not show."""
    return dict((k, dict((a, b) for a, b in v.items()
                         if a not in ("example", "line", "col", "commented")))
                for k, v in skeleton_fields(note_type).items())


TABLE_HEAD = "| field | kind of value | required | allowed values | what it is |"
HEADING = re.compile(r"^#{2,4} (.*)$")


def doc_tables(text):
    """{heading: [row cells]} of the field tables of docs/notes.md (those with
    the header above)."""
    tables, heading = {}, None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        h = HEADING.match(line)
        if h:
            heading = h.group(1).strip()
        if line.strip() == TABLE_HEAD:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            tables.setdefault(heading, []).extend(rows)
    return tables


def doc_field(cells):
    """(dotted id, field) from a table row, in the form of skeleton_fields."""
    fid, kind, required, allowed, label = cells
    m = re.fullmatch(r"`([\w.\[\]]+)`", fid)
    if not m:
        raise AssertionError("a field id must be written `id`: %r" % cells)
    item = {"list of text": "text", "list of groups": "object", "list of enum": "enum"}.get(kind, "")
    typ = "list" if item else kind
    values = re.findall(r"`([^`]+)`", allowed.split("default")[0])
    rng = ""
    r = re.search(r"(\S+ to \S+|at least \S+|at most \S+)", allowed)
    if r:
        rng = r.group(1)
    if rng.startswith(("at least", "at most")):
        rng = "of " + rng
    d = re.search(r"default `([^`]+)`", allowed)
    return m.group(1), {
        "type": typ,
        "required": required == "yes",
        "values": values if "enum" in (typ, item) else [],
        "range": rng,
        "default": d.group(1) if d else "",
        "label": label,
        "item": item,
    }


class FieldTables(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        with open(NOTES, encoding="utf-8") as f:
            self.text = f.read()
        self.tables = doc_tables(self.text)

    def rows(self, heading):
        """The rows of the field table under the heading that starts with
        `heading`."""
        found = [h for h in self.tables if h.startswith(heading)]
        self.assertEqual(len(found), 1, "docs/notes.md needs one field table under a heading "
                         "starting with '%s' (found %r)" % (heading, found))
        return self.tables[found[0]]

    def table(self, heading):
        fields = {}
        for cells in self.rows(heading):
            fid, field = doc_field(cells)
            self.assertNotIn(fid, fields, "%s is listed twice under '%s'" % (fid, heading))
            fields[fid] = field
        return fields

    def test_skeleton_is_read(self):
        soap = skeleton_fields("soap")
        self.assertEqual(soap["session.modality"]["values"], ["in_person", "video", "phone"])
        self.assertEqual(soap["session.modality"]["default"], "in_person")
        self.assertEqual(soap["session.minutes"]["range"], "1 to 600")
        self.assertEqual(soap["session.date"]["example"], "2026-11-24")
        self.assertTrue(soap["diagnoses[].code"]["required"])
        self.assertTrue(soap["diagnoses[].code"]["commented"])
        self.assertFalse(soap["subjective"]["commented"])
        self.assertEqual(soap["homework"]["type"], "list")
        self.assertEqual(soap["homework"]["item"], "text")
        self.assertEqual(soap["diagnoses"]["item"], "object")
        self.assertEqual(soap["interventions"]["item"], "enum")
        self.assertIn("psychoeducation", soap["interventions"]["values"])
        self.assertEqual(soap["subjective"]["label"], "Subjective: what the client reports")
        self.assertNotIn("client", soap)
        self.assertNotIn("alliance.trust", soap)

    def test_every_built_in_type_is_in_the_tables(self):
        common = self.table("Fields every note type has")
        for nt in BUILTIN_TYPES:
            with self.subTest(note_type=nt):
                own = self.table("`%s`" % nt)
                self.assertFalse(set(own) & set(common))
                skeleton = table_fields(nt)
                self.assertEqual(dict(common, **own), skeleton)
                # Each table lists its fields in the order of the schema
                # (the order `rapport new` writes them in).
                self.assertEqual(list(common), [k for k in skeleton if k in common])
                self.assertEqual(list(own), [k for k in skeleton if k in own])

    def test_list_kinds(self):
        # The table says which kind of list each is, as the skeleton's
        # "each item:" does.
        common = dict((doc_field(c)[0], c[1]) for c in self.rows("Fields every note type has"))
        soap = skeleton_fields("soap")
        for fid, field in soap.items():
            if field["type"] == "list":
                has_items = any(k.startswith(fid + "[].") for k in soap)
                self.assertEqual(has_items, field["item"] == "object", fid)
                kind = common.get(fid)
                self.assertEqual(kind, "list of " + {"object": "groups"}.get(field["item"],
                                                                            field["item"]), fid)

    def test_the_skeleton_names_what_the_page_documents(self):
        # The checklists' and measures' parts of the skeleton are documented
        # on the page.
        r = run(["new", "soap"], cwd=self.scratch())
        names = re.findall(r"^# (\w+):  # ", r.out, re.M)
        self.assertEqual(names, ["alliance", "measures"])
        for name in names:
            with self.subTest(name=name):
                self.assertRegex(self.text, r"(?m)^## .*`%s`" % name)

    def scratch(self):
        # A folder without plugins/, so that only the built-in plugins load.
        tmp = tempfile.TemporaryDirectory(prefix="rapport-e2e-")
        self.addCleanup(tmp.cleanup)
        return tmp.name

    def test_every_field_type_is_documented(self):
        with open(SCHEMA_C, encoding="utf-8") as f:
            src = f.read()
        body = re.search(r"type_names\[\] = \{(.*?)\};", src, re.S).group(1)
        names = re.findall(r'"(\w+)"', body)
        self.assertEqual(len(names), 11)
        for name in names:
            with self.subTest(type=name):
                self.assertRegex(self.text, r"(?m)^\| `%s` \|" % name)


# --- every message is shown ------------------------------------------------------------

# The messages of core/schema/schema.c that no session can reach: the loader
# and `type:` come first (a file that is not a group of fields has no type
# line; an absent value is never handed to a scalar check).
UNREACHABLE = {"%s has no usable value", "a session file is a group of fields (name: value lines)"}

# What the loaders refuse, as the page must show it.
REFUSALS = [
    r"invalid YAML: anchors \(&name\) are not supported",
    r"invalid YAML: aliases \(\*name\) are not supported",
    r"invalid YAML: tags \(!tag\) are not supported",
    r'invalid YAML: duplicate key "\w+"',
    r"invalid JSON: duplicate key \"\w+\"",
    r"invalid YAML: nesting deeper than 64 levels",
    r"invalid JSON: nesting deeper than 64 levels",
    r"invalid YAML: invalid UTF-8",
    r"invalid JSON: invalid UTF-8",
    r"invalid YAML: string contains a NUL character",
    r"invalid JSON: string contains \\u0000 \(NUL\)",
    r"invalid YAML: more than one document \(a file holds one session\)",
    r"invalid JSON: trailing garbage",
    r"invalid JSON: number out of range",
    r"the session has no 'type' line naming its note type \(e\.g\. type: soap\)",
    r"unknown note type '\w+' \(note types: .*\)",
]


# The forms the general formats of schema.c take, each of which the page
# must show too.
SHAPES = [
    r"\S+ must be a whole number from \d+ to \d+",
    r"\S+ must be a number from \d+ to \d+",
    r"\S+ must be a rating from \d+ to \d+ \(got \d+\)",
    r"\S+ must be \w+(, \w+)* or \w+",
    r"\S+ must be text, not a list",
]


def format_regex(fmt):
    """A printf format as a regex for what it prints."""
    out, i = "", 0
    for m in re.finditer(r"%(?:\.\*)?[sdz]u?", fmt):
        out += re.escape(fmt[i:m.start()]) + ".+?"
        i = m.end()
    return out + re.escape(fmt[i:])


def schema_messages():
    with open(SCHEMA_C, encoding="utf-8") as f:
        src = f.read()
    msgs = []
    for m in re.finditer(r"(?:problem(?:_at)?\(c, \w+,|rp_diags_add\([^\"]*?)\s*((?:\"[^\"]*\"\s*)+)",
                         src):
        fmt = "".join(re.findall(r'"([^"]*)"', m.group(1)))
        msgs.append(fmt)
    return msgs


class MessagesShown(unittest.TestCase):
    def setUp(self):
        # The lines commands on the page print: expected lines of ```text blocks.
        self.shown = [line for s in parse(NOTES) if s.kind == "run" for line in s.expected]

    def assertShown(self, regex, what):
        pattern = re.compile(r"^\S+:\d+:\d+: error: (.*?: )?%s$" % regex)
        self.assertTrue(any(pattern.match(line) for line in self.shown),
                        "docs/notes.md shows no command printing %s" % what)

    def test_messages_were_found(self):
        msgs = schema_messages()
        self.assertGreaterEqual(len(msgs), 14, msgs)
        self.assertIn("%s is required", msgs)

    def test_every_validation_message_is_shown(self):
        for fmt in schema_messages():
            if fmt in UNREACHABLE:
                continue
            with self.subTest(message=fmt):
                self.assertShown(format_regex(fmt), repr(fmt))

    def test_every_form_is_shown(self):
        for regex in SHAPES:
            with self.subTest(form=regex):
                self.assertShown(regex, regex)

    def test_every_refusal_is_shown(self):
        for regex in REFUSALS:
            with self.subTest(refusal=regex):
                self.assertShown(regex, regex)


if __name__ == "__main__":
    unittest.main(verbosity=2)
