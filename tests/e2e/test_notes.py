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

    def test_every_problem_of_every_stage_in_one_pass(self):
        # A misspelt field (schema), an out-of-range rating (the alliance
        # checklist), a bad SRS item (the measure) and a broken rule (the
        # note type's validate): all four at once, top to bottom, from check
        # and from render alike.
        self.write("s.yaml", SOAP.replace("assessment: Moderate", "asessment: Moderate")
                   .replace("risk: { level: none }", "risk: { level: high }")
                   .replace("  trust: 4", "  trust: 7")
                   .replace("srs: [8.5, 9.0, 7.5, 8.0]", "srs: [8.5, 12, 7.5, 8.0]"))
        expected = [
            ("s.yaml", 8, 1, "unknown field 'asessment' (did you mean 'assessment'?)"),
            ("s.yaml", 8, 1, "assessment is required"),
            ("s.yaml", 10, 7, "a high risk level needs a safety plan"),
            ("s.yaml", 12, 10, "alliance.trust must be a rating from 1 to 5 (got 7)"),
            ("s.yaml", 20, 14, "measures.srs item 2 must be a score from 0 to 10 (got 12)"),
        ]
        for command in ("check", "render"):
            with self.subTest(command=command):
                r = self.rapport(command, "s.yaml")
                self.assertEqual(r.code, 1, r)
                self.assertEqual(r.out, "", r)
                self.assertEqual(self.problems(r), expected, r)

    def test_a_line_of_text_read_as_a_field_is_never_shown(self):
        # Free text indented wrongly, with a colon: YAML reads it as a key.
        # It is reported where it is, and never repeated.
        self.write("s.yaml", SOAP.replace(
            "objective: Affect", "Client disclosed abuse by her uncle: passive ideation\n"
            "objective: Affect").replace(
            "risk: { level: none }", "risk:\n  level: none\n  Uncle visits, she says: often"))
        for command in ("check", "render"):
            with self.subTest(command=command):
                r = self.rapport(command, "s.yaml")
                self.assertEqual(r.code, 1, r)
                self.assertEqual(self.problems(r), [
                    ("s.yaml", 7, 1, "an unknown field (if this line is text, it belongs in a "
                     "text field, after '|')"),
                    ("s.yaml", 13, 3, "an unknown field in risk (if this line is text, it "
                     "belongs in a text field, after '|')"),
                ], r)
                for word in ("abuse", "uncle", "Uncle", "ideation", "often"):
                    self.assertNotIn(word, r.err)

    def test_a_comment_that_takes_text_away_is_a_warning(self):
        # libyaml drops comments silently; "#3 next time." is not in the
        # note, and check and render say so at the '#', then go on.
        self.write("s.yaml", SOAP.replace(
            "plan: Continue cognitive restructuring; review safety plan.",
            "plan: review thought log #3 next time."))
        warning = ("s.yaml:9:26: warning: the text after '#' is not in the note: a '#' after a "
                   "space starts a comment; quote the value or use '|' to keep it")
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn(warning + "\n", r.err)
        self.assertIn("0 problems", r.err)
        r = self.rapport("render", "s.yaml", "-o", "s.md")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, warning + "\n")
        with open(os.path.join(self.dir, "s.md"), encoding="utf-8") as f:
            note = f.read()
        self.assertIn("review thought log\n", note)
        self.assertNotIn("next time", note)
        # The explanations `rapport new` writes (two spaces before the '#')
        # are comments on purpose: no warning.
        self.write("s.yaml", SOAP.replace("objective: Affect congruent, engaged throughout.",
                                          "objective: Engaged.  # Objective: what you observed"))
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("warning", r.err)

    def test_a_day_the_month_lacks_and_a_value_in_the_wrong_case(self):
        self.write("s.yaml", SOAP.replace("date: 2026-11-24", "date: 2026-11-31")
                   .replace("modality: video", "modality: Video"))
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.problems(r), [
            ("s.yaml", 3, 18, "session.date is not a day of November 2026 (it has 30 days)"),
            ("s.yaml", 3, 64, "session.modality must be 'video', written in exactly that case"),
        ], r)

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


# --- rapport new: skeletons ---------------------------------------------------------

# The required fields of each built-in note type, in skeleton order.
REQUIRED = dict(
    (nt, ["client.id", "client.initials", "session.date", "clinician.name"] + sections
     + ["risk.level"])
    for nt, sections in SECTIONS.items())

# A field line of a skeleton: `name:`, nothing after the colon, and a comment
# describing the field. In a part written as comment lines (a list's items,
# the checklists, the measures), the line starts with "# " at some
# indentation. (The `type:` line is the one line with a value.)
FIELD_LINE = re.compile(r"^(?P<hash> *# )?(?P<indent> *)(?P<dash>- )?(?P<id>\w+):"
                        r"(?:  # (?P<desc>.*))?$")
