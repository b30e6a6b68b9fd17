"""End-to-end tests of rendering many sessions in one run: JSONL batches
(one session per line) to standard output, to one file (-o) and to an
output folder; a session read from standard input; the plugins' `session`
and `note` events; and isolation: one session's data never reaches another
session's note, whatever a plugin keeps between calls.
"""

import json
import os
import stat
import unittest

from harness import RapportTest

TYPES = ["soap", "dap", "birp", "girp"]
SECTIONS = {
    "soap": ["subjective", "objective", "assessment", "plan"],
    "dap": ["data", "assessment", "plan"],
    "birp": ["behavior", "intervention", "response", "plan"],
    "girp": ["goals", "intervention", "response", "plan"],
}


def session(i, note_type="soap"):
    """A complete, valid session whose every text names client i."""
    s = {
        "type": note_type,
        "client": {"id": "C-%04d" % i, "initials": "K%d." % i},
        "session": {"date": "2026-11-%02d" % (1 + i % 28), "number": 1 + i, "minutes": 50},
        "clinician": {"name": "Dana Whitfield"},
        "risk": {"level": "none"},
        "alliance": {"trust": 1 + i % 5, "empathy": 5, "collaboration": 4, "respect": 5,
                     "authenticity": 4},
        "measures": {"srs": [9, 9, 9, i % 11]},
    }
    for section in SECTIONS[note_type]:
        s[section] = "Section %s of client %d." % (section, i)
    return s


def jsonl(sessions):
    return "".join(json.dumps(s) + "\n" for s in sessions)


