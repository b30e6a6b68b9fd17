"""End-to-end tests of the built-in layouts (templates/soap, dap, birp, girp
and their note-head and note-tail partials) with optional fields absent.

A session gives only what its note type requires, or that and one optional
part, or everything; each is rendered as Markdown, plain text and HTML, and
every note must read as finished text: no heading without words or without
anything under it, no empty table cell, no line that ends in a dangling word
or comma ("session ", "number ,"), no empty brackets, no doubled spaces or
blank lines.
"""

import copy
import html
import json
import os
import re
import unittest

from harness import RapportTest

SECTIONS = {
    "soap": ["subjective", "objective", "assessment", "plan"],
    "dap": ["data", "assessment", "plan"],
    "birp": ["behavior", "intervention", "response", "plan"],
    "girp": ["goals", "intervention", "response", "plan"],
}
TITLES = {"soap": "SOAP note", "dap": "DAP note", "birp": "BIRP note", "girp": "GIRP note"}


def minimal(note_type):
    """A session with only the fields its note type requires."""
    s = {
        "type": note_type,
        "client": {"id": "C-1042", "initials": "J.D."},
        "session": {"date": "2026-12-01"},
        "clinician": {"name": "Dana Whitfield"},
        "risk": {"level": "none"},
    }
    for section in SECTIONS[note_type]:
        s[section] = "Text of the %s section." % section
    return s