# The kinds of value a description names, one per field type.
KIND = re.compile(r"(?:^|: )(?P<kind>text on one line|text|a whole number|a number|true or false"
                  r"|a date, YYYY-MM-DD|a date and time, YYYY-MM-DDTHH:MM|one of \w+(, \w+)*"
                  r"|a rating from \S+ to \S+|a list\b[^;]*|a group of fields)"
                  r"(?:$|[;,]| from | of at )")


def sample(desc):
    """A value of the kind of value `desc` names, as a therapist would type
    it after the colon. A time and a diagnosis code are text of a form the
    note type checks: their examples have it."""
    m = re.search(r"(?:HH:MM|ICD-10 code).*; e\.g\. (.+)$", desc)
    if m:
        return m.group(1)
    m = re.search(r"a list of (\d+) scores, each a number from ([-\d.]+) to ([-\d.]+)", desc)
    if m:
        return "[%s]" % ", ".join([m.group(3)] * int(m.group(1)))
    m = re.search(r"a list of scores, in item order; optional; see plugins/measures.lua", desc)
    if m:
        # A built-in measure the skeleton does not describe: as measures.lua defines it.
        with open(os.path.join(ROOT, "plugins", "measures.lua"), encoding="utf-8") as f:
            for title, items, hi in re.findall(r'  title = "([^"]*)",\n  items = (\d+),\n'
                                                r'  min = \d+,\n  max = (\d+),', f.read()):
                if desc.startswith(title + ":"):
                    return "[%s]" % ", ".join([hi] * int(items))
    m = re.search(r"a list, one item per '- ' line; each item: ([^;]*)", desc)
    if m:
        return "[%s]" % sample(m.group(1))
    m = re.search(r"one of (\w+)", desc)
    if m:
        return m.group(1)
    m = re.search(r"(?:a rating|a whole number|a number) (?:from|of at least) ([-\d.]+)", desc)
    if m:
        return m.group(1)
    for kind, value in (("a whole number", "5"), ("a number", "2.5"),
                        ("true or false", "true"), ("a date and time", "2026-12-01T09:30"),
                        ("a date,", "2026-12-01"), ("text on one line", "Filled in"),
                        ("text", "Written by the therapist.")):
        if kind in desc:
            return value
    raise AssertionError("no value for %r" % desc)


def fill(skeleton, everything=False):
    """Fills a skeleton as a therapist would, by typing a value after the
    colon of each required line; with `everything`, also of each optional
    line, after deleting the "# " of the parts written as comment lines."""
    out = []
    for line in skeleton.split("\n"):
        m = FIELD_LINE.match(line)
        if m and m["desc"] and (everything or not m["hash"]):
            if m["hash"]:
                line = m["hash"][:-2] + line[len(m["hash"]):]
            desc = m["desc"]
            if "a group of fields" not in desc and (everything or "; required" in desc):
                line = line.replace(":  # ", ": %s  # " % sample(desc), 1)
        out.append(line)
    return "\n".join(out)


def key_position(skeleton, dotted):
    """(line, column) of the name of the field `dotted` in a skeleton,
    found by walking its groups down the lines."""
    lines = skeleton.split("\n")
    start, indent = 0, 0
    for part in dotted.split("."):
        for i in range(start, len(lines)):
            if lines[i].startswith(" " * indent + part + ":"):
                start, indent = i + 1, indent + 2
                break
        else:
            raise AssertionError("no line for %s in\n%s" % (dotted, skeleton))
    return start, indent - 2 + 1