class Batch(RapportTest):
    def sessions(self, n):
        return [session(i, TYPES[i % 4]) for i in range(n)]

    def test_a_batch_prints_what_each_session_alone_prints(self):
        sessions = self.sessions(12)
        self.write("all.jsonl", jsonl(sessions))
        expected = ""
        for i, s in enumerate(sessions):
            self.write("one-%d.json" % i, json.dumps(s))
            one = self.rapport("render", "one-%d.json" % i)
            self.assertEqual(one.code, 0, one)
            expected += one.out + "\n"  # an empty line after each note
        for jobs in ("1", "2", "4"):
            with self.subTest(jobs=jobs):
                r = self.rapport("render", "all.jsonl", env={"RAPPORT_JOBS": jobs})
                self.assertEqual(r.code, 0, r)
                self.assertEqual(r.out, expected)
                self.assertIn("rendered 12 of 12 sessions into standard output", r.err)

    def test_json_format_is_one_note_per_line(self):
        self.write("all.jsonl", jsonl(self.sessions(5)))
        r = self.rapport("render", "--format", "json", "all.jsonl")
        self.assertEqual(r.code, 0, r)
        lines = r.out.split("\n")
        self.assertEqual(lines[-1], "")
        notes = [json.loads(line) for line in lines[:-1]]
        self.assertEqual([n["client"]["id"] for n in notes], ["C-%04d" % i for i in range(5)])
        self.assertEqual(notes[3]["note_type"]["id"], "soap" if 3 % 4 == 0 else TYPES[3])

    def test_a_bad_line_is_reported_at_its_line_and_the_others_render(self):
        good = self.sessions(4)
        bad_value = dict(session(9), risk={"level": "extreme"})
        lines = [json.dumps(good[0]), "{\"type\": \"soap\", oops}", json.dumps(good[1]),
                 "", json.dumps(bad_value), json.dumps(good[2])]
        self.write("mixed.jsonl", "\n".join(lines) + "\n")
        r = self.rapport("render", "--format", "json", "mixed.jsonl")
        self.assertEqual(r.code, 1, r)
        problems = self.problems(r)
        self.assertEqual([(p[0], p[1]) for p in problems], [("mixed.jsonl", 2), ("mixed.jsonl", 5)],
                         r)
        # The column points into the line: at the bad token, at the bad value.
        self.assertEqual(problems[0][2], lines[1].index("oops") + 1, r)
        self.assertEqual(problems[1][2], lines[4].index('"extreme"') + 1, r)
        self.assertNotIn("extreme", r.err, "messages never print field values")
        ids = [json.loads(line)["client"]["id"] for line in r.out.splitlines()]
        self.assertEqual(ids, ["C-0000", "C-0001", "C-0002"])
        self.assertIn("rendered 3 of 5 sessions", r.err)

    def test_out_dir_writes_one_private_file_per_line(self):
        self.write("day.jsonl", jsonl(self.sessions(3)) + "\n")
        r = self.rapport("render", "--out-dir", "notes", "--format", "txt", "day.jsonl")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, "")
        names = sorted(os.listdir(os.path.join(self.dir, "notes")))
        self.assertEqual(names, ["day-1.txt", "day-2.txt", "day-3.txt"])
        for n, name in enumerate(names):
            path = os.path.join(self.dir, "notes", name)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path, encoding="utf-8") as f:
                self.assertIn("client %d." % n, f.read())
        self.assertIn("rendered 3 of 3 sessions into notes", r.err)

    def test_html_of_a_batch_needs_an_output_folder(self):
        self.write("day.jsonl", jsonl(self.sessions(2)))
        self.assertUsageError(self.rapport("render", "--format", "html", "day.jsonl"),
                              command="render")
        r = self.rapport("render", "--format", "html", "--out-dir", "o", "day.jsonl")
        self.assertEqual(r.code, 0, r)
        for name in ("day-1.html", "day-2.html"):
            with open(os.path.join(self.dir, "o", name), encoding="utf-8") as f:
                self.assertTrue(f.read().lower().startswith("<!doctype html>"))

    def test_one_output_file_is_written_whole_or_not_at_all(self):
        self.write("day.jsonl", jsonl(self.sessions(3)))
        r = self.rapport("render", "-o", "day.md", "day.jsonl")
        self.assertEqual(r.code, 0, r)
        with open(os.path.join(self.dir, "day.md"), encoding="utf-8") as f:
            whole = f.read()
        self.assertEqual(whole, self.rapport("render", "day.jsonl").out)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dir, "day.md")).st_mode), 0o600)

        broken = jsonl(self.sessions(3)) + json.dumps(dict(session(7), type="nope")) + "\n"
        self.write("day.jsonl", broken)
        r = self.rapport("render", "-o", "day.md", "day.jsonl")
        self.assertEqual(r.code, 1, r)
        self.assertIn("day.md: error: not written", r.err)
        with open(os.path.join(self.dir, "day.md"), encoding="utf-8") as f:
            self.assertEqual(f.read(), whole, "the last good file is kept")
        self.assertEqual(sorted(os.listdir(self.dir)), ["day.jsonl", "day.md"],
                         "no temporary file is left")

    def test_a_batch_is_never_written_over_itself(self):
        self.write("day.jsonl", jsonl(self.sessions(1)))
        r = self.rapport("render", "--format", "json", "-o", "day.jsonl", "day.jsonl")
        self.assertEqual(r.code, 1, r)
        with open(os.path.join(self.dir, "day.jsonl"), encoding="utf-8") as f:
            self.assertEqual(f.read(), jsonl(self.sessions(1)))

    def test_a_missing_batch_is_a_problem_and_the_rest_renders(self):
        self.write("a.yaml", json.dumps(session(1)))
        r = self.rapport("render", "--out-dir", "o", "missing.jsonl", "a.yaml")
        self.assertEqual(r.code, 1, r)
        self.assertIn("missing.jsonl: error: cannot open", r.err)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "o", "a.md")))


