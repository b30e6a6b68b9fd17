"""End-to-end tests of session files so far: the built-in note types,
rapport new (skeletons) and rapport check (validation against the note
type, every problem at its line and column, no text repeated).
"""

import html
import json
import os
import re
import unittest

from harness import ROOT, RapportTest

# PRODUCT.md's example: a complete, valid SOAP session.
SOAP = """type: soap
client: { id: C-1042, initials: J.D. }
session: { date: 2026-11-24, number: 7, minutes: 50, modality: video }
clinician: { name: Dana Whitfield, credentials: LCSW }
subjective: |
  Client reports sleeping better; conflict with partner at the weekend.
objective: Affect congruent, engaged throughout.
assessment: Moderate progress toward goal 1.
plan: Continue cognitive restructuring; review safety plan.
risk: { level: none }                 # none | low | moderate | high (high needs safety_plan)
alliance:
  trust: 4
  empathy: { rating: 5, note: "said she felt understood" }
  collaboration: 3
  respect: 5
  authenticity: 4
  challenges:
    countertransference: { noticed: true, plan: bring to supervision }
measures:
  srs: [8.5, 9.0, 7.5, 8.0]
"""

SECTIONS = {
    "soap": ["subjective", "objective", "assessment", "plan"],
    "dap": ["data", "assessment", "plan"],
    "birp": ["behavior", "intervention", "response", "plan"],
    "girp": ["goals", "intervention", "response", "plan"],
}