class New(RapportTest):
    def skeleton(self, note_type, *flags):
        r = self.rapport(*(flags + ("new", note_type)))
        self.assertEqual(r.code, 0, r)
        return r.out

    def test_an_untouched_skeleton_gives_each_required_field_at_its_name(self):
        for note_type in SECTIONS:
            with self.subTest(note_type=note_type):
                skeleton = self.skeleton(note_type)
                self.write("new.yaml", skeleton)
                expected = [("new.yaml",) + key_position(skeleton, f) + ("%s is required" % f,)
                            for f in REQUIRED[note_type]]
                for command in ("render", "check"):
                    r = self.rapport(command, "new.yaml")
                    self.assertEqual(r.code, 1, r)
                    self.assertEqual(r.out, "", r)
                    self.assertEqual(self.problems(r), expected, r)

    def test_an_untouched_skeleton_holds_no_values(self):
        # Sample values are in comments only: every line that is part of the
        # session, but `type:`, ends its name with a colon and nothing after.
        for note_type in SECTIONS:
            with self.subTest(note_type=note_type):
                skeleton = self.skeleton(note_type)
                lines = skeleton.splitlines()
                self.assertEqual(lines.count("type: " + note_type), 1)
                for line in lines:
                    if line.lstrip().startswith("#") or not line.strip() or line.startswith("type:"):
                        continue
                    m = FIELD_LINE.match(line)
                    self.assertTrue(m and m["desc"], line)
                self.assertIn("; e.g. 2026-11-24\n", skeleton)

    def test_a_filled_skeleton_renders_in_every_format(self):
        for note_type in SECTIONS:
            with self.subTest(note_type=note_type):
                self.write("filled.yaml", fill(self.skeleton(note_type)))
                for fmt in ("md", "html", "txt", "json"):
                    r = self.rapport("render", "--format", fmt, "filled.yaml")
                    self.assertEqual(r.code, 0, r)
                    self.assertIn("Written by the therapist.", r.out)
                note = json.loads(self.rapport("render", "--format", "json", "filled.yaml").out)
                for section in SECTIONS[note_type]:
                    self.assertEqual(note[section], "Written by the therapist.")
                # Optional fields left empty are empty in the note (the note
                # has every field of its type); the commented parts, which
                # are not fields, are absent.
                self.assertEqual(note["session"], {"date": "2026-12-01", "modality": "in_person",
                                                   "number": None, "minutes": None,
                                                   "start": None, "end": None})
                self.assertEqual(note["risk"], {"level": "none", "notes": None,
                                                "safety_plan": None})
                for empty in ("diagnoses", "homework", "interventions", "attendees"):
                    self.assertEqual(note[empty], [])
                for absent in ("mse", "service", "next_appointment", "signature"):
                    self.assertIsNone(note[absent])
                for absent in ("alliance", "measures"):
                    self.assertNotIn(absent, note)

    def test_every_part_of_a_skeleton_filled_in_renders(self):
        # Deleting the "# " of the parts written as comment lines (a
        # diagnosis, the alliance checklist, the measures) and typing a value
        # after every colon makes a valid session too.
        for note_type in SECTIONS:
            with self.subTest(note_type=note_type):
                self.write("all.yaml", fill(self.skeleton(note_type), everything=True))
                r = self.rapport("render", "--format", "json", "all.yaml")
                self.assertEqual(r.code, 0, r)
                note = json.loads(r.out)
                self.assertEqual(note["diagnoses"], [{"code": "F41.1", "label": "Filled in"}])
                self.assertEqual(note["homework"], ["Written by the therapist."])
                self.assertEqual(note["checklists"]["alliance"]["rated"], 5)
                self.assertEqual(sorted(note["scores"]), ["gad7", "ors", "phq9", "srs", "wai_sr"])
                self.assertEqual(note["scores"]["wai_sr"]["total"], 60)

    def test_every_field_line_names_its_kind_of_value(self):
        for note_type in SECTIONS:
            with self.subTest(note_type=note_type):
                lines = 0
                for line in self.skeleton(note_type).splitlines():
                    m = FIELD_LINE.match(line)
                    if not m:
                        continue
                    lines += 1
                    # Every name in a skeleton, in use or in a comment, is described.
                    self.assertTrue(m["desc"], line)
                    desc = m["desc"]
                    self.assertRegex(desc, KIND, line)
                    self.assertRegex(desc, r"; (required|optional)\b", line)
                # The fields with their groups and a diagnosis's, the chart's
                # (times, service, attendees, interventions, goals, next
                # appointment, mental status exam), the checklist's answers,
                # the measures.
                self.assertEqual(lines, 19 + len(SECTIONS[note_type]) + 23 + 19 + 6)

    def test_a_skeleton_is_yaml_as_it_stands_and_with_every_part_in_use(self):
        self.write("type.mustache", "{{type}}")
        for note_type in SECTIONS:
            for everything in (False, True):
                with self.subTest(note_type=note_type, everything=everything):
                    skeleton = self.skeleton(note_type)
                    if everything:
                        skeleton = re.sub(r"(?m)^( *)# (?=( *)(- )?\w+:  # )", r"\1", skeleton)
                        self.assertNotRegex(skeleton, r"(?m)^ *# *(- )?\w+:  # ")
                    self.write("s.yaml", skeleton)
                    r = self.rapport("mustache", "type.mustache", "s.yaml")
                    self.assertEqual((r.code, r.out, r.err), (0, note_type, ""), r)

    def test_the_checklist_and_measures_are_explained(self):
        skeleton = self.skeleton("soap")
        self.assertIn("\n# alliance:  # Therapeutic alliance: a group of fields; optional\n", skeleton)
        self.assertIn("\n# measures:  # Measures: a group of fields; optional\n", skeleton)
        # As the built-in plugins define them.
        with open(os.path.join(ROOT, "plugins", "alliance.lua"), encoding="utf-8") as f:
            alliance = f.read()
        elements = re.findall(r'"(\w+)"', re.search(r"M\.ELEMENTS = \{(.*?)\}", alliance).group(1))
        self.assertEqual(len(elements), 5)
        for element in elements:
            self.assertIn("\n#   %s:  # %s: a rating from 1 to 5; optional\n"
                          % (element, element.capitalize()), skeleton)
        challenges = re.findall(r'"(\w+)"', re.search(r"M\.CHALLENGE_ORDER = \{(.*?)\}",
                                                       alliance).group(1))
        self.assertEqual(len(challenges), 3)
        for challenge in challenges:
            self.assertRegex(skeleton, r"\n#     %s:  # [^\n]*: a group of fields; optional\n"
                             r"#       noticed:  # Noticed: true or false; required in each "
                             r"challenge\n#       plan:  # [^\n]*: text; optional\n" % challenge)
        self.assertIn("\n#     noticed:  # How it showed: one of withdrawal, confrontation, none;"
                      " optional\n#     addressed:  # Addressed in the session: true or false;"
                      " optional\n", skeleton)
        with open(os.path.join(ROOT, "plugins", "measures.lua"), encoding="utf-8") as f:
            measures = f.read()
        defined = re.findall(r'rapport\.measure \{\n  id = "(\w+)",\n  title = "([^"]*)",\n'
                             r'  items = (\d+),\n  min = (\d+),\n  max = (\d+),', measures)
        self.assertEqual([d[0] for d in defined], ["wai_sr", "srs", "ors", "phq9", "gad7"])
        # `rapport new` describes each built-in measure in full.
        for mid, title, items, lo, hi in defined:
            self.assertIn("\n#   %s:  # %s: a list of %s scores, each a number from %s to %s; "
                          "optional\n" % (mid, title, items, lo, hi), skeleton)

    def test_a_clinics_own_checklist_and_measure_are_named_not_described(self):
        # The words above describe the built-in definitions; a clinic's own,
        # or its replacement of a built-in one, is named with its file.
        self.write("plugins/srs.lua", 'rapport.measure { id = "srs", title = "Our SRS", '
                   'items = 3, min = 1, max = 7 }\n')
        skeleton = self.skeleton("soap")
        self.assertIn("\n#   srs:  # Our SRS: a list of scores, in item order; optional; "
                      "see plugins/srs.lua\n", skeleton)
        self.assertIn("\n#   ors:  # Outcome Rating Scale: a list of 4 scores", skeleton)

    def test_a_plugin_note_type(self):
        self.write("plugins/checkin.lua", CHECKIN)
        with open(os.path.join(ROOT, "examples", "plugins", "homework.lua"), encoding="utf-8") as f:
            self.write("plugins/homework.lua", f.read())
        self.write("templates/checkin.md.mustache", "Check-in {{client.id}}: {{summary}}\n")
        skeleton = self.skeleton("checkin")
        self.assertEqual(skeleton.split("\n")[6:29], [
            "type: checkin",
            "client:  # a group of fields; required",
            "  id:  # Client ID: text on one line; required; e.g. C-1042",
            "  initials:  # text on one line; optional",
            "called_at:  # When you called: a date and time, YYYY-MM-DDTHH:MM; required",
            "reached:  # Client answered: true or false; required",
            "minutes:  # Length in minutes: a whole number from 1 to 120; optional (default 15)",
            "sleep_hours:  # Hours of sleep: a number from 0 to 24; optional; e.g. 6.5",
            "weight:  # a number of at least 0; optional",
            "mood:  # Mood today: a rating from 0 to 10; required",
            "follow_up:  # one of none, call, session; optional (default none)",
            "next_session:  # Next session: a date, YYYY-MM-DD; optional",
            "summary:  # What was said: text; required",
            "ratings:  # a list, one item per '- ' line; each item: a rating from 1 to 5; optional",
            "contacts:  # Who else was on the call: a list, one item per '- ' line; each item: a "
            "group of fields; optional",
            "  # For each item, write these lines without the \"# \" at their start:",
            "  # - name:  # Name: text on one line; required in each item; e.g. Ana",
            "  #   role:  # one of partner, parent, other; optional",
            "  #   phone:  # a group of fields; required in each item",
            "  #     number:  # text on one line; required in each item",
            "  #     kind:  # one of home, mobile; optional (default mobile)",
            "",
            "# The therapeutic alliance (optional). To fill in a line, delete the \"# \" at",
        ])
        self.assertIn("\n# homework:  # Homework follow-up: a group of fields; optional; see "
                      "plugins/homework.lua\n", skeleton)
        # A note type that is not built in may use only some measures.
        self.assertIn("\n# This note type may use only some of these", skeleton)
        self.write("new.yaml", skeleton)
        r = self.rapport("check", "new.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.problems(r), [
            ("new.yaml",) + key_position(skeleton, f) + ("%s is required" % f,)
            for f in ("client.id", "called_at", "reached", "mood", "summary")])
        self.write("filled.yaml", fill(skeleton))
        r = self.rapport("render", "filled.yaml")
        self.assertEqual((r.code, r.out), (0, "Check-in Filled in: Written by the therapist.\n"), r)
        note = json.loads(self.rapport("render", "--format", "json", "filled.yaml").out)
        self.assertEqual((note["minutes"], note["follow_up"], note["mood"], note["reached"]),
                         (15, "none", 0, True))
        # Of the measures, the note type uses only the ORS (the skeleton cannot
        # tell which: see the caveat above).
        filled = fill(skeleton, everything=True)
        filled = re.sub(r"(?m)^  (wai_sr|srs|phq9|gad7): .*\n", "", filled)
        self.write("all.yaml", filled)
        r = self.rapport("render", "--format", "json", "all.yaml")
        self.assertEqual(r.code, 0, r)
        note = json.loads(r.out)
        self.assertEqual(note["contacts"], [{"name": "Filled in", "role": "partner",
                                             "phone": {"number": "Filled in", "kind": "home"}}])
        self.assertEqual(note["ratings"], [1])
        self.assertEqual(note["scores"]["ors"]["total"], 40)

    def test_what_a_plugin_writes_cannot_break_the_skeleton(self):
        # Line breaks in a label, a title, a value or an example stay inside
        # their comment; names YAML would misread are quoted.
        self.write("plugins/odd.lua", r"""rapport.note_type {
  id = "odd",
  title = "Odd\nnote",
  fields = {
    { id = "a b", type = "string", required = true, label = "One\ntwo: three # four" },
    { id = "c: d", type = "enum", values = { "x y", "z\nw" } },
    { id = "#e", type = "text", example = "several\nlines" },
    { id = "f\"\\", type = "text", required = true },
  },
}
""")
        skeleton = self.skeleton("odd")
        self.assertEqual(skeleton.split("\n")[0], "# Odd note: one session. Type each value after "
                         "its colon.")
        self.assertEqual(skeleton.split("\n")[6:], [
            "type: odd",
            '"a b":  # One two: three # four: text on one line; required',
            '"c: d":  # one of x y, z w; optional',
            '"#e":  # text; optional; e.g. several lines',
            '"f\\"\\\\":  # text; required',
            "",
        ])
        self.write("new.yaml", skeleton)
        r = self.rapport("check", "new.yaml")
        self.assertEqual(self.problems(r), [("new.yaml", 8, 1, "a b is required"),
                                            ("new.yaml", 11, 1, 'f"\\ is required')], r)

    def test_dash_o_writes_the_file_privately(self):
        r = self.rapport("new", "dap", "-o", "s.yaml")
        self.assertEqual((r.code, r.out), (0, ""), r)
        path = os.path.join(self.dir, "s.yaml")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), self.skeleton("dap"))

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


