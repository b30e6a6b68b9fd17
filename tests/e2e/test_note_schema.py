"""docs/note.schema.json and the validator the end-to-end tests check every
JSON note with (note_schema.py): the validator rejects what breaks a schema,
the shipped schema uses only what the validator understands, real notes fit
it, and the shapes it rules out (an empty group written as a list) are
refused."""

import copy
import json
import re
import unittest

import note_schema
from note_schema import SchemaError, errors
from harness import RapportTest

SESSION = """type: soap
client: { id: C-1042, initials: J.D. }
session: { date: 2026-11-24, number: 7 }
clinician: { name: Dana Whitfield }
subjective: Sleeping better.
objective: Engaged.
assessment: Progress.
plan: Continue.
risk: { level: none }
alliance:
  trust: 4
  challenges: {}
measures:
  srs: [8.5, 9.0, 7.5, 8.0]
  phq9: [2, 2, 1, 3, 1, 2, 1, 2, 1]
"""


class Validator(unittest.TestCase):
    SCHEMA = {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "integer", "minimum": 1, "maximum": 3},
            "b": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1},
            "c": {"type": ["string", "null"]},
            "d": {"enum": ["x", "y"]},
            "e": {"const": True},
        },
        "additionalProperties": False,
        "$defs": {"item": {"type": "object", "additionalProperties": {"type": "number"}}},
    }

    def assertRejected(self, doc, fragment):
        found = errors(doc, self.SCHEMA)
        self.assertTrue(any(fragment in e for e in found), (doc, found))

    def test_a_valid_document_has_no_errors(self):
        self.assertEqual(errors({"a": 2, "b": [{"x": 1.5}], "c": None, "d": "y", "e": True},
                                self.SCHEMA), [])
        self.assertEqual(errors({"a": 2.0}, self.SCHEMA), [])

    def test_each_keyword_rejects(self):
        self.assertRejected([], "$: expected object")
        self.assertRejected({}, "'a' is required")
        self.assertRejected({"a": "2"}, "$.a: expected integer")
        self.assertRejected({"a": 1.5}, "$.a: expected integer")
        self.assertRejected({"a": True}, "$.a: expected integer")  # a boolean is no number
        self.assertRejected({"a": 0}, "$.a: below the minimum")
        self.assertRejected({"a": 4}, "$.a: above the maximum")
        self.assertRejected({"a": 1, "z": 1}, "$.z: no value is allowed")
        self.assertRejected({"a": 1, "b": []}, "$.b: fewer than 1 items")
        self.assertRejected({"a": 1, "b": {}}, "$.b: expected array")
        self.assertRejected({"a": 1, "b": [[]]}, "$.b[0]: expected object")  # through $ref
        self.assertRejected({"a": 1, "b": [{"x": "1"}]}, "$.b[0].x: expected number")
        self.assertRejected({"a": 1, "c": 3}, "$.c: expected string or null")
        self.assertRejected({"a": 1, "d": "z"}, "$.d: not one of")
        self.assertRejected({"a": 1, "e": 1}, "$.e: not True")

    def test_a_schema_using_what_the_validator_skips_is_refused(self):
        with self.assertRaises(SchemaError):
            errors({}, {"type": "object", "patternProperties": {}})
        with self.assertRaises(SchemaError):
            errors({}, {"$ref": "#/$defs/missing"})
        with self.assertRaises(SchemaError):
            errors({}, {"$ref": "other.json#/x"})
        with self.assertRaises(SchemaError):
            errors(1, {"type": "float"})


def walk(schema, found):
    if isinstance(schema, dict):
        found.update(k for k in schema if k not in ("properties", "$defs"))
        for k, v in schema.items():
            if k in ("properties", "$defs"):
                for sub in v.values():
                    walk(sub, found)
            elif isinstance(v, (dict, list)):
                walk(v, found)
    elif isinstance(schema, list):
        for v in schema:
            walk(v, found)


