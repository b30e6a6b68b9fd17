"""End-to-end tests of the plugin host through the real binary: rapport list,
check and test, plugin filters and lambdas in rapport mustache, overrides,
errors with the plugin's file and line, and isolation between contexts.
"""

import json
import os
import unittest

from harness import ROOT, RapportTest


class PluginTest(RapportTest):
    def plugin(self, name, source, folder="pl"):
        return self.write(os.path.join(folder, name), source)


class TestCommand(PluginTest):
    def test_counts_passes_and_failures(self):
        self.plugin("a.lua", """
rapport.test("adds", function(t) t.eq(1 + 1, 2) end)
rapport.test("compares tables", function(t) t.eq({a = {1, 2}}, {a = {1, 2}}) end)
rapport.test("wrong on purpose", function(t)
  t.eq(1 + 1, 3, "sum")
end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "2 passed, 1 failed\n", r)
        self.assertProblem(r, "pl/a.lua", 5, 1, "test 'wrong on purpose' failed: sum: expected 3, got 2")

    def test_all_pass_exit_0(self):
        self.plugin("a.lua", 'rapport.test("x", function(t) t.ok(true) end)\n')
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out), (0, "1 passed, 0 failed\n"), r)

    def test_match_runs_only_matching_tests(self):
        self.plugin("a.lua", """
rapport.test("alpha one", function(t) t.ok(true) end)
rapport.test("beta", function(t) t.ok(false, "never runs") end)
""")
        r = self.rapport("--plugins", "pl", "test", "--match", "alpha")
        self.assertEqual((r.code, r.out), (0, "1 passed, 0 failed\n"), r)

    def test_fails_and_render_helpers(self):
        self.plugin("a.lua", """
rapport.filter("shout", function(v) return v:upper() .. "!" end)
rapport.test("render uses plugin filters", function(t)
  t.eq(t.render("{{who | shout}} {{n}}", {who = "dana & co", n = 3}), "DANA &amp; CO! 3")
end)
rapport.test("fails", function(t)
  t.fails(function() error("bad thing") end, "bad thing")
end)
rapport.test("fails needs an error", function(t)
  t.fails(function() end)
end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.out, "2 passed, 1 failed\n", r)
        self.assertIn("test 'fails needs an error' failed: expected an error", r.err)

    def test_a_test_does_not_see_another_tests_state(self):
        self.plugin("a.lua", """
local store = {}
rapport.test("first writes", function(t) store.secret = "canary-1"; t.ok(true) end)
rapport.test("second reads", function(t) t.eq(store.secret, nil) end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out), (0, "2 passed, 0 failed\n"), r)

    def test_each_test_starts_from_the_plugins_as_they_loaded(self):
        # Every test runs the same code: it would pass only first if any
        # place it writes to kept the previous test's value.
        self.plugin("shelf.lua", 'return { items = {} }\n')
        body = """
  print(string.format("start %.4f %.6f", collectgarbage("count"), os.clock()))
  t.eq(counter, 0)
  t.eq(n, 0)
  t.eq(#shelf.items, 0)
  t.eq(select(2, coroutine.resume(co)), 1)
  counter, n = counter + 1, n + 1
  shelf.items[#shelf.items + 1] = string.rep("x", 100000)
  coroutine.resume(co)
"""
        src = ["local shelf = require 'shelf'", "counter = 0", "local n = 0",
               "local co = coroutine.create(function() local i = 0 while true do i = i + 1 "
               "coroutine.yield(i) end end)",
               ]
        for i in range(5):
            src.append('rapport.test("round %d", function(t)%send)' % (i, body))
        self.plugin("rounds.lua", "\n".join(src) + "\n")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out), (0, "5 passed, 0 failed\n"), r)
        # What a test measures as it starts does not depend on the tests
        # before it: the memory in use and the clock.
        starts = [line.split("note: ")[1] for line in r.err.splitlines() if "note: start" in line]
        self.assertEqual(len(starts), 5, r)
        self.assertEqual(set(starts), {starts[0]}, r)

    def test_plugin_that_fails_to_load_is_reported_and_others_run(self):
        self.plugin("a_bad.lua", "local x = = 1\n")
        self.plugin("b_good.lua", 'rapport.test("ok", function(t) t.ok(true) end)\n')
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "1 passed, 0 failed\n", r)
        self.assertProblem(r, "pl/a_bad.lua", 1, 1, "unexpected symbol")

    def test_endless_loop_at_load_is_stopped_with_its_line(self):
        self.plugin("loop.lua", "local n = 0\nwhile true do n = n + 1 end\n")
        r = self.rapport("--plugins", "pl", "test", timeout=60)
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "pl/loop.lua", 2, 1, "instruction budget exceeded")

    def test_not_a_folder_is_a_usage_error(self):
        self.assertUsageError(self.rapport("test", "nowhere"), command="test")


class Registration(PluginTest):
    def test_unknown_option_names_key_function_and_line(self):
        self.plugin("a.lua", """
rapport.note_type{
  id = "dap",
  feilds = {},
}
""")
        r = self.rapport("--plugins", "pl", "check")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "pl/a.lua", 2, 1, "rapport.note_type: unknown option 'feilds'")

    def test_wrong_types_and_missing_options(self):
        cases = [
            ('rapport.measure{ id = "srs", items = 4.5, min = 0, max = 10 }',
             "option 'items' must be a whole number"),
            ('rapport.measure{ id = "srs", items = 4, min = 0 }', "option 'max' is required"),
            ('rapport.note_type{ id = "Bad Id", fields = {} }', "id 'Bad Id' must be"),
            ('rapport.note_type{ id = "x", fields = { { id = "r", type = "rating" } } }',
             "is a rating and needs 'min' and 'max'"),
            ('rapport.note_type{ id = "x", fields = { { id = "k", type = "kind" } } }',
             "must be one of text, string"),
            ('rapport.note_type{ id = "x", fields = { { id = "a", type = "text" }, '
             '{ id = "a", type = "text" } } }', "field 'a' is defined twice"),
            ('rapport.filter("x y", function() end)', "name 'x y' must be"),
            ('rapport.on("whenever", function() end)', "unknown event 'whenever'"),
            ('rapport.checklist{ id = "c", items = { { id = "i", type = "stars" } } }',
             "must be one of rating, flag, text"),
            ('rapport.test("t")', "takes two arguments"),
        ]
        for src, fragment in cases:
            with self.subTest(src=src):
                self.plugin("a.lua", "\n" + src + "\n")
                r = self.rapport("--plugins", "pl", "check")
                self.assertEqual(r.code, 1, r)
                self.assertProblem(r, "pl/a.lua", 2, 1, fragment)

    def test_a_repeated_id_names_its_first_two_places(self):
        # The first id met again is reported, with the place it was first
        # used: "a" comes back after "b" has, so "b" is the one named.
        cases = [
            ('rapport.note_type{ id = "x", fields = { { id = "a", type = "text" }, '
             '{ id = "b", type = "text" }, { id = "b", type = "text" }, { id = "a", type = "text" } } }',
             "rapport.note_type: field 'b' is defined twice (fields[2] and fields[3])"),
            ('rapport.note_type{ id = "x", fields = { { id = "a", type = "text" }, '
             '{ id = "b", type = "object", fields = { { id = "c", type = "text" }, { id = "d", type = "text" }, '
             '{ id = "c", type = "text" } } }, { id = "a", type = "text" } } }',
             "rapport.note_type: field 'c' is defined twice (fields[1] and fields[3])"),
            ('rapport.checklist{ id = "c", items = { { id = "i", type = "flag" }, { id = "j", type = "flag" }, '
             '{ id = "k", type = "flag" }, { id = "j", type = "flag" }, { id = "i", type = "flag" } } }',
             "rapport.checklist: item 'j' is defined twice (items[2] and items[4])"),
            # The item's own rule is checked before its id is compared.
            ('rapport.checklist{ id = "c", items = { { id = "i", type = "flag" }, { id = "i" } } }',
             "rapport.checklist: item 'i' is rated and needs 'min' and 'max' (min <= max)"),
        ]
        self.assertEachRefusedAlone(cases)

    def assertEachRefusedAlone(self, cases):
        """Each (plugin source, message) pair: the plugin, on line 2 of its
        file, is refused with that one problem at its line."""
        for src, message in cases:
            with self.subTest(src=src):
                self.plugin("a.lua", "\n" + src + "\n")
                r = self.rapport("--plugins", "pl", "check")
                self.assertEqual(r.code, 1, r)
                self.assertProblem(r, "pl/a.lua", 2, 1, message)
                self.assertEqual(len(self.problems(r)), 1, r)

    def test_ids_that_differ_only_after_a_nul_are_the_same_id(self):
        # Rapport reads an id up to its first NUL byte: "a\0x" and "a\0y"
        # would be two fields (or items) named 'a' in the note type.
        cases = [
            ('rapport.note_type{ id = "x", fields = { { id = "a\\0x", type = "text" }, '
             '{ id = "a\\0y", type = "integer" } } }',
             "rapport.note_type: field 'a' is defined twice (fields[1] and fields[2])"),
            ('rapport.checklist{ id = "c", items = { { id = "i\\0x", type = "flag" }, '
             '{ id = "i\\0y", type = "flag" } } }',
             "rapport.checklist: item 'i' is defined twice (items[1] and items[2])"),
        ]
        self.assertEachRefusedAlone(cases)

    def test_the_first_missing_required_option_is_named_where_it_is(self):
        # Options are checked in the order the documentation lists them.
        cases = [
            ('rapport.note_type{ id = "x", fields = { { label = "L" } } }',
             "rapport.note_type: option 'id' is required in fields[1]"),
            ('rapport.note_type{ id = "x", fields = { { id = "l", type = "list", items = { label = "x" } } } }',
             "rapport.note_type: option 'type' is required in fields[1].items"),
            ('rapport.measure{ id = "m", title = "M" }', "rapport.measure: option 'items' is required"),
            ('rapport.measure{ id = "m", items = 2, min = 0, max = 1, '
             'bands = { { min = 0, max = 1, label = "a" }, { label = "b" } } }',
             "rapport.measure: option 'min' is required in bands[2]"),
        ]
        self.assertEachRefusedAlone(cases)

    def test_long_lists_of_fields_and_items_register(self):
        # Telling repeated ids apart costs one lookup an entry: comparing
        # each with all before it took seconds, beyond the time limit of the
        # plugin's call (checked again by the work that follows).
        self.plugin("a.lua", """
local fields, items = {}, {}
for i = 1, 20000 do
  fields[i] = { id = "f" .. i, type = "text" }
  items[i] = { id = "i" .. i, type = "flag" }
end
rapport.note_type { id = "many", title = "Many", fields = fields }
rapport.checklist { id = "many", title = "Many", items = items }
local after = {}
for i = 1, 1000 do after[i] = { i } end
""")
        self.plugin("b.lua", """
local fields = {}
for i = 1, 20000 do fields[i] = { id = "f" .. i, type = "text" } end
fields[20001] = { id = "f2", type = "text" }
rapport.note_type { id = "again", fields = fields }
""")
        r = self.rapport("--plugins", "pl", "list", timeout=30)
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "pl/b.lua", 5, 1, "rapport.note_type: field 'f2' is defined twice "
                           "(fields[2] and fields[20001])")
        self.assertEqual(len(self.problems(r)), 1, r)
        self.assertRegex(r.out, r"\n  many +pl/a.lua:7  Many\n")
        self.assertRegex(r.out, r"Checklists\n(.*\n)*  many +pl/a.lua:8  Many\n")

    def test_the_schema_is_the_table_as_its_plugin_left_it(self):
        # Changes after registration count (the schema is read when loading
        # is over); a field whose id was taken away is left out, at any depth,
        # where it used to crash the process.
        self.plugin("a.lua", """
local t = { id = "late", fields = {
  { id = "a", type = "text", label = "A" },
  { id = "gone", type = "text" },
  { id = "o", type = "object", fields = { { id = "x", type = "text" }, { id = "y", type = "text" } } },
  { id = "l", type = "list", items = { type = "object", fields = { { id = "z", type = "text" } } } },
} }
rapport.note_type(t)
t.fields[1].label = "Changed"
t.fields[2].id = nil
t.fields[3].fields[1].id = nil
t.fields[4].items.fields[1].id = nil
t.fields[5] = { id = "b.c", type = "integer", min = 2, example = 7 }
""")
        r = self.rapport("--plugins", "pl", "new", "late")
        self.assertEqual((r.code, r.err), (0, ""), r)
        body = [line for line in r.out.splitlines() if not line.startswith("#")]
        self.assertEqual(body, [
            "type: late",
            "a:  # Changed: text; optional",
            "o:  # a group of fields; optional",
            "  y:  # text; optional",
            "l:  # a list, one item per '- ' line; each item: a group of fields; optional",
            "b:  # a group of fields; optional",
            "  c:  # a whole number of at least 2; optional; e.g. 7",
        ], r)

    def test_reserved_field_names_are_refused(self):
        # Rapport puts scores, checklists, note_type and signature into every
        # note; a field of one of those names would be replaced without a word.
        for fid in ("scores", "checklists", "note_type", "signature", "scores.total"):
            with self.subTest(id=fid):
                self.plugin("a.lua", """
rapport.note_type{ id = "x", fields = {
  { id = "client.id", type = "string" },
  { id = "%s", type = "text" },
} }
""" % fid)
                r = self.rapport("--plugins", "pl", "check")
                self.assertEqual(r.code, 1, r)
                self.assertProblem(r, "pl/a.lua", 2, 1, "rapport.note_type: fields[2] ('%s') uses "
                                   "the reserved name '%s'" % (fid, fid.split(".")[0]))
                self.assertIn("scores, checklists, note_type and signature", r.err)

    def test_reserved_names_are_free_below_the_top_level(self):
        self.plugin("a.lua", """
rapport.note_type{ id = "x", layout = "x", fields = {
  { id = "scores_total", type = "integer" },
  { id = "client.scores", type = "string" },
  { id = "session", type = "object", fields = { { id = "note_type", type = "string" } } },
} }
""")
        self.write("templates/x.md.mustache",
                   "{{scores_total}} {{client.scores}} {{session.note_type}} {{note_type.id}}\n")
        self.write("s.yaml", "type: x\nscores_total: 3\nclient: { scores: high }\n"
                   "session: { note_type: short }\n")
        r = self.rapport("--plugins", "pl", "render", "s.yaml")
        self.assertEqual((r.code, r.out), (0, "3 high short x\n"), r)

    def test_registration_outside_loading_is_refused(self):
        self.plugin("a.lua", """
rapport.test("late", function(t)
  rapport.filter("x", function() end)
end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.out, "0 passed, 1 failed\n", r)
        self.assertProblem(r, "pl/a.lua", 3, 1, "can only be called while a plugin loads")

    def test_same_id_twice_in_one_folder_names_both_files(self):
        self.plugin("a.lua", 'rapport.measure{ id = "srs", items = 4, min = 0, max = 10 }\n')
        self.plugin("b.lua", '\nrapport.measure{ id = "srs", items = 4, min = 0, max = 10 }\n')
        r = self.rapport("--plugins", "pl", "check")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "pl/b.lua", 2, 1, "measure 'srs' is registered twice in one folder: at pl/a.lua:1")

    def test_later_folder_overrides_and_list_says_so(self):
        self.plugin("scales.lua", 'rapport.measure{ id = "srs", title = "Base", items = 4, min = 0, max = 10 }\n', folder="one")
        self.plugin("base.lua", 'rapport.filter("calm", function(v) return v end)\n', folder="one")
        self.plugin("clinic.lua", '\n\nrapport.measure{ id = "srs", title = "Clinic", items = 4, min = 0, max = 10 }\n', folder="two")
        self.plugin("base.lua", 'rapport.filter("upper", function(v) return "mine" end)\n', folder="three")
        r = self.rapport("--plugins", "one", "--plugins", "two", "--plugins", "three", "list")
        self.assertEqual(r.code, 0, r)
        # An item of the same id in a later folder overrides the earlier one.
        self.assertRegex(r.out, r"(?m)^  srs +two/clinic\.lua:3  Clinic  \(overrides one/scales\.lua:1\)$")
        # A plugin filter may replace a built-in one.
        self.assertRegex(r.out, r"(?m)^  upper +three/base\.lua:1  \(overrides the built-in filter\)$")
        self.assertNotRegex(r.out, r"(?m)^  upper +built in$")
        # A plugin of the same name in a later folder replaces the earlier
        # plugin whole: what the earlier one registered is gone.
        self.assertRegex(r.out, r"(?m)^  base +three/base\.lua \(replaces one/base\.lua\)$")
        self.assertNotIn("calm", r.out)

    def test_check_reports_template_errors_too(self):
        self.write("templates/note.mustache", "{{#a}}\n{{x | nosuch}}\n")
        r = self.rapport("check")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "templates/note.mustache", 1, 1, "section 'a' is never closed")
        self.assertProblem(r, "templates/note.mustache", 2, 7, "unknown filter 'nosuch'")

    def test_check_knows_plugin_filters(self):
        self.plugin("f.lua", 'rapport.filter("initials", function(v) return v end)\n')
        self.write("templates/note.mustache", "{{name | initials}}\n")
        r = self.rapport("--plugins", "pl", "check")
        self.assertEqual(r.code, 0, r)
        self.assertIn("checked", r.err)

    def test_folder_plugin_and_require(self):
        self.plugin("shared/init.lua", 'return { greet = function(n) return "hello " .. n end }\n')
        self.plugin("user.lua", """
local shared = require "shared"
local api = require "rapport"
api.test("require works", function(t) t.eq(shared.greet("x"), "hello x") end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out), (0, "1 passed, 0 failed\n"), r)

    def test_plugin_files_may_not_escape_their_folder(self):
        self.write("outside.lua", 'rapport.test("escaped", function(t) t.ok(true) end)\n')
        os.symlink(os.path.join(self.dir, "outside.lua"), os.path.join(self.dir, "link.lua"))
        os.makedirs(os.path.join(self.dir, "pl"), exist_ok=True)
        os.replace(os.path.join(self.dir, "link.lua"), os.path.join(self.dir, "pl", "link.lua"))
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.out, "0 passed, 0 failed\n", r)
        self.assertIn("lies outside its plugin folder", r.err)


EXTENDED = """
rapport.note_type {
  id = "soap_plus",
  title = "SOAP note with homework review",
  extends = "soap",
  fields = {
    { id = "homework_done", type = "enum", values = { "all", "some", "none" },
      label = "Homework done" },
    { id = "session.location", type = "string", label = "Where it took place" },
    { id = "homework_items", type = "list", items = { type = "string" }, label = "Reviewed" },
  },
  measures = { "gad7" },
  validate = function(note)
    if note.homework_done == "none" then
      return { { field = "homework_done", message = "say in the plan what changes" } }
    end
  end,
  compute = function(note)
    note.reviewed = true
  end,
}
"""

PLUS = """type: soap_plus
client: { id: C-1042, initials: J.D. }
session: { date: 2026-11-24, location: room 2 }
clinician: { name: Dana Whitfield }
subjective: Slept better.
objective: Engaged.
assessment: Progress.
plan: Continue.
risk: { level: high }
homework_done: none
homework_items: [sleep diary, breathing]
measures:
  gad7: [3, 2, 2, 1, 1, 2, 1]
"""


class Extends(PluginTest):
    def test_an_extension_has_the_base_and_its_own(self):
        self.write("plugins/plus.lua", EXTENDED)
        self.write("s.yaml", PLUS)
        r = self.rapport("check", "s.yaml")
        self.assertEqual(r.code, 1, r)
        # The base's rule and the extension's, in one pass.
        self.assertProblem(r, "s.yaml", 9, 7, "a high risk level needs a safety plan")
        self.assertProblem(r, "s.yaml", 10, 16, "say in the plan what changes")
        self.assertEqual(len(self.problems(r)), 2, r)
        self.write("s.yaml", PLUS.replace("level: high", "level: none")
                   .replace("homework_done: none", "homework_done: some"))
        r = self.rapport("render", "--format", "json", "s.yaml")
        self.assertEqual(r.code, 0, r)
        note = json.loads(r.out)
        self.assertEqual(note["note_type"]["id"], "soap_plus")
        self.assertEqual(note["note_type"]["title"], "SOAP note with homework review")
        self.assertTrue(note["reviewed"])  # the extension's compute ran
        self.assertIn("gad7", note["scores"])
        self.assertEqual(note["note_type"]["added_fields"], [
            {"id": "homework_done", "label": "Homework done", "text": "some"},
            {"id": "session.location", "label": "Where it took place", "text": "room 2"},
            {"id": "homework_items", "label": "Reviewed", "text": "sleep diary, breathing"},
        ])
        # The base's layout shows what the extension added: nothing is lost.
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 0, r)
        self.assertIn("## Subjective\n\nSlept better.", r.out)
        self.assertIn("- Homework done: some\n- Where it took place: room 2\n"
                      "- Reviewed: sleep diary, breathing\n", r.out)
        self.assertIn("## Generalized Anxiety Disorder scale (GAD-7)", r.out)
        # rapport new writes the base's fields and the extension's.
        r = self.rapport("new", "soap_plus")
        self.assertEqual(r.code, 0, r)
        self.assertIn("\n  location:  # Where it took place: text on one line; optional\n", r.out)
        self.assertIn("\nhomework_done:  # Homework done: one of all, some, none; optional\n",
                      r.out)
        self.assertIn("\nsubjective:  # Subjective", r.out)

    def test_what_cannot_be_extended(self):
        cases = [
            ('rapport.note_type { id = "x", extends = "nope", fields = {} }',
             "extends 'nope', which is not a note type registered before this one"),
            ('rapport.note_type { id = "x", extends = "soap", fields = '
             '{ { id = "plan", type = "text" } } }', "field 'plan' is defined twice"),
            ('rapport.note_type { id = "x", extends = 3 }', "option 'extends' must be text"),
            ('rapport.note_type { id = "x" }', "option 'fields' is required"),
        ]
        for lua, message in cases:
            with self.subTest(message=message):
                self.write("plugins/x.lua", lua + "\n")
                r = self.rapport("list")
                self.assertEqual(r.code, 1, r)
                self.assertIn("plugins/x.lua:1:", r.err)
                self.assertIn(message, r.err)


class FailedRequire(PluginTest):
    def test_a_module_that_failed_is_reported_once(self):
        # a_lib fails before b_user requires it; z_lib fails while c_user
        # requires it (it loads later on the path); d_user requires c_user.
        self.write("plugins/a_lib.lua", 'local M = {}\nerror("broken on purpose")\nreturn M\n')
        self.write("plugins/b_user.lua", 'local lib = require "a_lib"\n'
                   'rapport.filter("shout", function(v) return v end)\n')
        self.write("plugins/c_user.lua", 'local lib = require "z_lib"\n')
        self.write("plugins/d_user.lua", 'local c = require "c_user"\n')
        self.write("plugins/z_lib.lua", 'error("z broken")\n')
        self.write("plugins/ok.lua", 'rapport.filter("fine", function(v) return v end)\n')
        for command in (["check"], ["list"]):
            with self.subTest(command=command[0]):
                r = self.rapport(*command)
                self.assertEqual(r.code, 1, r)
                self.assertEqual([p[:3] + (p[3],) for p in self.problems(r)], [
                    ("plugins/a_lib.lua", 2, 1, "broken on purpose"),
                    ("plugins/z_lib.lua", 1, 1, "z broken"),
                ], r)
                self.assertNotIn("not found", r.err)
                self.assertEqual(r.err.count("broken on purpose"), 1, r)
                self.assertEqual(r.err.count("z broken"), 1, r)
                for user, lib in (("b_user", "a_lib"), ("c_user", "z_lib"), ("d_user", "c_user")):
                    self.assertIn("plugins/%s.lua: note: not loaded: it requires '%s', which "
                                  "failed to load\n" % (user, lib), r.err)
        # The plugins that did not depend on them still work.
        r = self.rapport("list")
        self.assertIn("fine", r.out)
        self.assertNotIn("shout", r.out)


class BuiltinsCompiled(PluginTest):
    """The built-in plugins run from bytecode compiled at build time; what
    they report must name their source file and line exactly as if their
    source had been compiled at start."""

    def test_an_error_inside_a_builtin_names_its_line(self):
        with open(os.path.join(ROOT, "plugins", "icd10.lua"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        line = next(n for n, text in enumerate(lines, 1)
                    if text.strip() == "for code, title in pairs(codes) do")
        self.write("plugins/bad.lua", 'local icd = require("icd10")\nicd.add(123)\n')
        r = self.rapport("check")
        self.assertEqual(r.code, 1, r)
        problems = self.problems(r)
        self.assertEqual(problems[0][:3], ("plugins/icd10.lua", line, 1), r)
        self.assertIn("bad argument #1 to 'pairs'", problems[0][3])
        self.assertIn("plugins/bad.lua:2:1: note: in main chunk", r.err)

    def test_a_workspace_override_of_a_builtin_is_its_own_source(self):
        # A workspace plugin of a built-in's name replaces it: its own source
        # runs, never the built-in's bytecode.
        self.write("plugins/icd10.lua", 'return { title = function() return "ours" end }\n')
        self.write("plugins/use.lua", 'assert(require("icd10").title("F41.1") == "ours")\n')
        r = self.rapport("check")
        self.assertEqual(r.code, 0, r)


class MustacheWithPlugins(PluginTest):
    def test_filters_and_lambdas(self):
        self.plugin("a.lua", """
rapport.filter("initials", function(name)
  return (name:gsub("(%a)%a*%s*", "%1."))
end)
rapport.lambda("bold", function(text) return "**" .. text .. "**" end)
""")
        self.write("t.mustache", "{{client | initials}} {{#bold}}{{client}}{{/bold}}\n")
        self.write("d.json", '{"client": "Jane Doe"}')
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.json")
        self.assertRenders(r, "J.D. **Jane Doe**\n")

    def test_data_shadows_a_lambda_of_the_same_name(self):
        self.plugin("a.lua", 'rapport.lambda("bold", function(text) return "B" end)\n')
        self.write("t.mustache", "{{bold}}\n")
        self.write("d.json", '{"bold": "data"}')
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.json")
        self.assertRenders(r, "data\n")

    def test_strict_mode_reports_a_filter_that_gives_nothing(self):
        # The name is there, but nothing comes out of the chain: under
        # --strict that is reported, as a missing name is.
        self.plugin("a.lua", 'rapport.filter("nothing", function() return nil end)\n')
        self.write("t.mustache", "A: {{x | nothing}}\n")
        self.write("d.json", '{"x": "1"}')
        r = self.rapport("--plugins", "pl", "mustache", "--strict", "t.mustache", "d.json")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "t.mustache", 1, 4, "'x' is not defined (strict mode)")
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.json")
        self.assertRenders(r, "A: \n")

    def test_without_plugins_flag_plugin_filters_are_unknown(self):
        self.plugin("a.lua", 'rapport.filter("initials", function(v) return v end)\n', folder="plugins")
        self.write("t.mustache", "{{x | initials}}\n")
        r = self.rapport("mustache", "t.mustache")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "t.mustache", 1, 7, "unknown filter 'initials'")

    def test_filter_error_is_reported_and_other_lines_render(self):
        self.plugin("a.lua", """
rapport.filter("picky", function(v)
  if v == "bad" then error("cannot handle this one") end
  return v
end)
""")
        self.write("t.mustache", "{{x | picky}}\n")
        self.write("d.jsonl", '{"x":"ok1"}\n{"x":"bad"}\n{"x":"ok2"}\n')
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.jsonl")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "ok1\nok2\n", r)
        self.assertIn("filter 'picky' failed", r.err)
        self.assertIn("pl/a.lua:3", r.err)

    def test_a_count_kept_without_allocating_starts_again_each_line(self):
        # The same short text on every line, and an integer in an upvalue:
        # nothing is allocated, yet nothing carries over.
        self.plugin("counter.lua", """
local n = 0
rapport.filter("count", function() n = n + 1 return n end)
""")
        self.write("d.jsonl", '{"x": "a"}\n' * 200)
        self.write("t.mustache", "{{x | count}}{{x | count}}\n")
        for jobs in ("1", "2"):
            r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.jsonl",
                             env={"RAPPORT_JOBS": jobs})
            self.assertEqual((r.code, r.out), (0, "12\n" * 200), r)

    def test_canaries_never_cross_between_contexts(self):
        # A plugin that tries every way to carry data from one context to the
        # next: an upvalue, a global, a table field on a library. Two
        # sessions with unique canaries alternate a thousand times.
        self.plugin("thief.lua", """
local stash = {}
rapport.filter("steal", function(v)
  local before = table.concat(stash, "|") .. (rawget(_ENV, "g") or "") .. (string.stash or "")
  stash[#stash + 1] = v
  g = v
  string.stash = v
  return before
end)
""")
        lines = []
        for i in range(1000):
            lines.append(json.dumps({"c": "CANARY-A-%d" % i if i % 2 == 0 else "CANARY-B-%d" % i}))
        self.write("d.jsonl", "\n".join(lines) + "\n")
        self.write("t.mustache", "[{{c | steal}}]\n")
        for jobs in ("1", "2"):
            with self.subTest(jobs=jobs):
                r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.jsonl",
                                 env={"RAPPORT_JOBS": jobs}, timeout=120)
                self.assertEqual(r.code, 0, r)
                self.assertEqual(r.out, "[]\n" * 1000, r.err)
                self.assertNotIn("CANARY", r.err)


class Coroutines(PluginTest):
    """Every C function a plugin calls acts on the stack of the thread that
    called it: called from a coroutine, t.fails, t.render and t.validate,
    plugin filters and lambdas inside t.render, registration and require once
    ran on the suspended main thread's stack and crashed the process."""

    def test_test_helpers_inside_coroutines(self):
        self.plugin("helper.lua", "return { answer = 42 }\n")
        self.plugin("a.lua", """
rapport.filter("shout", function(v) return v:upper() end)
rapport.lambda("wrap", function(text) return "[" .. text .. "]" end)
rapport.note_type{ id = "mini", fields = { { id = "n", type = "integer", required = true } } }
local function in_coroutine(fn) return coroutine.wrap(fn)() end
rapport.test("fails", function(t)
  in_coroutine(function()
    for _ = 1, 40 do
      pcall(t.fails, function() error("x") end)
      t.fails(function() error("boom") end, "boom")
    end
  end)
end)
rapport.test("render", function(t)
  local out = in_coroutine(function()
    local last
    for i = 1, 40 do
      last = t.render("{{#wrap}}{{ w | shout }}{{/wrap}} {{#items}}{{.}}{{/items}}",
                      { w = "dana", items = { i, i + 1 } })
      pcall(t.render, "{{#a}}")
    end
    return last
  end)
  t.eq(out, "[DANA] 4041")
end)
rapport.test("validate", function(t)
  local problems = in_coroutine(function()
    local p
    for _ = 1, 40 do p = t.validate("mini", { type = "mini" }) end
    return p
  end)
  t.eq(#problems, 1)
end)
rapport.test("require", function(t)
  t.eq(in_coroutine(function() return require("helper").answer end), 42)
end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out), (0, "4 passed, 0 failed\n"), r)
        self.assertEqual(r.err, "", r)

    def test_fails_in_a_coroutine_does_not_crash(self):
        # Once a SIGSEGV: t.fails ran its call on the main thread's stack.
        self.plugin("a.lua", """
rapport.test("co", function(t)
  coroutine.wrap(function() for _=1,12 do pcall(t.fails, function() error"x" end) end end)()
end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out, r.err), (0, "1 passed, 0 failed\n", ""), r)

    def test_registration_inside_a_coroutine(self):
        self.plugin("a.lua", """
coroutine.wrap(function()
  for i = 1, 40 do rapport.filter("f" .. i, function(v) return v end) end
  rapport.filter("twice", function(v) return v end)
  for _ = 1, 40 do pcall(rapport.filter, "twice", function(v) return v end) end
end)()
""")
        self.write("t.mustache", "{{ x | f40 }}")
        self.write("d.json", '{"x": "ok"}')
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.json")
        self.assertEqual((r.code, r.out), (0, "ok"), r)


class ControlCharacters(PluginTest):
    """A plugin's text never forges a line of Rapport's output: whatever it
    prints, raises, returns as a validation message or fails a test with is
    shown on one line with its control characters escaped."""

    FORGED = "sessions/x.yaml:1:1: error: forged\\nrendered 9 of 9\\x1b[2J"

    def assertNoForgedLine(self, r):
        for line in (r.out + r.err).splitlines():
            self.assertFalse(line.startswith("sessions/x.yaml"), r)
            self.assertFalse(line.startswith("rendered 9"), r)
        self.assertNotIn("\x1b", r.out + r.err, r)

    def test_print_warn_errors_and_test_failures(self):
        self.plugin("a.lua", """
local forged = "a\\n" .. "%s"
print(forged)
warn(forged)
rapport.test("fails with newlines", function(t) error(forged) end)
rapport.test("fails without position", function(t) error(forged, 0) end)
rapport.test("t.eq shows the values", function(t) t.eq(forged, "x") end)
""" % self.FORGED)
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.out, "0 passed, 3 failed\n", r)
        self.assertNoForgedLine(r)
        self.assertIn("pl/a.lua:3:1: note: a\\nsessions/x.yaml:1:1: error: forged\\nrendered 9 of 9"
                      "\\x1b[2J\n", r.err)
        self.assertProblem(r, "pl/a.lua", 5, 1, "failed: a\\nsessions/x.yaml:1:1: error: forged")
        self.assertProblem(r, "pl/a.lua", 6, 1, "failed: a\\nsessions/x.yaml:1:1: error: forged")

    def test_list_shows_titles_and_names_on_one_line(self):
        # A title with line breaks cannot add a line to `rapport list`.
        self.plugin("a.lua", """
rapport.checklist{ id = "cl", title = "Title\\n" .. "%s",
  items = { { id = "x", min = 1, max = 5 } } }
""" % self.FORGED)
        r = self.rapport("--plugins", "pl", "list")
        self.assertNoForgedLine(r)
        self.assertIn("Title\\nsessions/x.yaml:1:1: error: forged", r.out, r)

    def test_load_error_and_validation_message(self):
        self.plugin("a.lua", """
rapport.note_type{ id = "mini", fields = { { id = "n", type = "integer" } },
  validate = function(note) return { "a\\n" .. "%s" } end }
""" % self.FORGED)
        self.write("s.yaml", "type: mini\nn: 1\n")
        r = self.rapport("--plugins", "pl", "render", "s.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertNoForgedLine(r)
        self.assertProblem(r, "s.yaml", 1, 1, "a\\nsessions/x.yaml:1:1: error: forged")
        self.plugin("a.lua", 'error("a\\n%s")\n' % self.FORGED)
        r = self.rapport("--plugins", "pl", "check")
        self.assertEqual(r.code, 1, r)
        self.assertNoForgedLine(r)
        self.assertProblem(r, "pl/a.lua", 1, 1, "a\\nsessions/x.yaml:1:1: error: forged")

    def test_a_file_name_with_a_newline(self):
        name = "odd\nsessions/x.yaml:1:1: error: forged.yaml"
        self.write(name, "type: soap\n: broken\n")
        r = self.rapport("check", name)
        self.assertEqual(r.code, 1, r)
        self.assertNoForgedLine(r)
        self.assertIn("odd\\nsessions/x.yaml:1:1: error: forged.yaml:", r.err)


class Fixes(PluginTest):
    """Behaviour found wrong once, kept right."""

    def test_a_lambda_that_doubles_itself_is_bounded(self):
        # Returning two copies of itself inside {{#a}} over 40 levels of data
        # once made 2^40 calls, each with a fresh instruction budget.
        self.plugin("a.lua", """
rapport.lambda("l", function() return "{{#a}}{{#l}}{{/l}}{{#l}}{{/l}}{{/a}}" end)
""")
        v = False
        for _ in range(40):
            v = {"a": v}
        self.write("d.json", json.dumps({"a": v}))
        self.write("t.mustache", "x\n {{#l}}{{/l}}\n")
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.json", timeout=30)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.problems(r), [("t.mustache", 2, 2, "this render takes more than "
                                             "50000000 steps (do partials or lambdas multiply "
                                             "each other?)")], r)

    def test_errors_without_a_position_get_the_plugins_line(self):
        # A C stack overflow in a filter's gsub callback and an error object
        # that is a table once lost the plugin's file and line.
        self.plugin("a.lua", """
local function deep(s) return (s:gsub(".", deep)) end
rapport.filter("deep", function(s) return deep(s) end)
rapport.filter("odd", function(s)
  error(setmetatable({}, {__tostring = function() while true do end end}))
end)
rapport.lambda("gone", function() error({}) end)
""")
        self.write("t.mustache", "{{ x | deep }}\n{{ x | odd }}\n{{#gone}}x{{/gone}}\n")
        self.write("d.json", '{"x": "ab"}')
        r = self.rapport("--plugins", "pl", "mustache", "t.mustache", "d.json")
        self.assertEqual(r.code, 1, r)
        self.assertIn("filter 'deep' failed: pl/a.lua:2: C stack overflow", r.err)
        self.assertIn("filter 'odd' failed: pl/a.lua:5: (error object is a table value)", r.err)
        self.assertIn("pl/a.lua:7: (error object is a table value)", r.err)

    def test_filters_get_lists_and_whole_numbers_and_tests_see_lambdas(self):
        self.plugin("a.lua", """
rapport.filter("n", function(v) return #v end)
rapport.filter("show", function(v, a) return tostring(v) .. "/" .. tostring(a) end)
rapport.lambda("wrap", function(text) return "[" .. text .. "]" end)
rapport.test("a list reaches a filter", function(t) t.eq(t.render("{{ w | n }}", {w = {1, 2, 3}}), "3") end)
rapport.test("whole numbers stay whole", function(t) t.eq(t.render("{{ n | show 2 }}", {n = 4}), "4/2") end)
rapport.test("lambdas in t.render", function(t) t.eq(t.render("{{#wrap}}x{{/wrap}}"), "[x]") end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual((r.code, r.out), (0, "3 passed, 0 failed\n"), r)

    def test_failure_messages_are_one_line_at_the_test(self):
        self.plugin("a.lua", """
rapport.test("fails text", function(t) t.fails(function() error("boom") end, "bang") end)
rapport.test("render error", function(t) t.render("{{#a}}") end)
""")
        r = self.rapport("--plugins", "pl", "test")
        self.assertEqual(r.out, "0 passed, 2 failed\n", r)
        self.assertProblem(r, "pl/a.lua", 2, 1, 'expected an error containing "bang", got: pl/a.lua:2: boom')
        self.assertProblem(r, "pl/a.lua", 3, 1, "t.render: template line 1:1: section 'a' is never closed")
        self.assertNotIn("stack traceback", r.err)

    def test_definitions_are_checked_deeply(self):
        cases = [
            ('rapport.note_type{ id = "x", fields = { { id = "a", type = "list", items = { type = "enum" } } } }',
             "fields[1] ('a').items is an enum and needs 'values'"),
            ('rapport.checklist{ id = "c", items = { { id = "i" } } }',
             "item 'i' is rated and needs 'min' and 'max'"),
            ('rapport.checklist{ id = "c", items = { { id = "i", type = "flag" }, { id = "i", type = "flag" } } }',
             "item 'i' is defined twice"),
            ('rapport.measure{ id = "m", items = 0, min = 0, max = 1 }', "'items' must be from 1 to 1000"),
            ('rapport.measure{ id = "m", items = 2, min = 5, max = 1 }', "'min' must not be above 'max'"),
            ('rapport.measure{ id = "m", items = 2, min = 0, max = 1, subscales = { a = { 1, 3 } } }',
             "subscale 'a' lists an item that is not from 1 to 2"),
        ]
        for src, fragment in cases:
            with self.subTest(src=src):
                self.plugin("a.lua", "\n" + src + "\n")
                r = self.rapport("--plugins", "pl", "check")
                self.assertEqual(r.code, 1, r)
                self.assertProblem(r, "pl/a.lua", 2, 1, fragment)

    def test_unknown_checklist_of_a_note_type_and_loaded_hooks(self):
        self.plugin("b.lua", """rapport.note_type{ id = "y", fields = {}, checklists = { "alliance", "allaince" } }
rapport.on("loaded", function() print("all loaded") end)
""")
        r = self.rapport("--plugins", "pl", "check")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "pl/b.lua", 1, 1, "note type 'y' uses the checklist 'allaince', which no plugin defines")
        self.assertIn("pl/b.lua:2:1: note: all loaded", r.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