class Stdin(RapportTest):
    def test_a_session_from_standard_input(self):
        text = json.dumps(session(3))
        self.write("s.json", text)
        r = self.rapport("render", "-", stdin=text)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, self.rapport("render", "s.json").out)
        yaml_text = "type: dap\nclient: {id: C-1, initials: A.B.}\nsession: {date: 2026-11-02}\n" \
                    "clinician: {name: N}\ndata: d\nassessment: a\nplan: p\nrisk: {level: none}\n"
        r = self.rapport("render", "--format", "json", "-", stdin=yaml_text)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(json.loads(r.out)["data"], "d")

    def test_problems_in_standard_input_are_named_stdin(self):
        r = self.rapport("render", "-", stdin="type: soap\nclient: {id: C-1}\n")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        paths = {p[0] for p in self.problems(r)}
        self.assertEqual(paths, {"<stdin>"}, r)
        self.assertIn((2, 9), [(p[1], p[2]) for p in self.problems(r)], r)

    def test_standard_input_goes_to_stdout_or_o_once(self):
        self.assertUsageError(self.rapport("render", "-", "-", stdin=""), command="render")
        self.assertUsageError(self.rapport("render", "--out-dir", "o", "-", stdin=""),
                              command="render")


# A workspace plugin that keeps every client it has seen in a module-level
# table and writes the list into each note: the way a careless plugin could
# carry one session's data into another's note.
HOARDER = """
local seen = {}
rapport.on("note", function(note)
  seen[#seen + 1] = note.client.initials
  note.seen = table.concat(seen, " ")
end)
"""


class Isolation(RapportTest):
    def test_plugin_state_never_carries_one_session_into_another(self):
        self.write("plugins/hoarder.lua", HOARDER)
        sessions = [session(i) for i in range(6)]
        self.write("day.jsonl", jsonl(sessions))
        for i, s in enumerate(sessions):
            self.write("s%d.json" % i, json.dumps(s))
        for jobs in ("1", "2"):
            r = self.rapport("render", "--format", "json", "day.jsonl",
                             env={"RAPPORT_JOBS": jobs})
            self.assertEqual(r.code, 0, r)
            seen = [json.loads(line)["seen"] for line in r.out.splitlines()]
            self.assertEqual(seen, ["K%d." % i for i in range(6)])
        r = self.rapport("render", "--format", "json", "--out-dir", "o",
                         *["s%d.json" % i for i in range(6)])
        self.assertEqual(r.code, 0, r)
        for i in range(6):
            with open(os.path.join(self.dir, "o", "s%d.json" % i), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["seen"], "K%d." % i)

    def test_built_in_plugins_give_the_same_note_in_any_order(self):
        # The built-in plugins take the same path as any other: the notes
        # must not depend on what was rendered before them.
        sessions = self.sessions_with_everything()
        alone = []
        for i, s in enumerate(sessions):
            self.write("s%d.json" % i, json.dumps(s))
            alone.append(self.rapport("render", "--format", "json", "s%d.json" % i).out)
        for order in (range(len(sessions)), reversed(range(len(sessions)))):
            order = list(order)
            self.write("batch.jsonl", jsonl([sessions[i] for i in order]))
            r = self.rapport("render", "--format", "json", "batch.jsonl",
                             env={"RAPPORT_JOBS": "1"})
            self.assertEqual(r.code, 0, r)
            got = [json.loads(line) for line in r.out.splitlines()]
            self.assertEqual(got, [json.loads(alone[i]) for i in order])

    def sessions_with_everything(self):
        full = session(1)
        full["alliance"]["challenges"] = {
            "countertransference": {"noticed": True, "plan": "bring to supervision"},
            "power_imbalance": {"noticed": True}}
        full["alliance"]["rupture"] = {"noticed": "withdrawal", "addressed": False}
        full["measures"] = {"srs": [5, 5, 5, 5], "ors": [2, 3, 4, 5],
                            "wai_sr": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]}
        full["risk"] = {"level": "high", "notes": "n", "safety_plan": "p"}
        plain = session(2, "birp")
        return [full, plain, session(3, "girp"), dict(full, client={"id": "C-9",
                                                                     "initials": "Z."})]