# A clinic's note type using every field type, with the built-in alliance
# checklist, a checklist of its own and one measure.
CHECKIN = """rapport.note_type {
  id = "checkin",
  title = "Phone check-in",
  fields = {
    { id = "client.id", type = "string", required = true, label = "Client ID", example = "C-1042" },
    { id = "client.initials", type = "string" },
    { id = "called_at", type = "datetime", required = true, label = "When you called" },
    { id = "reached", type = "boolean", required = true, label = "Client answered" },
    { id = "minutes", type = "integer", min = 1, max = 120, default = 15, label = "Length in minutes" },
    { id = "sleep_hours", type = "number", min = 0, max = 24, label = "Hours of sleep", example = 6.5 },
    { id = "weight", type = "number", min = 0 },
    { id = "mood", type = "rating", min = 0, max = 10, required = true, label = "Mood today" },
    { id = "follow_up", type = "enum", values = { "none", "call", "session" }, default = "none" },
    { id = "next_session", type = "date", label = "Next session" },
    { id = "summary", type = "text", required = true, label = "What was said" },
    { id = "ratings", type = "list", items = { type = "rating", min = 1, max = 5 } },
    {
      id = "contacts",
      type = "list",
      label = "Who else was on the call",
      items = {
        type = "object",
        fields = {
          { id = "name", type = "string", required = true, label = "Name", example = "Ana" },
          { id = "role", type = "enum", values = { "partner", "parent", "other" } },
          {
            id = "phone",
            type = "object",
            fields = {
              { id = "number", type = "string", required = true },
              { id = "kind", type = "enum", values = { "home", "mobile" }, default = "mobile" },
            },
          },
        },
      },
    },
  },
  checklists = { "alliance", "homework" },
  measures = { "ors" },
  layout = "checkin",
}
"""


