#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/TARGET/.

The seeds come from what the repository already holds (the Mustache spec
files in tests/spec/, the regressions, the built-in templates and plugins,
the examples, the session examples of docs/notes.md, the hostile plugins)
plus a few inputs written here for what those do not reach. Each target's
folder is emptied and written again, so the script is the one source of the
checked-in seeds: run it from the repository's root after changing it.
"""

import hashlib
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fuzz" / "corpus"

# Per target, at most this many seeds, and none larger than its -max_len
# (tests/fuzz/run.sh) so that every seed is run whole.
LIMITS = {
    "template": (64, 4096),
    "filters": (40, 2048),
    "yaml_session": (48, 16384),
    "json_session": (30, 16384),
    "jsonl": (20, 16384),
    "preview_http": (30, 9000),
    "plugin": (50, 8192),
}


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


class Corpus:
    def __init__(self, target):
        self.target = target
        self.dir = OUT / target
        self.seeds = {}

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        count, max_len = LIMITS[self.target]
        if len(data) > max_len or len(self.seeds) >= count:
            return
        if data in self.seeds.values():
            return
        self.seeds[slug(name) or hashlib.sha1(data).hexdigest()[:12]] = data

    def write(self):
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        for name, data in sorted(self.seeds.items()):
            (self.dir / name).write_bytes(data)
        print(f"{self.target}: {len(self.seeds)} seeds, {sum(map(len, self.seeds.values()))} bytes")


def spec_tests():
    """(file stem, test) of the spec files and the regressions, a few of each."""
    files = sorted((ROOT / "tests" / "spec").glob("*.json"))
    files.append(ROOT / "tests" / "regressions" / "templates.json")
    for path in files:
        tests = json.loads(path.read_text())["tests"]
        # Spread over the file: its first, last and some in between.
        step = max(1, len(tests) // 4)
        for t in tests[::step][:4]:
            yield path.stem.lstrip("~"), t


def fenced_blocks(path, lang):
    text = path.read_text()
    return re.findall(r"^```" + lang + r"[^\n]*\n(.*?)^```", text, re.S | re.M)


def template_seeds():
    c = Corpus("template")
    for stem, t in spec_tests():
        data = t.get("data", {})
        # The spec's lambdas are code for other languages: the fixed tree's
        # own lambdas stand in for them.
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (isinstance(v, dict) and "lua" in v)}
        text = t["template"].encode() + b"\0" + json.dumps(data).encode()
        c.add(f"spec-{stem}-{t['name']}", text)
    for path in sorted((ROOT / "templates").glob("*.mustache")):
        c.add(f"builtin-{path.stem}", path.read_bytes())
    hello = ROOT / "examples" / "hello"
    c.add("hello-note", (hello / "note.mustache").read_bytes() + b"\0" + (hello / "session.json").read_bytes())
    c.add("hello-goal", (hello / "goal.mustache").read_bytes())
    c.add("clinic-dap", (ROOT / "examples" / "clinic" / "templates" / "dap.md.mustache").read_bytes())
    # The fixed partials, parents, lambdas and globals of fuzz_template.c.
    c.add("partials", "{{>p}}{{>partial}}{{>node}}{{>indented}}{{>delims}}{{>filtered}}{{>lambdas}}\n")
    c.add("parent", "{{<parent}}{{$a}}over {{x}}{{/a}}{{/parent}}\n  {{<parent}}\n  {{$b}}\n    b\n  {{/b}}\n  {{/parent}}\n")
    c.add("dynamic", "{{>*dyn}} {{<*dyn2}}{{$a}}dyn{{/a}}{{/*dyn2}}")
    c.add("lambdas", "{{lambda}} {{#wrap}}{{x}}{{/wrap}} {{#boom}}b{{/boom}} {{glambda}} {{#gwrap}}g{{/gwrap}} {{gx}}")
    c.add("strict-missing", "{{missing.name}}{{#nothing}}x{{/nothing}}{{^nothing}}y{{/nothing}}{{>missing}}")
    c.add("dots", "{{m.a.b.c}} {{#m}}{{x}} {{a.b.c}}{{#list}}{{x}}{{/list}}{{/m}} {{.}}\n")
    c.add("numbers", "{{#list}}{{.}};{{/list}} {{n}} {{big}} {{mz}} {{huge}} {{tiny}} {{int}}")
    c.add("escapes", "{{x}} {{{x}}} {{&x}} {{b}} {{{b}}} {{utf}} {{nl}}")
    c.add("json-data", '{{#a}}{{b}}{{/a}}\0{"a": [{"b": 1}, {"b": "two"}, {"b": null}], "b": true}')
    c.add("delimiters", "{{=<% %>=}}<%x%> <%={{ }}=%>{{x}} {{=| |=}}|x||={{ }}=|")
    c.add("nested", "{{#l}}{{#l}}{{#l}}{{#l}}{{.}}{{/l}}{{/l}}{{/l}}{{/l}}")
    c.add("filters", '{{ name | upper }} {{ d | date "%A %d %B %Y" }} {{ list | count }} {{ z | default "none" }}')
    c.add("bad-tags", "{{#a}}{{/b}} {{ }} {{! unclosed\n{{{x}} {{=a=}} {{>}}")
    c.write()


def filters_seeds():
    c = Corpus("filters")
    doc = (ROOT / "docs" / "templates.md").read_text()
    for block in fenced_blocks(ROOT / "docs" / "templates.md", "mustache"):
        for tag in re.findall(r"\{\{([^{}]*\|[^{}]*)\}\}", block):
            c.add(f"doc-{tag}", tag.strip())
    del doc
    lines = [
        "name | upper",
        "name | lower",
        "utf | upper\nutf | lower",
        'z | default "none"\ne | default "empty"\nzero | default 0\nempty | default "[]"',
        'list | join\nstrs | join ", "\nempty | join "-"\nx | join',
        'd | date\nd | date "%A %d %B %Y"\ndt | date "%H:%M %I %p %j %e"\ndts | date "%y %b %a %%"',
        'bad | date\nleap | date "%d"\nn | date\nx | date "%Q"',
        "list | count\nname | count\nobj | count\nempty | count\nt | count\nn | count",
        'missing | default "x" | upper | count',
        "&x | upper\n&b | lower",
        'session.date | date "%d %b %Y"\nclient.name | lower\ndiagnoses | join "; " | upper',
        'x | nosuch\nx | upper "arg"\nx | default\nx | default "a" "b"\nx | join "a" "b"',
        'x | default "\\"q\\" \\\\ \\n \\t"',
        "n | upper\nbig | lower\nmz | upper\nneg | count",
        'x | | upper\nx |\n| upper\nx | default "unterminated',
        'x | default 1.5e3\nx | default -0\nx | default 1e999\nx | default 0x10',
        "lambda | upper\nglambda | lower\nwrap | count",
        "m.list | count\nm.a | count\nm.a.b.c | upper",
        "ws | upper\nnl | lower\nnl | count",
        'dt | date "%Y-%m-%dT%H:%M:%S"\ndts | date "%s %c %x"',
    ]
    for i, text in enumerate(lines):
        c.add(f"chain-{i:02d}-{text.split(chr(10))[0]}", text)
    c.write()


def sessions():
    """Session files as (name, text): the examples, the test data and docs."""
    out = []
    for path in sorted((ROOT / "examples" / "clinic" / "sessions").glob("*.yaml")):
        out.append((f"clinic-{path.stem}", path.read_bytes()))
    for path in sorted((ROOT / "tests" / "unit" / "data").iterdir()):
        out.append((f"unit-{path.name}", path.read_bytes()))
    out.append(("hello-session.json", (ROOT / "examples" / "hello" / "session.json").read_bytes()))
    for lang in ("yaml", "json"):
        for i, block in enumerate(fenced_blocks(ROOT / "docs" / "notes.md", lang)):
            out.append((f"notes-{lang}-{i:02d}", block.encode()))
    return out


def yaml_seeds():
    c = Corpus("yaml_session")
    for name, text in {
        "anchors": "type: soap\na: &x [1, 2]\nb: *x\n",
        "tags": "type: !!str soap\nn: !custom 3\n",
        "documents": "type: soap\n---\ntype: dap\n...\n",
        "complex-key": "? [a, b]\n: c\n",
        "numbers": "n: [0777, -012, 007.5, 0, -0, 0.5, 0o17, 0x1F, 1e3, .inf, -.INF, .nan, +12]\n",
        "booleans": "b: [yes, no, on, off, true, True, FALSE, null, Null, ~, '']\n",
        "block-scalars": "subjective: |+\n  kept\n\nobjective: >-\n  folded\n  text\nplan: |2\n   indented\n",
        "quotes": "a: 'it''s'\nb: \"tab\\tand \\u00e9 \\x41 \\\\\"\nc: \"\\N\\_\\L\\P\"\n",
        "duplicate-key": "type: soap\ntype: dap\n",
        "flow": "{type: soap, client: {id: C-1, initials: A.B.}, measures: {srs: [1, 2.5, 10]}}\n",
        "bom": "\ufefftype: soap\n",
        "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
        "dates": "session: {date: 2026-02-30, start: 2026-11-24T09:30:00, end: 24:00}\n",
    }.items():
        c.add(name, text)
    for name, text in sessions():
        if not name.endswith("json") and "-json-" not in name:
            c.add(name, text)
    c.write()


def to_json(value):
    # PyYAML types dates; the loaders see them as text.
    return json.dumps(value, default=str, ensure_ascii=False, indent=1)


def json_seeds():
    import yaml  # PyYAML, only to turn the YAML examples into JSON

    c = Corpus("json_session")
    for name, text in sessions():
        if name.endswith("json") or "-json-" in name:
            c.add(name, text)
    for path in sorted((ROOT / "examples" / "clinic" / "sessions").glob("*.yaml")):
        c.add(f"clinic-{path.stem}-json", to_json(yaml.safe_load(path.read_text())))
    for name, text in {
        "numbers": '{"n": [0, -0, 1.5, 1e21, 1E-7, 1e999, -1e999, 9007199254740993, 0.1]}',
        "escapes": '{"s": "\\u00e9\\ud83d\\ude00\\u0000\\n\\"\\\\\\/", "t": "\\ud800"}',
        "duplicate": '{"type": "soap", "type": "dap"}',
        "trailing": '{"type": "soap"} {}',
        "deep": "[" * 70 + "]" * 70,
        "bom": '\ufeff{"type": "soap"}',
        "scalars": "[true, false, null, \"\", 0]",
        "wrong-types": '{"type": "soap", "client": [], "session": {"date": 20261124, "number": "7", "minutes": 1e3}, "risk": {"level": "extreme"}, "alliance": {"trust": 9}, "measures": {"srs": [11, -1, "x"]}}',
    }.items():
        c.add(name, text)
    c.write()


def jsonl_seeds():
    import yaml

    c = Corpus("jsonl")
    lines = []
    for path in sorted((ROOT / "examples" / "clinic" / "sessions").glob("*.yaml")):
        lines.append(json.dumps(yaml.safe_load(path.read_text()), default=str))
    c.add("clinic-batch", "\n".join(lines) + "\n")
    c.add("clinic-crlf", "\r\n".join(lines))
    for i, block in enumerate(fenced_blocks(ROOT / "docs" / "notes.md", "jsonl")):
        c.add(f"notes-jsonl-{i:02d}", block)
    for name, text in {
        "blank-lines": '\n  \t\n{"a": 1}\n\n\n[2]\n   \n',
        "bad-lines": '{"a": 1}\n{bad}\n[1, 2\n"ok"\n{"a": 1, "a": 2}\n',
        "no-final-newline": '{"a": 1}\n{"b": 2}',
        "long-line": '{"s": "' + "x" * 300 + '"}\n{"t": 1}\n',
        "nul-and-cr": '{"a": 1}\r\n\x00\n{"b": "\r"}\r\r\n',
        "scalars": "1\n-0\n1e999\ntrue\nnull\n\"s\"\n[]\n{}\n",
    }.items():
        c.add(name, text)
    c.write()


def preview_seeds():
    c = Corpus("preview_http")
    host = "Host: 127.0.0.1:$PORT\r\n"
    get = "GET {} HTTP/1.1\r\n" + host + "\r\n"
    for path in ["/?t=$TOKEN", "/n/jd-07?t=$TOKEN", "/n/jd-07/page?t=$TOKEN", "/n/jd-07/state?t=$TOKEN",
                 "/n/broken?t=$TOKEN", "/n/broken/page?t=$TOKEN", "/n/broken/state?t=$TOKEN",
                 "/n/no-errors/state?t=$TOKEN", "/n/a.b_c-1/page?t=$TOKEN", "/n/nope?t=$TOKEN",
                 "/_/events?t=$TOKEN", "/_/preview.js?t=$TOKEN", "/_/preview.css?t=$TOKEN",
                 "/n/../etc/passwd?t=$TOKEN", "/?t=$TOKEN&t=$TOKEN", "/?x=1&t=$TOKEN&y", "/",
                 "/?t=0123456789abcdef0123456789abcdef", "*", "http://127.0.0.1:$PORT/?t=$TOKEN"]:
        c.add(f"get-{path}", get.format(path))
    c.add("head", "HEAD /n/jd-07/page?t=$TOKEN HTTP/1.1\r\n" + host + "\r\n")
    c.add("head-events", "HEAD /_/events?t=$TOKEN HTTP/1.1\r\n" + host + "\r\n")
    c.add("post", "POST /?t=$TOKEN HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc")
    c.add("chunked", "GET /?t=$TOKEN HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    c.add("origin", "GET /?t=$TOKEN HTTP/1.1\r\n" + host + "Origin: http://localhost:$PORT\r\nOrigin: http://evil\r\n\r\n")
    c.add("localhost", "GET /?t=$TOKEN HTTP/1.1\r\nHost: LOCALHOST:$PORT \r\nOrigin: http://127.0.0.1:$PORT\r\n\r\n")
    c.add("two-hosts", "GET /?t=$TOKEN HTTP/1.1\r\n" + host + host + "\r\n")
    c.add("http10", "GET /?t=$TOKEN HTTP/1.0\r\n" + host + "\r\n")
    c.add("http2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    c.add("several", (get.format("/_/events?t=$TOKEN") + "\0" + get.format("/?t=$TOKEN") + "\0"
                      + get.format("/n/jd-07/state?t=$TOKEN") + "\0" + get.format("/")))
    c.add("pipelined", get.format("/?t=$TOKEN") + get.format("/n/jd-07?t=$TOKEN"))
    c.add("folded-header", "GET /?t=$TOKEN HTTP/1.1\r\nHost:\r\n 127.0.0.1:$PORT\r\nX-Long-Header-Name-Over-Limit: v\r\n\r\n")
    c.write()


HOSTILE = [1, 7, 12, 14, 17, 21, 23, 26, 27, 29, 32, 34, 41, 43, 47, 51, 53, 55, 58, 60,
           63, 66, 67, 69, 74, 79, 82, 84, 88, 91, 93, 96, 97, 99, 101, 102, 106]


def plugin_seeds():
    c = Corpus("plugin")
    for path in sorted((ROOT / "examples").rglob("*.lua")):
        c.add(f"example-{path.stem}", path.read_bytes())
    for path in sorted((ROOT / "plugins").glob("*.lua")):
        c.add(f"builtin-{path.stem}", path.read_bytes())
    hostile = ROOT / "tests" / "plugins" / "hostile"
    for path in sorted(hostile.glob("*.lua")):
        if int(path.name[:3]) in HOSTILE:
            c.add(f"hostile-{path.stem}", path.read_bytes())
    c.add("everything", """\