# Plugins that try to carry the last client's data into the next note through
# every place a plugin can reach: a global, an upvalue, the table another
# plugin returns to require, a metatable, a coroutine left suspended, the
# `rapport` table, strings a call made, a filter's upvalue. Each place holds
# "fresh" when the plugins load; every note shows what each place held when
# its session started, and what a plugin could measure there: the memory in
# use, the clock, the time.
STASH = """
return { last = "fresh" }
"""
HOARD_ALL = """
local stash = require "stash"
shared = "fresh"
local up = "fresh"
local meta = setmetatable({}, { __index = { v = "fresh" } })
local co = coroutine.create(function()
  local kept, new = "fresh", coroutine.yield()
  while true do
    local old = kept
    kept = new
    new = coroutine.yield(old)
  end
end)
coroutine.resume(co)
local strings = {}
local calls = 0
rapport.filter("calls", function()
  calls = calls + 1
  return calls
end)

local start
rapport.on("session", function(s)
  start = { memory = collectgarbage("count"), clock = os.clock(), time = os.time(),
            date = os.date("%Y-%m-%d %H:%M:%S") }
end)

rapport.on("note", function(note)
  local me = note.client.initials
  local _, from_co = coroutine.resume(co, me)
  note.seen = {
    global = shared, upvalue = up, module = stash.last, metatable = meta.v,
    coroutine = from_co, rapport = rawget(rapport, "kept") or "fresh",
    strings = next(strings) or "fresh",
  }
  note.start = start
  shared, up, stash.last = me, me, me
  getmetatable(meta).__index.v = me
  pcall(rawset, rapport, "kept", me)
  strings[me .. me] = true
  -- Memory left alive for the next session to notice, if it could.
  local hoard = {}
  for i = 1, #note.subjective do hoard[i] = note.subjective:sub(i, i) .. me end
  _G.hoard = hoard
end)
"""
HOARD_LAYOUT = ("{{#seen}}{{global}} {{upvalue}} {{module}} {{metatable}} {{coroutine}} "
                "{{rapport}} {{strings}}{{/seen}} calls={{client.id | calls}}\n")
FRESH_LINE = "fresh fresh fresh fresh fresh fresh fresh calls=1"


class NothingCarriesOver(RapportTest):
    """1,000 sessions of two kinds interleaved (short, and long enough to
    leave much memory behind), on one worker and on two, with plugins that
    try every place to keep state in."""

    def setUp(self):
        super().setUp()
        self.write("plugins/stash.lua", STASH)
        self.write("plugins/hoard.lua", HOARD_ALL)
        self.write("templates/soap.md.mustache", HOARD_LAYOUT)
        self.sessions = []
        for i in range(1000):
            s = session(i)
            # Same lengths for every client: what a plugin can measure must
            # then be the same for every session of a kind.
            s["client"] = {"id": "C-%04d" % i, "initials": "K%04d" % i}
            s["session"]["number"] = 1000 + i
            for section in SECTIONS["soap"]:
                s[section] = "Section %s of client %04d." % (section, i)
            if i % 2:
                s["subjective"] = ("Long session %04d. " % i) * 300
            self.sessions.append(s)
        self.write("day.jsonl", jsonl(self.sessions))

    def test_every_place_a_plugin_reaches_is_fresh_for_every_session(self):
        for jobs in ("1", "2"):
            r = self.rapport("render", "day.jsonl", env={"RAPPORT_JOBS": jobs})
            self.assertEqual(r.code, 0, r)
            lines = [line for line in r.out.splitlines() if line]
            self.assertEqual(len(lines), 1000, r.err)
            for i, line in enumerate(lines):
                self.assertEqual(line, FRESH_LINE, "session %d, %s workers" % (i, jobs))

    def test_what_a_plugin_measures_depends_on_its_session_alone(self):
        # Two sessions, the second leaving much memory behind, 500 times
        # each in turn: every copy of a session must measure what it
        # measures alone.
        kinds = [self.sessions[0], self.sessions[1]]
        self.write("day.jsonl", jsonl(kinds * 500))
        alone = {}
        for kind in (0, 1):
            self.write("one.json", json.dumps(kinds[kind]))
            r = self.rapport("render", "--format", "json", "one.json")
            self.assertEqual(r.code, 0, r)
            alone[kind] = json.loads(r.out)["start"]
        for jobs in ("1", "2"):
            r = self.rapport("render", "--format", "json", "day.jsonl",
                             env={"RAPPORT_JOBS": jobs})
            self.assertEqual(r.code, 0, r)
            notes = [json.loads(line) for line in r.out.splitlines()]
            self.assertEqual(len(notes), 1000)
            for i, note in enumerate(notes):
                start = note["start"]
                # The memory in use and the clock when the session starts
                # are what they are for that kind of session alone, whatever
                # ran before it on that worker.
                self.assertEqual(start["memory"], alone[i % 2]["memory"], "session %d" % i)
                self.assertEqual(start["clock"], alone[i % 2]["clock"], "session %d" % i)
                # One "now" for the whole run: the clock's reading when a
                # session starts would tell how long the ones before took.
                self.assertEqual(start["time"], notes[0]["start"]["time"])
                self.assertEqual(start["date"], notes[0]["start"]["date"])
            self.assertGreater(alone[1]["memory"], alone[0]["memory"])