class Render(RapportTest):
    def test_a_byte_order_mark_and_crlf_from_a_windows_editor(self):
        self.write("s.yaml", SOAP)
        plain = self.rapport("render", "s.yaml")
        self.assertEqual(plain.code, 0, plain)
        self.write("w.yaml", b"\xef\xbb\xbf" + SOAP.replace("\n", "\r\n").encode("utf-8"))
        r = self.rapport("render", "w.yaml")
        self.assertEqual((r.code, r.err), (0, ""), r)
        self.assertEqual(r.out, plain.out)
        # Problems keep their line and column (the mark takes none).
        self.write("w2.yaml", b"\xef\xbb\xbf" + SOAP.replace("trust: 4", "trust: 7").encode())
        r = self.rapport("check", "w2.yaml")
        line = SOAP.split("\n").index("  trust: 4") + 1
        self.assertProblem(r, "w2.yaml", line, 10, "must be a rating")

    def test_a_tab_in_the_indentation_says_tab(self):
        self.write("t.yaml", SOAP.replace("  trust: 4", "\ttrust: 4"))
        r = self.rapport("check", "t.yaml")
        line = SOAP.split("\n").index("  trust: 4") + 1
        self.assertProblem(r, "t.yaml", line, 1, "a tab in the indentation: YAML indents with "
                           "spaces only (replace the tab with spaces)")

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
        self.assertEqual((note["note_type"]["id"], note["note_type"]["title"]), ("soap", "SOAP note"))
        # The same score and checklist tables, in the note type's order, for layouts.
        self.assertEqual([m["id"] for m in note["note_type"]["measures"]], ["srs"])
        self.assertEqual(note["note_type"]["measures"][0], note["scores"]["srs"])
        self.assertEqual(note["note_type"]["checklists"], [note["checklists"]["alliance"]])
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
        # The item out of range is named at its place, and the count at the list.
        self.assertProblem(r, "s.yaml", 20, 14, "measures.srs item 2 must be a score from 0 to 10 (got 19)")
        self.assertProblem(r, "s.yaml", 20, 8, "measures.srs must list 4 item scores in item order (got 3)")

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

    def test_the_clinic_shows_what_a_chart_needs(self):
        # rb-12 holds the chart fields and the PHQ-9 and GAD-7.
        r = self.rapport("-C", self.CLINIC, "render", "sessions/rb-12.yaml")
        self.assertEqual(r.code, 0, r)
        for text in ("| Date | 18 November 2026, 10:00 to 10:50 |",
                     "| Service | 90834 (psychotherapy, 45 minutes) |",
                     "- F43.21: Adjustment disorder with depressed mood",
                     "- safety planning",
                     "- No more than two drinks on any day (progress: new): Agreed to a drink log.",
                     "- Thought content: No suicidal ideation; no plan or intent.",
                     "## Patient Health Questionnaire (PHQ-9)\n\nTotal 12 of 27 (moderate).",
                     "## Generalized Anxiety Disorder scale (GAD-7)\n\nTotal 10 of 21 (moderate).",
                     "## Next appointment\n\n25 November 2026"):
            self.assertIn(text, r.out)
        # The exam's lines are the exam's: BIRP's own `behavior` section is
        # not shown as the exam's Behavior, which this session leaves out.
        mse = r.out[r.out.index("## Mental status exam"):r.out.index("## Risk and safety")]
        self.assertNotIn("Behavior", mse)

    def test_readme_command(self):
        # The README's command, from the repository's root.
        r = self.rapport("-C", "examples/clinic", "render", "sessions/jd-07.yaml", cwd=ROOT)
        self.assertEqual(r.code, 0, r)
        self.assertTrue(r.out.startswith("# SOAP note: session 7\n"), r.out)
        # WAI-SR items 5,4,5,4,5,4,5,4,5,4,5,4: task (1, 2, 10, 12) 5+4+4+4,
        # bond (3, 5, 7, 9) 5+5+5+5, goal (4, 6, 8, 11) 4+4+4+5.
        birp = self.rapport("-C", self.CLINIC, "render", "sessions/rb-12.yaml")
        self.assertIn("Total 54 of 60.\n\n- bond: 20 of 20\n- goal: 17 of 20\n- task: 17 of 20\n", birp.out)


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
        # Near a measure's id: the id meant; far from all: the ids there are.
        self.assertProblem(r, "s.yaml", 20, 7, "unknown field 'measures.sr' (did you mean 'measures.srs'?)")
        self.write("s.yaml", SOAP.replace("  srs: [8.5", "  hamd: [8.5"))
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "s.yaml", 20, 9, "unknown field 'measures.hamd' (measures: srs, ors, wai_sr, phq9, gad7)")

    def test_an_unaddressed_rupture_written_no_is_flagged(self):
        self.write("s.yaml", SOAP.replace("measures:", "  rupture: { noticed: withdrawal, addressed: no }\nmeasures:"))
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn("- rupture (withdrawal) not addressed", r.out)