class ShippedSchema(RapportTest):
    def note(self):
        self.write("s.yaml", SESSION)
        r = self.rapport("render", "--format", "json", "s.yaml")
        self.assertEqual(r.code, 0, r)
        return json.loads(r.out)

    def test_the_schema_is_draft_2020_12_and_uses_only_known_keywords(self):
        schema = note_schema.note_schema()
        self.assertEqual(schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
        found = set()
        walk(schema, found)
        self.assertLessEqual(found, note_schema.KEYWORDS)
        # Every $ref resolves, and every definition is used.
        refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(schema))
        for ref in refs:
            note_schema._resolve(schema, ref)
        self.assertEqual(sorted(set(refs)), sorted("#/$defs/" + n for n in schema["$defs"]))
        # Checking a note goes through the whole schema without a SchemaError.
        errors({}, schema)

    def test_a_real_note_fits(self):
        note = self.note()
        self.assertEqual(errors(note, note_schema.note_schema()), [])
        # What the schema's shapes are about: empty groups are objects.
        self.assertEqual(note["scores"]["srs"]["subscales"], {})
        self.assertEqual(note["alliance"]["challenges"], {})
        self.assertEqual(note["scores"]["phq9"]["risk_flags"][0][:5], "PHQ-9")

    def test_the_shapes_that_are_ruled_out(self):
        note = self.note()
        schema = note_schema.note_schema()
        bad = []
        n = copy.deepcopy(note)
        n["scores"]["srs"]["subscales"] = []  # an empty group written as a list
        bad.append((n, "$.scores.srs.subscales: expected object"))
        n = copy.deepcopy(note)
        n["scores"] = []
        bad.append((n, "$.scores: expected object"))
        n = copy.deepcopy(note)
        n["checklists"]["alliance"]["answers"][0]["secret"] = "x"
        bad.append((n, "$.checklists.alliance.answers[0].secret: no value is allowed"))
        n = copy.deepcopy(note)
        n["scores"]["phq9"]["cutoffs"][0]["at_least"] = "10"
        bad.append((n, "$.scores.phq9.cutoffs[0].at_least: expected number"))
        n = copy.deepcopy(note)
        n["note_type"]["measures"][0]["precision"] = 1.5
        bad.append((n, "$.note_type.measures[0].precision: expected integer"))
        n = copy.deepcopy(note)
        del n["scores"]["srs"]["total"]
        bad.append((n, "$.scores.srs: 'total' is required"))
        for doc, fragment in bad:
            with self.subTest(fragment=fragment):
                found = errors(doc, schema)
                self.assertTrue(any(fragment in e for e in found), found)

    def test_rapport_map(self):
        self.write("plugins/maps.lua", """
rapport.test("a new map, a marked table, and what cannot be marked", function(t)
  local m = rapport.map()
  t.eq(next(m), nil)
  t.eq(getmetatable(m), "rapport.map")
  local x = { a = 1 }
  t.ok(rapport.map(x) == x)
  t.ok(rapport.map(m) == m)
  t.fails(function() rapport.map(setmetatable({}, {})) end, "a metatable of its own")
  t.fails(function() rapport.map(1) end, "table expected")
  -- The mark is protected: a plugin cannot change it, or hide data in it.
  t.fails(function() setmetatable(m, {}) end, "protected metatable")
end)
rapport.on("note", function(note)
  note.empty_map = rapport.map()
  note.empty_list = {}
  -- A group of the session keeps its mark when a plugin empties it.
  note.client.id, note.client.initials = nil, nil
end)
""")
        r = self.rapport("test")
        self.assertEqual(r.code, 0, r)
        self.assertIn("1 passed, 0 failed", r.out + r.err)
        note = self.note()
        self.assertEqual(note["empty_map"], {})
        self.assertEqual(note["empty_list"], [])
        # Still a map: the note type's fields are filled back in, empty.
        self.assertEqual(note["client"], {"id": None, "initials": None})

    def test_every_json_output_is_checked(self):
        # harness.run hands each render --format json output to the check;
        # a note that does not fit is an assertion error there.
        good = json.dumps(self.note())
        note_schema.check_outputs(["render", "--format", "json", "s.yaml"], self.dir, good, 0)
        bad = good.replace('"subscales": {}', '"subscales": []', 1)
        self.assertNotEqual(bad, good)
        with self.assertRaises(AssertionError):
            note_schema.check_outputs(["render", "--format", "json", "s.yaml"], self.dir, bad, 0)
        self.write("out/s.json", bad)
        with self.assertRaises(AssertionError):
            note_schema.check_outputs(["render", "--format=json", "--out-dir", "out", "s.yaml"],
                                      self.dir, "", 0)
        with self.assertRaises(AssertionError):
            note_schema.check_outputs(["render", "-o", "out/s.json", "--format", "json", "s.yaml"],
                                      self.dir, "", 0)
        # Not a JSON render: nothing to check.
        note_schema.check_outputs(["render", "--format", "md", "s.yaml"], self.dir, bad, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