EVENTS = """
rapport.on("session", function(s)
  s.clinician.name = s.clinician.name .. " (clinic)"
end)
rapport.on("note", function(note)
  return { client = note.client, stamped = true }
end)
"""


class Events(RapportTest):
    def test_session_and_note_handlers_run_in_order(self):
        self.write("plugins/events.lua", EVENTS)
        self.write("s.json", json.dumps(session(4)))
        r = self.rapport("render", "--format", "json", "s.json")
        self.assertEqual(r.code, 0, r)
        note = json.loads(r.out)
        self.assertEqual(note.pop("client"), {"id": "C-0004", "initials": "K4."})
        self.assertIs(note.pop("stamped"), True)
        # The note the handler returned, with every field of the note type
        # it left out there and empty: nothing of the session's own.
        self.assertIn("subjective", note)
        for key, value in note.items():
            self.assertIn(value, (None, []), key)

    def test_the_session_handler_sees_the_typed_session(self):
        self.write("plugins/seen.lua", """
rapport.on("session", function(s)
  assert(math.type(s.session.minutes) == "integer", "minutes typed")
  assert(s.note_type.id == "soap")
end)
""")
        self.write("s.yaml", "type: soap\nclient: {id: C-1, initials: A.}\n"
                   "session: {date: 2026-11-02, minutes: 50}\nclinician: {name: N}\n"
                   "subjective: s\nobjective: o\nassessment: a\nplan: p\nrisk: {level: none}\n")
        r = self.rapport("render", "s.yaml")
        self.assertEqual(r.code, 0, r)

    def test_a_failing_handler_is_reported_and_gives_no_note(self):
        self.write("plugins/bad.lua", 'rapport.on("note", function(note)\n'
                   '  error("cannot stamp")\nend)\n')
        self.write("day.jsonl", jsonl([session(1), session(2)]))
        r = self.rapport("render", "day.jsonl")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        problems = self.problems(r)
        # Each session: the handler's error at its line, then the session
        # named by its line in the batch (its problem is in another file).
        self.assertEqual([p[0:2] for p in problems], [("plugins/bad.lua", 2), ("day.jsonl", 1),
                                                      ("plugins/bad.lua", 2), ("day.jsonl", 2)], r)
        self.assertIn("cannot stamp", problems[0][3])
        self.assertIn("no note for this session", problems[1][3])


if __name__ == "__main__":
    unittest.main(verbosity=2)