# --- nothing typed is lost ----------------------------------------------------------


class NothingIsLost(RapportTest):
    """A rich session of each note type with a unique marker in every text
    leaf, and values of every other kind that print recognisably: each one
    must be found in every human-readable format of the note."""

    def rich(self, note_type):
        n = iter(range(1, 1000))

        def mark():
            return "Mk%03dq" % next(n)

        s = {
            "type": note_type,
            "client": {"id": mark(), "initials": mark()},
            "session": {"date": "2026-11-24", "start": "14:00", "end": "14:53", "number": 7,
                        "minutes": 53, "modality": "video"},
            "service": {"code": "90837"},
            "clinician": {"name": mark(), "credentials": mark()},
            "diagnoses": [{"code": "F41.1", "label": mark()}, {"code": "Z63.0"}],
            "risk": {"level": "high", "notes": mark(), "safety_plan": mark()},
            "homework": [mark(), mark()],
            "interventions": ["cognitive_restructuring", "emdr"],
            "treatment_goals": [{"goal": mark(), "progress": "no_change", "note": mark()}],
            "attendees": [mark(), mark()],
            "next_appointment": "2026-12-01",
            "mse": dict((k, mark()) for k in (
                "appearance", "behavior", "speech", "mood", "affect", "thought_process",
                "thought_content", "perception", "cognition", "insight", "judgment")),
            "alliance": {
                "trust": 4,
                "empathy": {"rating": 3, "note": mark()},
                "collaboration": 2,
                "respect": 5,
                "authenticity": 1,
                "challenges": {
                    "cultural_differences": {"noticed": True, "plan": mark()},
                    "power_imbalance": {"noticed": False, "note": mark()},
                    "countertransference": {"noticed": True, "plan": mark(), "note": mark()},
                },
                "rupture": {"noticed": "withdrawal", "addressed": False, "note": mark()},
            },
            "measures": {
                "srs": [1.1, 2.2, 3.3, 4.4],
                "ors": [5.5, 6.6, 7.7, 8.8],
                "wai_sr": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2],
                "phq9": [0, 1, 2, 3, 0, 1, 2, 3, 1],
                "gad7": [3, 2, 1, 0, 1, 2, 3],
            },
        }
        for section in SECTIONS[note_type]:
            s[section] = mark()
        expected = re.findall(r"Mk\d{3}q", json.dumps(s)) + [
            "24 November 2026", "14:00", "14:53", "number 7", "53 minutes", "video",
            "90837", "F41.1", "Z63.0", "Problems in relationship with spouse or partner",
            "high", "cognitive restructuring", "EMDR", "no change", "01 December 2026",
            "Trust: 4 of 5", "Empathy: 3 of 5", "Collaboration: 2 of 5", "Respect: 5 of 5",
            "Authenticity: 1 of 5", "Cultural differences: noticed", "Power imbalance: not noticed",
            "noticed: withdrawal", "addressed: no",
            "1.1, 2.2, 3.3, 4.4", "5.5, 6.6, 7.7, 8.8", "1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2",
            "Total 11 of 40", "Total 28.6 of 40", "Total 13 of 27 (moderate)",
            "Total 12 of 21 (moderate)"]
        # PHQ-9 and GAD-7 ship their items' wording: each item is shown with
        # its score (the numbering is the list's own in HTML).
        phq9 = ["Little interest or pleasure in doing things",
                "Feeling down, depressed, or hopeless",
                "Trouble falling or staying asleep, or sleeping too much",
                "Feeling tired or having little energy", "Poor appetite or overeating",
                "Feeling bad about yourself, or that you are a failure or have let yourself or "
                "your family down",
                "Trouble concentrating on things, such as reading the newspaper or watching "
                "television",
                "Moving or speaking so slowly that other people could have noticed; or the "
                "opposite, being so fidgety or restless that you have been moving around a lot "
                "more than usual",
                "Thoughts that you would be better off dead, or of hurting yourself in some way"]
        gad7 = ["Feeling nervous, anxious, or on edge",
                "Not being able to stop or control worrying",
                "Worrying too much about different things", "Trouble relaxing",
                "Being so restless that it is hard to sit still",
                "Becoming easily annoyed or irritable",
                "Feeling afraid, as if something awful might happen"]
        for words, scores in ((phq9, s["measures"]["phq9"]), (gad7, s["measures"]["gad7"])):
            expected += ["%s: %d" % (w, x) for w, x in zip(words, scores)]
        return s, expected

    def test_every_value_typed_appears_in_every_format(self):
        for note_type in SECTIONS:
            session, expected = self.rich(note_type)
            self.write("%s.json" % note_type, json.dumps(session))
            for fmt in ("md", "html", "txt"):
                with self.subTest(note_type=note_type, fmt=fmt):
                    r = self.rapport("render", "--format", fmt, "%s.json" % note_type)
                    self.assertEqual(r.code, 0, r)
                    text = html.unescape(r.out) if fmt == "html" else r.out
                    missing = [e for e in expected if e not in text]
                    self.assertEqual(missing, [], text)