class Check(RapportTest):
    def test_the_product_example_is_valid(self):
        self.write("sessions/jd-07.yaml", SOAP)
        r = self.rapport("check")
        self.assertEqual(r.code, 0, r)
        self.assertIn("1 session: 0 problems", r.err)

    def test_every_problem_with_line_and_column(self):
        self.write("s.yaml", """type: soap
client: { id: C-1042 }
session: { date: 2026-13-24, number: 0, minutes: 50, modality: zoom }
clinician: { name: Dana Whitfield }
subjective: ok
objective: ok
plan: ok
risk: { level: extreme }
alliance: { trust: 4 }
colour: blue
""")
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "s.yaml", 2, 9, "client.initials is required")
        self.assertProblem(r, "s.yaml", 3, 18, "session.date must be a date written as YYYY-MM-DD")
        self.assertProblem(r, "s.yaml", 3, 38, "session.number must be a whole number of at least 1 (got 0)")
        self.assertProblem(r, "s.yaml", 3, 64, "session.modality must be in_person, video or phone")
        self.assertProblem(r, "s.yaml", 8, 16, "risk.level must be none, low, moderate or high")
        self.assertProblem(r, "s.yaml", 10, 1, "unknown field 'colour'")
        self.assertProblem(r, "s.yaml", 1, 1, "assessment is required")
        self.assertEqual(len(self.problems(r)), 7, r)
        # Problems come from top to bottom.
        lines = [p[1] for p in self.problems(r)]
        self.assertEqual(lines, sorted(lines), r)

    def test_typed_by_the_schema_not_by_yaml_guessing(self):
        # "no" is a valid clinician credential text, 0777 a client id.
        text = SOAP.replace("credentials: LCSW", "credentials: no").replace("C-1042", "0777")
        self.write("s.yaml", text)
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 0, r)

    def test_messages_never_repeat_what_was_written(self):
        self.write("s.yaml", SOAP.replace("modality: video", "modality: CANARY-secret-words")
                   .replace("date: 2026-11-24", "date: CANARY2"))
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertNotIn("CANARY", r.err)

    def test_unknown_or_missing_type(self):
        self.write("a.yaml", "type: spoa\nclient: {}\n")
        self.write("b.yaml", "client: {}\n")
        r = self.rapport("check", "a.yaml", "b.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "a.yaml", 1, 7, "unknown note type 'spoa' (note types: soap, dap, birp, girp)")
        self.assertProblem(r, "b.yaml", 1, 1, "the session has no 'type' line")

    def test_a_folder_of_sessions_and_json(self):
        self.write("in/a.yaml", SOAP)
        self.write("in/sub/b.json", '{"type": "soap", "client": {"id": "x"}}')
        r = self.rapport("check", "in")
        self.assertEqual(r.code, 1, r)
        self.assertIn("2 sessions", r.err)
        self.assertProblem(r, "in/sub/b.json", 1, 28, "client.initials is required")

    def test_not_a_session_is_a_usage_error(self):
        self.write("notes.txt", "x")
        self.assertUsageError(self.rapport("check", "notes.txt"), command="check")


class New(RapportTest):
    def fill(self, skeleton, note_type):
        """Fills a skeleton as a therapist would: the empty required lines."""
        out = []
        for line in skeleton.splitlines():
            stripped = line.strip()
            if stripped.startswith("level:"):
                line = line.replace("level:", "level: low", 1)
            out.append(line)
            for section in SECTIONS[note_type]:
                if stripped.startswith(section + ": |"):
                    out.append("  Written by the therapist.")
        return "\n".join(out) + "\n"

    def test_each_built_in_type_gives_a_skeleton_that_validates_once_filled(self):
        for note_type in SECTIONS:
            with self.subTest(note_type=note_type):
                r = self.rapport("new", note_type)
                self.assertEqual(r.code, 0, r)
                self.assertIn("type: %s\n" % note_type, r.out)
                # Labels, kinds of value, allowed values, required marks.
                self.assertIn("one of none, low, moderate, high; required", r.out)
                self.assertIn("a date, YYYY-MM-DD; required", r.out)
                self.write("empty.yaml", r.out)
                empty = self.rapport("check", "empty.yaml")
                self.assertEqual(empty.code, 1, empty)
                for section in SECTIONS[note_type]:
                    self.assertIn("error: %s is required" % section, empty.err)
                self.write("filled.yaml", self.fill(r.out, note_type))
                filled = self.rapport("check", "filled.yaml")
                self.assertEqual(filled.code, 0, filled)

    def test_dash_o_writes_the_file_privately(self):
        r = self.rapport("new", "dap", "-o", "s.yaml")
        self.assertEqual((r.code, r.out), (0, ""), r)
        path = os.path.join(self.dir, "s.yaml")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path, encoding="utf-8") as f:
            self.assertIn("type: dap", f.read())

    def test_dash_o_never_overwrites_a_file(self):
        self.write("s.yaml", SOAP)
        r = self.rapport("new", "soap", "-o", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("s.yaml: error: already exists; not overwritten", r.err)
        with open(os.path.join(self.dir, "s.yaml"), encoding="utf-8") as f:
            self.assertEqual(f.read(), SOAP)

    def test_unknown_type(self):
        r = self.rapport("new", "spoa")
        self.assertUsageError(r, "no note type 'spoa' (note types: soap, dap, birp, girp)", "new")


class Render(RapportTest):
    def test_the_product_example_renders_as_markdown(self):
        self.write("s.yaml", SOAP)
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 0, r)
        for line in ("# SOAP note: session 7",
                     "| Client | J.D. (C-1042) |",
                     "| Date | 24 November 2026 |",
                     "## Subjective",
                     "Client reports sleeping better; conflict with partner at the weekend.",
                     "Risk level: **none**",
                     # The alliance checklist: mean of 4, 5, 3, 5, 4; the lowest; the
                     # noticed countertransference and its counter-move.
                     "Mean rating: 4.2 of 5 over 5 elements; lowest: collaboration.",
                     "- countertransference noticed",
                     "- [ ] Bring the countertransference to supervision or personal therapy.",
                     # SRS 8.5 + 9 + 7.5 + 8 = 33, below 36.
                     "Total 33 of 40. alliance concern: SRS total below 36."):
            self.assertIn(line + "\n", r.out, r)

    def test_json_is_the_computed_note(self):
        self.write("s.yaml", SOAP)
        r = self.rapport("render", "--format", "json", "s.yaml")
        self.assertEqual(r.code, 0, r)
        note = json.loads(r.out)
        self.assertEqual(note["scores"]["srs"]["total"], 33)
        self.assertEqual(note["checklists"]["alliance"]["lowest"], ["collaboration"])
        self.assertEqual(note["session"]["number"], 7)
        self.assertEqual(note["clinician"]["credentials"], "LCSW")
        self.assertEqual(note["note_type"], {"id": "soap", "title": "SOAP note"})
        # The same every time.
        self.assertEqual(self.rapport("render", "--format", "json", "s.yaml").out, r.out)

    def test_typed_text_never_becomes_markup(self):
        hostile = ('<b>bold</b> & *stars* _under_ # not a heading [link](http://x) `code` '
                   '| pipe | "quotes" \'apos\' 1986. A year -- emoji \U0001F600 Ελληνικά 日本語 '
                   '<!-- c --> \\back')
        text = SOAP.replace("subjective: |\n  Client reports sleeping better; conflict with partner at the weekend.\n",
                            "subjective: %s\n" % json.dumps(hostile, ensure_ascii=False))
        self.write("s.yaml", text)
        md = self.rapport("render", "s.yaml")
        self.assertEqual(md.code, 0, md)
        txt = self.rapport("render", "--format", "txt", "s.yaml")
        self.assertEqual(txt.code, 0, txt)
        self.assertIn(hostile, txt.out)
        page = self.rapport("render", "--format", "html", "s.yaml")
        self.assertEqual(page.code, 0, page)
        visible = html.unescape(re.sub(r"<[^>]*>", "", page.out))
        self.assertIn(hostile, visible)
        self.assertNotIn("<b>bold", page.out)
        self.assertNotIn("http", re.sub(r"<[^>]*>", "", page.out).replace("http://x", ""))

    def test_html_is_one_self_contained_page(self):
        self.write("s.yaml", SOAP)
        r = self.rapport("render", "--format", "html", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(r.out.lower().startswith("<!doctype html>"), r.out[:80])
        self.assertIn("<title>SOAP note</title>", r.out)
        self.assertNotRegex(r.out, r"<(script|link|img)\b")
        self.assertIn("<table>", r.out)

    def test_out_dir_writes_each_note_privately_and_others_survive_a_bad_one(self):
        self.write("sessions/a.yaml", SOAP)
        self.write("sessions/b.yaml", SOAP.replace("risk: { level: none }", "risk: { level: high }"))
        self.write("sessions/c.yaml", SOAP.replace("C-1042", "C-2"))
        r = self.rapport("render", "sessions/a.yaml", "sessions/b.yaml", "sessions/c.yaml",
                         "--out-dir", "notes", "--format", "html")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "sessions/b.yaml", 10, 7, "a high risk level needs a safety plan")
        names = sorted(os.listdir(os.path.join(self.dir, "notes")))
        self.assertEqual(names, ["a.html", "c.html"])
        for name in names:
            self.assertEqual(os.stat(os.path.join(self.dir, "notes", name)).st_mode & 0o777, 0o600)

    def test_o_never_writes_over_the_session(self):
        self.write("s.yaml", SOAP)
        r = self.rapport("render", "s.yaml", "-o", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("it is the session file itself", r.err)
        with open(os.path.join(self.dir, "s.yaml"), encoding="utf-8") as f:
            self.assertEqual(f.read(), SOAP)

    def test_measures_are_checked(self):
        self.write("s.yaml", SOAP.replace("srs: [8.5, 9.0, 7.5, 8.0]", "srs: [8.5, 19, 7.5]"))
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertProblem(r, "s.yaml", 20, 8, "measures.srs must list 4 item scores, each from 0 to 10")

    def test_a_clinic_replaces_a_layout(self):
        self.write("s.yaml", SOAP)
        self.write("templates/soap.md.mustache", "Clinic layout for {{client.initials}}\n")
        r = self.rapport("render", "s.yaml")
        self.assertEqual((r.code, r.out), (0, "Clinic layout for J.D.\n"), r)


class Examples(RapportTest):
    CLINIC = os.path.join(ROOT, "examples", "clinic")

    def test_every_example_session_renders_in_every_format(self):
        sessions = sorted(os.listdir(os.path.join(self.CLINIC, "sessions")))
        self.assertEqual(len(sessions), 4)
        for fmt in ("md", "html", "txt", "json"):
            with self.subTest(fmt=fmt):
                r = self.rapport("-C", self.CLINIC, "render", "--format", fmt, "--out-dir",
                                 os.path.join(self.dir, fmt), *["sessions/" + s for s in sessions])
                self.assertEqual(r.code, 0, r)
                self.assertEqual(len(os.listdir(os.path.join(self.dir, fmt))), 4, r)

    def test_the_clinic_overrides_the_dap_layout_and_its_plugin_tests_pass(self):
        r = self.rapport("-C", self.CLINIC, "render", "sessions/mk-03.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(r.out.startswith("# DAP note for client MK, 20 Nov 2026\n"), r.out)
        # An unaddressed rupture goes into the plan; the ORS total is clinical.
        self.assertIn("- [ ] Address the rupture (withdrawal) early in the next session.", r.out)
        self.assertIn("Total 21 of 40. clinical range", r.out)
        t = self.rapport("-C", self.CLINIC, "test")
        self.assertEqual((t.code, t.out), (0, "1 passed, 0 failed\n"), t)
        c = self.rapport("-C", self.CLINIC, "check")
        self.assertEqual(c.code, 0, c)
        self.assertIn("4 sessions: 0 problems", c.err)

    def test_readme_command(self):
        # The README's command, from the repository's root.
        r = self.rapport("-C", "examples/clinic", "render", "sessions/jd-07.yaml", cwd=ROOT)
        self.assertEqual(r.code, 0, r)
        self.assertTrue(r.out.startswith("# SOAP note: session 7\n"), r.out)
        # WAI-SR items 5,4,5,4,5,4,5,4,5,4,5,4: task (1, 2, 10, 12) 5+4+4+4,
        # bond (3, 5, 7, 9) 5+5+5+5, goal (4, 6, 8, 11) 4+4+4+5.
        birp = self.rapport("-C", self.CLINIC, "render", "sessions/rb-12.yaml")
        self.assertIn("Total 54 of 60: task 17, bond 20, goal 17 (each of 20).", birp.out)


class LayoutCheck(RapportTest):
    def test_names_the_note_type_lacks_are_warnings_at_their_position(self):
        self.write("templates/soap.md.mustache",
                   "{{> note-head.md}}\n{{clinican.name}} {{subjective}} {{client.initals}}\n"
                   "{{#diagnoses}}{{code}} {{whatever}}{{/diagnoses}} {{scores.srs.total}}\n")
        r = self.rapport("check")
        self.assertEqual(r.code, 0, r)  # warnings, not errors
        self.assertIn("templates/soap.md.mustache:2:1: warning: the layout uses 'clinican.name', "
                      "which note type 'soap' does not have", r.err)
        self.assertIn("templates/soap.md.mustache:2:34: warning: the layout uses 'client.initals'", r.err)
        # Names inside sections (list items) and computed names are not checked.
        self.assertNotIn("whatever", r.err)
        self.assertNotIn("scores", r.err)
        self.assertEqual(r.err.count("warning:"), 2, r)

    def test_the_built_in_layouts_use_only_what_their_notes_have(self):
        r = self.rapport("check")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("warning", r.err)


class Answers(RapportTest):
    def test_alliance_answers_are_checked_at_their_place(self):
        text = SOAP.replace("  trust: 4\n", "  trust: 7\n  trsut: 4\n").replace(
            "countertransference: { noticed: true, plan: bring to supervision }",
            "countertransference: { noticed: no }")
        self.write("s.yaml", text)
        for command in ("check", "render"):
            with self.subTest(command=command):
                r = self.rapport(command, "s.yaml")
                self.assertEqual(r.code, 1, r)
                self.assertProblem(r, "s.yaml", 12, 10, "alliance.trust must be a rating from 1 to 5 (got 7)")
                self.assertProblem(r, "s.yaml", 13, 10, "unknown field 'alliance.trsut'")
                self.assertProblem(r, "s.yaml", 19, 37,
                                   "alliance.challenges.countertransference.noticed must be true or false")
                self.assertEqual(r.out, "")

    def test_check_applies_the_note_types_rules_and_measures(self):
        self.write("s.yaml", SOAP.replace("risk: { level: none }", "risk: { level: high }")
                   .replace("srs: [8.5, 9.0, 7.5, 8.0]", "srs: [8.5, 9.0, 7.5]"))
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "s.yaml", 10, 7, "a high risk level needs a safety plan")
        self.assertProblem(r, "s.yaml", 20, 8, "measures.srs must list 4 item scores")

    def test_a_misspelt_measure_is_reported(self):
        self.write("s.yaml", SOAP.replace("  srs: [8.5", "  sr: [8.5"))
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "s.yaml", 20, 7, "unknown field 'measures.sr' (measures: wai_sr, srs, ors)")

    def test_an_unaddressed_rupture_written_no_is_flagged(self):
        self.write("s.yaml", SOAP.replace("measures:", "  rupture: { noticed: withdrawal, addressed: no }\nmeasures:"))
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn("- rupture (withdrawal) not addressed", r.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
