#!/usr/bin/env python3
"""The module picture of docs/architecture.md, checked against the code.

Every `#include "module/file.h"` in core/ must follow an arrow of the
picture below, and the big dependencies stay behind their one door (only
core/lua/ includes Lua's headers, only core/watch/ and core/serve/ include
uv.h, and so on). A violation names the file, the line and the rule it
breaks, and the test fails. The test also fails when core/ has a module the
picture does not know, or when two files include each other.
"""

import os
import re
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORE = os.path.join(ROOT, "core")

# module -> the modules it may include (itself always). util is the floor.
ALLOWED = {
    "util": set(),
    "template": {"util"},
    "data": {"template", "util"},  # data trees implement the engine's context interface
    "schema": {"data", "util"},
    "batch": {"util"},
    "lua": {"template", "data", "schema", "util"},
    "workspace": {"lua", "template", "util"},
    "notes": {"workspace", "lua", "schema", "template", "data", "batch", "util"},
    "record": {"notes", "data", "util"},  # the signature block is Markdown, escaped as notes escape
    "serve": {"util"},
    "watch": {"notes", "workspace", "record", "lua", "template", "data", "util"},
    "cli": {"watch", "serve", "notes", "workspace", "record", "lua", "schema", "template", "data",
            "batch", "util"},
}

# System headers with one home: header -> the modules that may include it.
DOORS = {
    "lua.h": {"lua"}, "lauxlib.h": {"lua"}, "lualib.h": {"lua"},
    "uv.h": {"watch", "serve"},
    "http_parser.h": {"serve"},
    "yaml.h": {"data"},
    "cmark-gfm.h": {"notes"}, "cmark-gfm-core-extensions.h": {"notes"},
    "sqlite3.h": {"record"}, "sodium.h": {"record"},
    "libpq-fe.h": {"record"},
}
DOOR_PREFIXES = {"yajl/": {"data"}}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def sources():
    """{path under core/: text} of every C source and header."""
    found = {}
    for d, _, files in os.walk(CORE):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                path = os.path.join(d, f)
                with open(path, encoding="utf-8") as fh:
                    found[os.path.relpath(path, CORE)] = fh.read()
    return found


def violations(files):
    found = []
    edges = {}
    for rel, text in sorted(files.items()):
        mod = rel.split("/")[0]
        shown = "core/" + rel
        if mod not in ALLOWED:
            found.append("%s: module '%s' is not in the picture (tests/layering/)" % (shown, mod))
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            if kind == '"' and "/" in name:
                target = name.split("/")[0]
                edges.setdefault(rel, set()).add(name)
                if target != mod and target not in ALLOWED[mod]:
                    found.append("%s:%d: %s may not include %s (%s -> %s is not an arrow)"
                                 % (shown, lineno, mod, name, mod, target))
                continue
            owners = DOORS.get(name)
            for prefix, mods in DOOR_PREFIXES.items():
                if name.startswith(prefix):
                    owners = mods
            if owners is not None and mod not in owners:
                found.append("%s:%d: only %s may include <%s>"
                             % (shown, lineno,
                                " and ".join("core/%s/" % o for o in sorted(owners)), name))
    # Two files that include each other.
    for a, targets in edges.items():
        for t in targets:
            if a in edges.get(t, set()) and a < t:
                found.append("core/%s and core/%s include each other" % (a, t))
    return found


class Layering(unittest.TestCase):
    def test_includes_follow_the_picture(self):
        files = sources()
        self.assertGreater(len(files), 20, "no sources found under core/")
        self.assertEqual(violations(files), [])

    def test_a_lower_module_reaching_up_is_caught(self):
        v = violations({"lua/x.c": '#include "notes/notes.h"\n',
                        "notes/y.c": '#include "cli/cli.h"\n'})
        self.assertEqual(len(v), 2, v)
        self.assertIn("core/lua/x.c:1: lua may not include notes/notes.h", v[0])

    def test_a_door_is_kept(self):
        v = violations({"cli/watch_cmd.c": "#include <stdio.h>\n#include <uv.h>\n",
                        "template/render.c": "#include <lua.h>\n",
                        "serve/gate.c": "#include <uv.h>\n#include <http_parser.h>\n"})
        self.assertEqual(v, ["core/cli/watch_cmd.c:2: only core/serve/ and core/watch/ may "
                             "include <uv.h>",
                             "core/template/render.c:1: only core/lua/ may include <lua.h>"])

    def test_files_that_include_each_other_are_caught(self):
        v = violations({"cli/a.h": '#include "cli/b.h"\n', "cli/b.h": '#include "cli/a.h"\n'})
        self.assertEqual(v, ["core/cli/a.h and core/cli/b.h include each other"])

    def test_an_unknown_module_is_caught(self):
        v = violations({"misc/z.c": ""})
        self.assertEqual(len(v), 1)
        self.assertIn("not in the picture", v[0])


if __name__ == "__main__":
    unittest.main()