# One optional part each: (name, the fields it adds, what the Markdown note
# must then hold).
OPTIONAL = [
    ("number", {"session": {"number": 8}}, ["number 8", ": session 8"]),
    ("minutes", {"session": {"minutes": 50}}, ["| Session | 50 minutes, in person |"]),
    ("modality", {"session": {"modality": "video"}}, ["| Session | video |"]),
    ("credentials", {"clinician": {"credentials": "LCSW"}}, ["| Clinician | Dana Whitfield, LCSW |"]),
    ("diagnosis code", {"diagnoses": [{"code": "F41.1"}]}, ["## Diagnoses", "- F41.1"]),
    ("diagnosis label", {"diagnoses": [{"code": "F41.1", "label": "Generalized anxiety"}]},
     ["- F41.1: Generalized anxiety"]),
    ("homework", {"homework": ["Sleep diary"]}, ["## Homework", "- [ ] Sleep diary"]),
    ("risk notes", {"risk": {"notes": "No ideation."}}, ["No ideation."]),
    ("safety plan", {"risk": {"level": "high", "safety_plan": "Crisis line."}},
     ["Safety plan: Crisis line."]),
    ("one rating", {"alliance": {"trust": 4}}, ["## Therapeutic alliance", "Mean rating: 4 of 5"]),
    ("rupture only", {"alliance": {"rupture": {"noticed": "withdrawal", "addressed": True}}},
     ["## Therapeutic alliance"]),
    ("no rupture", {"alliance": {"rupture": {"noticed": "none"}}}, ["## Therapeutic alliance"]),
    ("challenge", {"alliance": {"challenges": {"power_imbalance": {"noticed": True}}}},
     ["- power imbalance noticed", "- [ ] Share power: set goals together with the client."]),
    ("srs", {"measures": {"srs": [9, 9, 9, 9]}}, ["## Session Rating Scale", "Total 36 of 40."]),
    ("ors", {"measures": {"ors": [5, 6, 4, 6]}}, ["## Outcome Rating Scale"]),
    ("wai_sr", {"measures": {"wai_sr": [5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4]}},
     ["Total 54 of 60.", "- bond: 20 of 20", "- goal: 17 of 20", "- task: 17 of 20"]),
    ("start", {"session": {"start": "14:00"}}, ["| Date | 01 December 2026, 14:00 |"]),
    ("end", {"session": {"end": "14:50"}}, ["| Date | 01 December 2026, ended 14:50 |"]),
    ("service", {"service": {"code": "90834"}}, ["| Service | 90834"]),
    ("attendees", {"attendees": ["client", "partner"]}, ["| Attended | client, partner |"]),
    ("interventions", {"interventions": ["psychoeducation"]}, ["## Interventions"]),
    ("goal", {"treatment_goals": [{"goal": "Sleep 7 hours"}]},
     ["## Treatment-plan goals", "- Sleep 7 hours"]),
    ("goal note", {"treatment_goals": [{"goal": "Sleep 7 hours", "note": "Log kept."}]},
     ["- Sleep 7 hours: Log kept."]),
    ("one exam line", {"mse": {"mood": "Low."}}, ["## Mental status exam", "- Mood: Low."]),
    ("next appointment", {"next_appointment": "2026-12-08"},
     ["## Next appointment", "08 December 2026"]),
    ("phq9", {"measures": {"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0]}},
     ["## Patient Health Questionnaire (PHQ-9)", "Total 8 of 27 (mild)."]),
    ("gad7", {"measures": {"gad7": [0, 0, 0, 0, 0, 0, 0]}}, ["Total 0 of 21 (minimal)."]),
]


def merged(base, extra):
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def full(note_type):
    s = minimal(note_type)
    for _, extra, _ in OPTIONAL:
        if "alliance" not in extra:
            s = merged(s, extra)
    return merged(s, {"alliance": {
        "trust": 3, "empathy": 5, "collaboration": 2, "respect": 5, "authenticity": 4,
        "challenges": {"countertransference": {"noticed": True}},
        "rupture": {"noticed": "confrontation", "addressed": False}}})


def variants(note_type):
    """(name, session, lines the Markdown note must hold)."""
    out = [("minimal", minimal(note_type), ["# " + TITLES[note_type]])]
    for name, extra, lines in OPTIONAL:
        out.append((name, merged(minimal(note_type), extra), lines))
    out.append(("everything", full(note_type), ["# %s: session 8" % TITLES[note_type]]))
    return out


# A line that stops in the middle: a comma, a semicolon, an open bracket or
# a word that needs something after it.
DANGLING = re.compile(r"(?:[,;(\[]|\b(?:session|number|of|over|and|by|with|lowest|at|to|for))\s*$",
                      re.I)
INSIDE = [
    (re.compile(r"\(\s*\)|\[\s*\]"), "empty brackets"),
    (re.compile(r"\s[,.;:](?!\S)"), "punctuation after a space"),
    (re.compile(r"[,;]\s*[,;.]"), "doubled punctuation"),
    (re.compile(r"\S  +\S"), "doubled spaces"),
    (re.compile(r"\*\*\s*\*\*"), "empty emphasis"),
]


class Layouts(RapportTest):
    def render_all(self, fmt, *flags):
        """{(note type, variant): note text} for every variant of every
        built-in note type, rendered in one batch per note type."""
        notes = {}
        for nt in SECTIONS:
            vs = variants(nt)
            self.write("%s.jsonl" % nt, "".join(json.dumps(s) + "\n" for _, s, _ in vs))
            out = fmt + "".join(flags)
            r = self.rapport("-q", "render", "--format", fmt, *flags, "--out-dir", out,
                             "%s.jsonl" % nt)
            self.assertEqual(r.code, 0, r)
            for i, (name, _, _) in enumerate(vs, 1):
                path = os.path.join(self.dir, out, "%s-%d.%s" % (nt, i, fmt))
                with open(path, encoding="utf-8") as f:
                    notes[(nt, name)] = f.read()
        return notes

    def test_strict_mode_passes_and_changes_nothing(self):
        # A layout may test any field of its note type: the note has every
        # field, absent ones empty, so --strict finds nothing missing in any
        # variant, and each note is the one rendered without it.
        for fmt in ("md", "txt", "html", "json"):
            plain = self.render_all(fmt)
            strict = self.render_all(fmt, "--strict")
            self.assertEqual(set(strict), set(plain))
            for key in plain:
                with self.subTest(format=fmt, variant=key):
                    self.assertEqual(strict[key], plain[key])

    def test_markdown_reads_as_finished_text(self):
        notes = self.render_all("md")
        for nt in SECTIONS:
            for name, _, must in variants(nt):
                with self.subTest(note_type=nt, session=name):
                    note = notes[(nt, name)]
                    self.assertMarkdownReads(note)
                    for line in must:
                        self.assertIn(line, note)

    def test_the_heading_has_no_dangling_words(self):
        notes = self.render_all("md")
        for nt in SECTIONS:
            with self.subTest(note_type=nt):
                self.assertTrue(notes[(nt, "minimal")].startswith("# %s\n\n" % TITLES[nt]),
                                notes[(nt, "minimal")])
                self.assertTrue(notes[(nt, "number")].startswith("# %s: session 8\n\n"
                                                                  % TITLES[nt]))
                self.assertIn("| Session | in person |", notes[(nt, "minimal")])
                self.assertIn("| Session | number 8, in person |", notes[(nt, "number")])
                self.assertIn("| Clinician | Dana Whitfield |", notes[(nt, "minimal")])
                self.assertIn("| Session | number 8, 50 minutes, video |",
                              notes[(nt, "everything")])

    def test_absent_parts_leave_no_trace(self):
        notes = self.render_all("md")
        for nt in SECTIONS:
            with self.subTest(note_type=nt):
                note = notes[(nt, "minimal")]
                headings = re.findall(r"(?m)^#+ (.*)$", note)
                self.assertEqual(headings, [TITLES[nt]]
                                 + [s.capitalize() for s in SECTIONS[nt]] + ["Risk and safety", "Signature"])
                self.assertNotIn("Safety plan", note)
                # The signature line for the signed record ends every note.
                self.assertTrue(note.endswith("Risk level: **none**\n\n## Signature\n\nDana Whitfield\n\n"
                                              "Signed: ________________ Date: ____________\n"), note)

    def test_plain_text_reads_as_finished_text(self):
        for (nt, name), note in self.render_all("txt").items():
            with self.subTest(note_type=nt, session=name):
                lines = note.split("\n")
                self.assertEqual(lines[-1], "")
                for n, line in enumerate(lines[:-1], 1):
                    where = "line %d: %r\n%s" % (n, line, note)
                    self.assertEqual(line, line.rstrip(), where)
                    self.assertNotRegex(line, r"^\s*\|\s*$|^\s*\||\|\s*$", where)
                    self.assertNotRegex(line, DANGLING, where)
                self.assertNotIn("\n\n\n", note)

    def test_html_has_no_empty_elements(self):
        for (nt, name), page in self.render_all("html").items():
            with self.subTest(note_type=nt, session=name):
                body = page[page.index("<body"):]
                for tag in ("h1", "h2", "h3", "p", "li", "th", "td", "strong", "ul", "table"):
                    self.assertNotRegex(body, r"<%s(\s[^>]*)?>\s*</%s>" % (tag, tag), tag)
                title = re.search(r"<h1>(.*?)</h1>", body).group(1)
                self.assertNotRegex(html.unescape(title), DANGLING)

    # --- the checks ------------------------------------------------------------

    def assertMarkdownReads(self, note):
        self.assertTrue(note.endswith("\n") and not note.endswith("\n\n"), repr(note))
        self.assertNotIn("\n\n\n", note)
        lines = note.split("\n")[:-1]
        for n, line in enumerate(lines, 1):
            where = "line %d: %r\n%s" % (n, line, note)
            self.assertEqual(line, line.rstrip(), "a space at the end of " + where)
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                for i, cell in enumerate(cells):
                    self.assertTrue(cell, "an empty table cell: " + where)
                    if i > 0:  # a value; the first cell is its label
                        self.assertNotRegex(cell, DANGLING, "a dangling end: " + where)
                continue
            heading = re.match(r"^(#+)\s*(.*)$", line)
            if heading:
                self.assertTrue(heading.group(2), "an empty heading: " + where)
                # Something under every heading before the next one.
                rest = []
                for later in lines[n:]:
                    if re.match(r"^#+\s", later):
                        break
                    rest.append(later)
                self.assertTrue(any(r.strip() for r in rest), "nothing under " + where)
            if line.endswith(":"):
                # A lead-in is followed by its list.
                following = [x for x in lines[n:] if x.strip()]
                self.assertTrue(following and following[0].startswith("- "),
                                "a line ending in ':' without a list after it: " + where)
            else:
                self.assertNotRegex(line, DANGLING, "a dangling end: " + where)
            text = re.sub(r"^\s*- (\[ \] )?", "", line)  # a list item, or a task to tick
            for regex, what in INSIDE:
                self.assertNotRegex(text, regex, "%s: %s" % (what, where))


if __name__ == "__main__":
    unittest.main(verbosity=2)