MINIMAL_SOAP = ("type: soap\nclient: { id: C-1, initials: J.D. }\nsession: { date: 2026-11-24 }\n"
                "clinician: { name: Dana Whitfield }\nsubjective: s\nobjective: o\nassessment: a\n"
                "plan: p\nrisk: { level: none }\n")


class OneShape(RapportTest):
    """A note has every field of its note type, whatever the session or a
    plugin left out, so that layouts can test any of them under --strict."""

    def note(self, *args):
        r = self.rapport("render", "--format", "json", *args, "s.yaml")
        self.assertEqual(r.code, 0, r)
        return json.loads(r.out)

    def test_absent_fields_are_empty_lists_or_null(self):
        self.write("s.yaml", MINIMAL_SOAP)
        note = self.note()
        for key in ("attendees", "diagnoses", "homework", "interventions", "treatment_goals"):
            self.assertEqual(note[key], [], key)
        for key in ("service", "mse", "next_appointment", "signature"):
            self.assertIsNone(note[key], key)
        self.assertEqual(note["clinician"], {"name": "Dana Whitfield", "credentials": None})
        self.assertEqual(note["note_type"]["added_fields"], [])
        # Inside the objects a list holds too: a goal without its progress.
        self.write("s.yaml", MINIMAL_SOAP + "treatment_goals: [ { goal: Sleep } ]\n"
                   "diagnoses: [ { code: F99.9 } ]\n")
        note = self.note()
        self.assertEqual(note["treatment_goals"], [{"goal": "Sleep", "progress": None,
                                                    "note": None}])
        self.assertEqual(note["diagnoses"], [{"code": "F99.9", "label": None}])
        # A label further up the note is never shown as the diagnosis's.
        r = self.rapport("render", "--strict", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn("- F99.9\n", r.out)

    def test_a_group_with_nothing_in_it_is_null(self):
        self.write("s.yaml", MINIMAL_SOAP + "mse:\n  mood:\n  affect:\n")
        self.assertIsNone(self.note()["mse"])
        r = self.rapport("render", "--strict", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("Mental status", r.out)
        # Made so by a plugin, too; a group with something in it stays.
        self.write("plugins/shape.lua", """
rapport.on("note", function(note)
  note.mse = { mood = rapport.map(), affect = {} }
  note.session = { date = note.session.date, start = "09:00" }
end)
""")
        note = self.note()
        self.assertIsNone(note["mse"])
        self.assertEqual(note["session"], {"date": "2026-11-24", "start": "09:00", "end": None,
                                           "minutes": None, "modality": None, "number": None})

    def test_a_hash_sign_is_escaped_only_where_it_could_make_a_heading(self):
        self.write("s.yaml", MINIMAL_SOAP.replace("plan: p\n", 'plan: "review thought log #3 next time"\n')
                   .replace("subjective: s\n", "subjective: |\n  # not a heading\n  item #2\n"))
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn("\nreview thought log #3 next time\n", r.out)
        self.assertIn("\n\\# not a heading\\\nitem #2\n", r.out)
        html = self.rapport("render", "--format", "html", "s.yaml").out
        self.assertIn("review thought log #3 next time", html)
        self.assertNotIn("<h1>not a heading", html)

    def test_a_table_held_many_times_over_is_refused_quickly(self):
        self.write("s.yaml", MINIMAL_SOAP)
        self.write("plugins/shared.lua", """
rapport.on("note", function(note)
  local t = {}
  for i = 1, 20 do t = { a = t, b = t, c = t, d = t } end
  note.mse = t
end)
""")
        r = self.rapport("render", "s.yaml", timeout=20)
        self.assertEqual(r.code, 1, r)
        self.assertIn("values once its shared tables are written out", r.err)

    def test_a_session_too_large_to_complete_is_its_own_problem(self):
        # Completing a note adds to the session's tables; a session that
        # fills the plugins' memory that way gets an error, and the next
        # session still gets its note.
        self.write("a.yaml", MINIMAL_SOAP)
        self.write("big.yaml", MINIMAL_SOAP + "treatment_goals:\n"
                   + "  - {goal: g}\n" * 150000)
        r = self.rapport("render", "--out-dir", "out", "big.yaml", "a.yaml", timeout=60)
        self.assertEqual(r.code, 1, r)
        self.assertIn("big.yaml: error: no note: this session is too large for the plugins' "
                      "memory", r.err)
        self.assertEqual(sorted(os.listdir(os.path.join(self.dir, "out"))), ["a.md"])

    def test_a_group_that_contains_itself_is_an_error_not_a_crash(self):
        self.write("s.yaml", MINIMAL_SOAP)
        self.write("plugins/cycle.lua", """
rapport.on("note", function(note)
  local g = rapport.map()
  g.self = g
  note.mse = g
end)
""")
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("a table contains itself", r.err)
        self.assertEqual(r.out, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
