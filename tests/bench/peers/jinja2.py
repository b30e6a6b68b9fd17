#!/usr/bin/python3
"""Peer: Jinja2 rendering note.jinja, the Jinja translation of note.mustache.

Run with Debian's /usr/bin/python3 and python3-jinja2. Autoescape is on; a
finalize hook escapes with the same entities as the Mustache engines
(&quot; for ", where markupsafe would write &#34;). The template is compiled
once and each JSONL line is rendered against it.

Usage: jinja2.py TEMPLATE DATA...   (partials are looked up next to TEMPLATE)
"""

import json
import os
import sys

# This file is called jinja2.py: keep its own directory off the import path
# so that "import jinja2" finds the library, not this script.
sys.path = [p for p in sys.path
            if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import jinja2  # noqa: E402
from markupsafe import Markup  # noqa: E402

FLUSH_AT = 1 << 20


def html_escape(value):
    if isinstance(value, Markup):
        return value
    s = str(value)
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if '"' in s:
        s = s.replace('"', "&quot;")
    if "'" in s:
        s = s.replace("'", "&#39;")
    return Markup(s)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: jinja2.py TEMPLATE DATA...")
    template_path = sys.argv[1]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.dirname(template_path) or "."),
        autoescape=True, finalize=html_escape,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    template = env.get_template(os.path.basename(template_path))

    out = sys.stdout.buffer
    chunks, size = [], 0
    for data_path in sys.argv[2:]:
        with open(data_path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                text = template.render(json.loads(line))
                chunks.append(text)
                size += len(text)
                if size >= FLUSH_AT:
                    out.write("".join(chunks).encode("utf-8"))
                    chunks, size = [], 0
    out.write("".join(chunks).encode("utf-8"))
    out.flush()


if __name__ == "__main__":
    main()