local helper = require "helper"
rapport.filter("shout", function(v, n) return tostring(v):upper() .. string.rep("!", n or 1) end)
rapport.lambda("bold", function(text) return text and ("**" .. text .. "**") or "{{x}}" end)
rapport.on("session", function(s) s.extra = helper.twice("x") end)
rapport.on("note", function(n) n.cycle = n; return n end)
rapport.note_type {
  id = "soap", title = "SOAP", layout = "soap",
  fields = {
    { id = "client.id", type = "string", required = true },
    { id = "session.date", type = "date", required = true },
    { id = "score", type = "rating", min = 1, max = 5, default = "3" },
    { id = "kind", type = "enum", values = { "a", "b" } },
    { id = "items", type = "list", items = { type = "object", fields = { { id = "x", type = "number" } } } },
  },
  compute = function(note) note.total = 1 / 0; note.nested = { { { {} } } }; return note end,
}
rapport.test("renders", function(t) t.eq(t.render("{{x | shout 2}}", { x = "a" }), "A!!") end)
""")
    c.add("checklist-measure", """\
rapport.checklist { id = "hw", title = "Homework", items = {
  { id = "done", label = "Done", type = "flag" },
  { id = "rating", label = "Rating", type = "rating", min = 1, max = 5, note = true } },
  summarize = function(a) return { flags = { a and "x" } } end }
rapport.measure { id = "m", title = "M", items = 3, min = 0, max = 10,
  score = function(items) local s = 0 for _, v in ipairs(items) do s = s + v end return { total = s } end }
""")
    c.write()


def main():
    template_seeds()
    filters_seeds()
    yaml_seeds()
    json_seeds()
    jsonl_seeds()
    preview_seeds()
    plugin_seeds()


if __name__ == "__main__":
    main()
