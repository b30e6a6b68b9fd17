"""End-to-end tests of `rapport mustache`: data formats, partials, errors,
strict mode, number and value printing, escaping, filters and memory, each
driving the real binary on files in a scratch folder as a user would."""

import json
import os
import subprocess
import unittest

from harness import ROOT, RapportTest, binary, sanitized

# A value that must never appear in a message: data files hold health data,
# and messages name fields and positions, never values.
CANARY = "CANARY-7f3a9"


class ReadmeExample(RapportTest):
    def test_hello_example(self):
        # Written by hand from examples/hello: note.mustache with goal.mustache
        # as a partial. `- {{> goal}}` is not standalone (text precedes the
        # tag), so each goal is one line: the partial has no final newline
        # and the template's line supplies it. The second goal has no `due`,
        # so its section prints nothing. The standalone section tags leave no
        # lines behind; the blank line before "Diagnoses" is the template's.
        expected = (
            "# Session 7 \u2014 J.D.\n"
            "\n"
            "24 Nov 2026 \u00b7 50 minutes \u00b7 video\n"
            "Clinician: Dana Whitfield, LCSW\n"
            "\n"
            "## Subjective\n"
            "Client reports sleeping better; conflict with partner at the weekend.\n"
            "\n"
            "## Plan\n"
            "- SLEEP HYGIENE (by 2026-12-08)\n"
            "- NAME ONE FEELING A DAY\n"
            "\n"
            "Diagnoses (2): F41.1; Z63.0\n")
        r = self.rapport("mustache", "--partials", "examples/hello", "examples/hello/note.mustache",
                         "examples/hello/session.json", cwd=ROOT)
        self.assertRenders(r, expected)

    def test_hello_example_finds_the_partial_beside_the_template(self):
        with_flag = self.rapport("mustache", "--partials", "examples/hello",
                                 "examples/hello/note.mustache", "examples/hello/session.json",
                                 cwd=ROOT)
        without = self.rapport("mustache", "examples/hello/note.mustache",
                               "examples/hello/session.json", cwd=ROOT)
        self.assertRenders(without, with_flag.out)


class DataFormats(RapportTest):
    def test_json(self):
        r = self.mustache("{{a}} {{b.c}} {{#l}}{{.}}{{/l}}\n", '{"a": "x", "b": {"c": 2}, "l": [1, 2]}')
        self.assertRenders(r, "x 2 12\n")

    def test_yaml_typing(self):
        # YAML 1.2 core schema: `no`, `yes`, `on` stay strings (so they are
        # truthy); a leading-zero number such as 0777 stays the text written.
        self.write("t.mustache",
                   "{{consent}} {{code}} {{flag}} {{yes}} {{on}} {{ratio}} {{hex}} [{{nothing}}]"
                   " [{{tilde}}] {{quoted}} {{zero}} {{negzero}} {{neg}} {{dec}} {{zip}}\n"
                   "{{#consent}}consent is text{{/consent}} {{#flag}}flag is true{{/flag}}"
                   " {{^off}}off is false{{/off}} {{#quoted}}quoted is text{{/quoted}}\n")
        self.write("d.yaml",
                   "consent: no\ncode: 0777\nflag: true\nyes: yes\non: on\nratio: 1.50\n"
                   "hex: 0x1F\nnothing: null\ntilde: ~\nquoted: \"false\"\noff: false\n"
                   "zero: 0\nnegzero: -0\nneg: -012\ndec: 007.5\nzip: 02134\n")
        r = self.rapport("mustache", "t.mustache", "d.yaml")
        self.assertRenders(r, "no 0777 true yes on 1.5 31 [] [] false 0 0 -012 007.5 02134\n"
                              "consent is text flag is true off is false quoted is text\n")

    def test_yaml_extensions(self):
        self.write("t.mustache", "{{a}}\n")
        for name in ("d.yml", "d.YAML", "d.Yml"):
            with self.subTest(file=name):
                self.write(name, "a: 1\n")
                self.assertRenders(self.rapport("mustache", "t.mustache", name), "1\n")

    def test_empty_yaml_is_an_empty_context(self):
        self.write("t.mustache", "[{{a}}]\n")
        self.write("d.yaml", "")
        self.assertRenders(self.rapport("mustache", "t.mustache", "d.yaml"), "[]\n")

    def test_jsonl_renders_each_line_and_skips_blank_lines(self):
        self.write("t.mustache", "{{n}};")
        # LF and CRLF endings, blank and whitespace-only lines, no final newline.
        self.write("d.jsonl", '{"n": 1}\n\n{"n": 2}\r\n   \r\n\t\n{"n": 3}\n\n{"n": 4}')
        self.assertRenders(self.rapport("mustache", "t.mustache", "d.jsonl"), "1;2;3;4;")

    def test_jsonl_last_line_without_newline(self):
        # Lines are rendered by worker threads (RAPPORT_JOBS, default one per
        # CPU); the result must not depend on how many there are.
        self.write("t.mustache", "{{n}};")
        self.write("d.jsonl", '{"n": 1}\n{"n": 2}')
        for jobs in ("1", "2", "4"):
            with self.subTest(jobs=jobs):
                r = self.rapport("mustache", "t.mustache", "d.jsonl", env={"RAPPORT_JOBS": jobs})
                self.assertRenders(r, "1;2;")

    def test_jsonl_bad_line_is_reported_and_the_others_render(self):
        self.write("t.mustache", "{{n}};")
        self.write("d.jsonl",
                   '{"n": 1}\n{"n": 2}\n\n{"n": "%s", }\n{"n": 5}\n{"n": 6' % CANARY + "\n"
                   '{"n": 7}\n')
        r = self.rapport("mustache", "t.mustache", "d.jsonl")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "1;2;5;7;")
        lines = [p[:2] for p in self.problems(r)]
        self.assertEqual(lines, [("d.jsonl", 4), ("d.jsonl", 6)], r)
        self.assertEveryLineIsAProblem(r)
        self.assertIn("invalid JSON", r.err)
        self.assertNotIn(CANARY, r.err)

    def test_jsonl_across_many_chunks(self):
        # Long enough to be cut into several chunks for the worker threads:
        # problems keep their file line numbers and output keeps input order.
        self.write("t.mustache", "{{n}}\n")
        bad = {7001, 15002, 19999}
        lines = []
        for i in range(1, 20001):
            if i in bad:
                lines.append('{"n": "%s" "x"}' % CANARY)
            elif i % 1000 == 0:
                lines.append("  ")
            else:
                lines.append('{"n": %d, "pad": "%s"}' % (i, "p" * (i % 50)))
        self.write("d.jsonl", "\r\n".join(lines) + "\r\n")
        expected = "".join("%d\n" % i for i in range(1, 20001) if i not in bad and i % 1000)
        for jobs in ("1", "4"):
            with self.subTest(jobs=jobs):
                r = self.rapport("mustache", "t.mustache", "d.jsonl", env={"RAPPORT_JOBS": jobs})
                self.assertEqual(r.code, 1, r.err)
                self.assertEqual(r.out, expected)
                self.assertEqual([p[:2] for p in self.problems(r)],
                                 [("d.jsonl", n) for n in sorted(bad)], r.err)
                self.assertNotIn(CANARY, r.err)

    def test_stdin_is_json(self):
        self.write("t.mustache", "Hi {{name}}\n")
        r = self.rapport("mustache", "t.mustache", "-", stdin='{"name": "Dana"}')
        self.assertRenders(r, "Hi Dana\n")

    def test_bad_json_on_stdin_is_reported_as_dash(self):
        self.write("t.mustache", "Hi {{name}}\n")
        r = self.rapport("mustache", "t.mustache", "-", stdin='{"name": "%s",,}' % CANARY)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^-:1:\d+: error: invalid JSON")
        self.assertNotIn(CANARY, r.err)

    def test_no_data_is_an_empty_context(self):
        r = self.mustache("Hello {{name}}!{{^name}} Nobody here.{{/name}}\n")
        self.assertRenders(r, "Hello ! Nobody here.\n")

    def test_several_data_files_concatenate_in_order(self):
        self.write("t.mustache", "<{{who}}>")
        self.write("a.json", '{"who": "a"}')
        self.write("b.yaml", "who: b\n")
        self.write("c.jsonl", '{"who": "c1"}\n{"who": "c2"}\n')
        r = self.rapport("mustache", "t.mustache", "a.json", "b.yaml", "c.jsonl", "a.json")
        self.assertRenders(r, "<a><b><c1><c2><a>")

    def test_missing_data_file_is_reported_and_the_others_render(self):
        self.write("t.mustache", "<{{who}}>")
        self.write("a.json", '{"who": "a"}')
        r = self.rapport("mustache", "t.mustache", "nothere.json", "a.json", "nothere.jsonl")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "<a>")
        self.assertRegex(r.err, r"(?m)^nothere\.json: error: .*(open|exist|found)")
        self.assertRegex(r.err, r"(?m)^nothere\.jsonl: error: .*(open|exist|found)")

    def test_folder_as_data(self):
        self.write("t.mustache", "<{{who}}>")
        for name in ("folder.json", "folder.yaml", "folder.jsonl", "folder"):
            with self.subTest(data=name):
                os.makedirs(os.path.join(self.dir, name), exist_ok=True)
                r = self.rapport("mustache", "t.mustache", name)
                self.assertEqual(r.code, 1, r)
                self.assertEqual(r.out, "", r)
                self.assertRegex(r.err, r"^%s: error: " % name)

    def test_unknown_data_extension(self):
        self.write("t.mustache", "<{{who}}>")
        self.write("d.txt", '{"who": "%s"}' % CANARY)
        r = self.rapport("mustache", "t.mustache", "d.txt")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^d\.txt: error: ")
        self.assertNotIn(CANARY, r.err)


class DataErrors(RapportTest):
    """Data problems are reported at PATH:LINE:COL and never quote the data."""

    def check(self, name, content, line, fragment):
        self.write("t.mustache", "{{secret}}\n")
        self.write(name, content)
        r = self.rapport("mustache", "t.mustache", name)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        self.assertEveryLineIsAProblem(r)
        problems = self.problems(r)
        self.assertEqual(len(problems), 1, r)
        self.assertEqual(problems[0][:2], (name, line), r)
        self.assertIn(fragment, problems[0][3])
        self.assertNotIn(CANARY, r.err)

    def test_invalid_json(self):
        self.check("bad.json", '{\n  "secret": "%s",\n  "age": 4x\n}\n' % CANARY, 3, "invalid JSON")

    def test_invalid_json_column(self):
        self.write("t.mustache", "{{secret}}\n")
        self.write("bad.json", '{"secret": "%s",\n "x": tru}' % CANARY)
        r = self.rapport("mustache", "t.mustache", "bad.json")
        self.assertEqual(r.code, 1, r)
        (path, line, col, msg), = self.problems(r)
        self.assertEqual((path, line), ("bad.json", 2))
        self.assertGreaterEqual(col, 7)  # at or after the bad literal `tru`
        self.assertNotIn(CANARY, r.err)

    def test_duplicate_key(self):
        self.check("dup.json", '{"secret": "%s",\n "secret": "%s-2"}' % (CANARY, CANARY), 2,
                   "duplicate key")

    def test_duplicate_key_in_yaml(self):
        self.check("dup.yaml", "secret: %s\nsecret: other\n" % CANARY, 2, "duplicate key")

    def test_yaml_anchor_refused(self):
        self.check("anchor.yaml", "first: &a %s\nsecret: *a\n" % CANARY, 1, "anchor")

    def test_invalid_yaml(self):
        self.check("bad.yaml", "secret: %s\n  - nested: [unclosed\n" % CANARY, 2, "invalid YAML")

    def test_truncated_json(self):
        self.check("cut.json", '{"secret": "%s"' % CANARY, 1, "invalid JSON")

    def test_other_refused_data(self):
        cases = [
            ("utf8.json", b'{"secret": "%s\xff"}', 1, "invalid UTF-8"),
            ("nul.json", '{"secret": "%s\\u0000"}', 1, "NUL"),
            ("range.json", '{"secret": "%s",\n "n": 1e999}', 2, "out of range"),
            ("trailing.json", '{"secret": "x"} %s', 1, "trailing"),
            ("deep.json", '{"secret": "%s", "d": ' + "[" * 80 + "]" * 80 + "}", 1, "nesting"),
            ("tag.yaml", "secret: !!str %s\n", 1, "tags"),
            ("inf.yaml", "secret: %s\nn: .inf\n", 2, "not finite"),
            ("key.yaml", "? [%s]\n: x\n", 1, "keys"),
            ("docs.yaml", "secret: %s\n---\nsecret: x\n", 2, "more than one document"),
            ("quote.yaml", 'secret: "%s\n', 2, "invalid YAML"),
        ]
        for name, content, line, fragment in cases:
            with self.subTest(file=name):
                if isinstance(content, bytes):
                    content = content.replace(b"%s", CANARY.encode())
                else:
                    content = content.replace("%s", CANARY)
                self.check(name, content, line, fragment)

    def test_empty_json_file(self):
        self.write("t.mustache", "{{secret}}\n")
        self.write("empty.json", "")
        r = self.rapport("mustache", "t.mustache", "empty.json")
        self.assertEqual(r.code, 1, r)
        self.assertRegex(r.err, r"^empty\.json:")


class Partials(RapportTest):
    def setUp(self):
        super().setUp()
        self.write("p1/x.mustache", "x from p1")
        self.write("p2/x.mustache", "x from p2")
        self.write("p2/y.mustache", "y from p2")
        self.write("tpl/x.mustache", "x beside")
        self.write("tpl/z.mustache", "z beside")
        self.write("tpl/sub/s.mustache", "s in sub")
        self.write("secret.mustache", CANARY)
        self.write("tpl/t.mustache", "{{>x}}|{{>y}}|{{>z}}|{{>sub/s}}|{{>none}}\n")

    def test_first_folder_wins_then_the_templates_folder(self):
        r = self.rapport("mustache", "--partials", "p1", "--partials", "p2", "tpl/t.mustache")
        self.assertRenders(r, "x from p1|y from p2|z beside|s in sub|\n")
        r = self.rapport("mustache", "--partials=p2", "--partials", "p1", "tpl/t.mustache")
        self.assertRenders(r, "x from p2|y from p2|z beside|s in sub|\n")

    def test_without_partials_the_templates_folder(self):
        r = self.rapport("mustache", "tpl/t.mustache")
        self.assertRenders(r, "x beside||z beside|s in sub|\n")

    def test_template_in_the_current_folder(self):
        r = self.rapport("mustache", "t.mustache", cwd=os.path.join(self.dir, "tpl"))
        self.assertRenders(r, "x beside||z beside|s in sub|\n")

    def test_missing_partial_under_strict(self):
        r = self.rapport("mustache", "--strict", "--partials", "p1", "tpl/t.mustache")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertProblem(r, "tpl/t.mustache", 1, 8, "'y'")
        self.assertProblem(r, "tpl/t.mustache", 1, 33, "'none'")

    def test_dotdot_partial_names_are_not_found(self):
        # Partial names are looked up as files and may not climb out of the
        # folders searched: `..` finds nothing, as any unknown name.
        self.write("tpl/up.mustache", "[{{>../secret}}][{{>sub/../x}}]\n")
        r = self.rapport("mustache", "tpl/up.mustache")
        self.assertRenders(r, "[][]\n")

    def test_absolute_partial_names_are_not_found(self):
        self.write("tpl/abs.mustache", "[{{>%s}}]\n" % os.path.join(self.dir, "secret"))
        self.assertRenders(self.rapport("mustache", "tpl/abs.mustache"), "[]\n")

    def test_dotdot_dynamic_partial_names_are_not_found(self):
        self.write("tpl/dyn.mustache", "[{{>*name}}]\n")
        self.write("d.json", '{"name": "../secret"}')
        self.assertRenders(self.rapport("mustache", "tpl/dyn.mustache", "d.json"), "[]\n")
        self.write("abs.json", '{"name": "%s"}' % os.path.join(self.dir, "secret"))
        self.assertRenders(self.rapport("mustache", "tpl/dyn.mustache", "abs.json"), "[]\n")

    def test_dotdot_partial_names_under_strict_are_errors(self):
        self.write("tpl/up.mustache", "[{{>../secret}}]\n")
        r = self.rapport("mustache", "--strict", "tpl/up.mustache")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^tpl/up\.mustache:1:2: error: ")
        self.assertNotIn(CANARY, r.err)
        self.write("tpl/dyn.mustache", "[{{>*name}}]\n")
        self.write("d.json", '{"name": "../secret"}')
        r = self.rapport("mustache", "--strict", "tpl/dyn.mustache", "d.json")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertProblem(r, "tpl/dyn.mustache", 1, 2, "no partial named '../secret'")
        self.assertNotIn(CANARY, r.err)

    def test_partial_with_errors(self):
        self.write("tpl/bad.mustache", "ok\n{{#open}}\n")
        self.write("tpl/uses.mustache", "before {{>bad}} after\n")
        r = self.rapport("mustache", "tpl/uses.mustache")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertProblem(r, "tpl/bad.mustache", 2, 1, "never closed")

    def test_self_including_partial_is_stopped(self):
        self.write("tpl/loop.mustache", "a{{>loop}}")
        r = self.rapport("mustache", "tpl/loop.mustache", timeout=30)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertIn("nested deeper than", r.err)


class TemplateErrors(RapportTest):
    """Every syntax error is reported at PATH:LINE:COL; nothing is rendered."""

    def test_all_errors_are_reported(self):
        self.write("t.mustache",
                   "Line {{#open}}\n"
                   "{{name | nosuch}}\n"
                   "{{/other}}\n"
                   "{{a..b}}\n"
                   "{{x | join sep}}\n"
                   "{{}}\n"
                   "{{=<% %> bad=}}\n"
                   "{{x | default \"unterminated}}\n")
        self.write("d.json", '{"name": "n"}')
        r = self.rapport("mustache", "t.mustache", "d.json")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertEveryLineIsAProblem(r)
        self.assertProblem(r, "t.mustache", 1, 6, "'open' is never closed")
        self.assertProblem(r, "t.mustache", 2, 10, "unknown filter 'nosuch'")
        self.assertProblem(r, "t.mustache", 3, 1, "closing tag 'other'")
        self.assertProblem(r, "t.mustache", 4, 1, "a..b")
        self.assertProblem(r, "t.mustache", 5, 12, "'sep' is neither")
        self.assertProblem(r, "t.mustache", 6, 1, "empty tag")
        self.assertProblem(r, "t.mustache", 7, 1, "invalid delimiter change")
        self.assertProblem(r, "t.mustache", 8, 15, "unterminated string")
        self.assertEqual(len(self.problems(r)), 8, r)

    def test_single_errors(self):
        cases = [
            ("a {{#x}}\n", 1, 3, "'x' is never closed"),
            ("a {{/x}}\n", 1, 3, "no opening section"),
            ("a\n  {{name\n", 2, 3, "unclosed tag"),
            ("a {{{x}}\n", 1, 3, "unclosed tag"),
            ("a {{#x}}{{/y}}\n", 1, 9, "does not match"),
            ("a {{x y}}\n", 1, 6, "unexpected space"),
            ("{{#s | upper}}{{/s}}\n", 1, 1, "filters are allowed only in variable tags"),
            ("{{! a\ncomment }}\n{{#x}}\n", 3, 1, "never closed"),
        ]
        for src, line, col, fragment in cases:
            with self.subTest(template=src):
                r = self.mustache(src, '{"x": 1}')
                self.assertEqual(r.code, 1, r)
                self.assertEqual(r.out, "", r)
                self.assertProblem(r, "t.mustache", line, col, fragment)
                self.assertEveryLineIsAProblem(r)

    def test_missing_template(self):
        r = self.rapport("mustache", "nothere.mustache")
        self.assertEqual(r.code, 1, r)
        self.assertRegex(r.err, r"^nothere\.mustache: error: cannot open")

    def test_folder_as_template(self):
        os.makedirs(os.path.join(self.dir, "folder"))
        r = self.rapport("mustache", "folder")
        self.assertEqual(r.code, 1, r)
        self.assertRegex(r.err, r"^folder: error: ")


class Strict(RapportTest):
    def test_missing_name_is_an_error_with_its_position(self):
        src = "Dear {{client.name}},\n{{#goals}}\n- {{title}}\n{{/goals}}\n"
        r = self.mustache(src, '{"client": {}, "goals": [{"title": "%s"}]}' % CANARY, "--strict")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertEqual(self.problems(r), [("t.mustache", 1, 6,
                                             "'client.name' is not defined (strict mode)")])
        self.assertNotIn(CANARY, r.err)

    def test_without_strict_a_missing_name_is_empty(self):
        r = self.mustache("Dear {{client.name}}.\n", '{"client": {}}')
        self.assertRenders(r, "Dear .\n")

    def test_null_and_false_are_defined(self):
        r = self.mustache("[{{n}}]{{#f}}F{{/f}}{{^n}}none{{/n}}\n", '{"n": null, "f": false}',
                          "--strict")
        self.assertRenders(r, "[]none\n")

    def test_missing_section_name(self):
        r = self.mustache("x\n  {{#flag}}y{{/flag}}\n", "{}", "--strict")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.problems(r), [("t.mustache", 2, 3,
                                             "'flag' is not defined (strict mode)")])

    def test_missing_inverted_section_name(self):
        # A misspelt name in {{^name}} would silently print its "absent" text;
        # strict mode exists to catch exactly that (as Handlebars' strict does).
        r = self.mustache("{{^gaols}}No goals recorded.{{/gaols}}\n", '{"goals": []}', "--strict")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertProblem(r, "t.mustache", 1, 1, "'gaols' is not defined (strict mode)")

    def test_missing_name_with_a_filter(self):
        r = self.mustache("{{when | date}}\n", "{}", "--strict")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "t.mustache", 1, 1, "'when' is not defined")
        r = self.mustache("{{when | default \"n/a\"}}\n", "{}", "--strict")
        self.assertRenders(r, "n/a\n")

    def test_jsonl_other_lines_still_render(self):
        self.write("t.mustache", "{{name}};")
        self.write("d.jsonl", '{"name": "a"}\n{"nom": "%s"}\n{"name": "c"}\n' % CANARY)
        r = self.rapport("mustache", "--strict", "t.mustache", "d.jsonl")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "a;c;")
        self.assertEqual(self.problems(r), [("t.mustache", 1, 1,
                                             "'name' is not defined (strict mode)")])
        self.assertNotIn(CANARY, r.err)


class Values(RapportTest):
    def test_numbers_print_as_javascript(self):
        data = ('{"a": 33, "b": 1.21, "c": 1e21, "d": 1.5e-7, "e": -0, "f": 1.50, "g": 2E3,'
                ' "h": 1e-6, "i": 1e-7, "j": 0.1, "k": 123456789012345678901, "l": -1.5e300,'
                ' "m": 100, "n": 0.000001234, "o": 5e-324}')
        r = self.mustache("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}} {{i}} {{j}} {{k}} {{l}}"
                          " {{m}} {{n}} {{o}}\n", data)
        self.assertRenders(r, "33 1.21 1e+21 1.5e-7 0 1.5 2000 0.000001 1e-7 0.1"
                              " 123456789012345680000 -1.5e+300 100 0.000001234 5e-324\n")

    def test_yaml_numbers_print_the_same(self):
        self.write("t.mustache", "{{a}} {{b}} {{c}} {{d}} {{e}}\n")
        self.write("d.yaml", "a: 33\nb: 1.21\nc: 1e21\nd: 1.5e-7\ne: -0\n")
        self.assertRenders(self.rapport("mustache", "t.mustache", "d.yaml"),
                           "33 1.21 1e+21 1.5e-7 0\n")

    def test_booleans_and_null(self):
        r = self.mustache("[{{t}}] [{{f}}] [{{n}}] [{{{t}}}] [{{&f}}] [{{{n}}}]\n",
                          '{"t": true, "f": false, "n": null}')
        self.assertRenders(r, "[true] [false] [] [true] [false] []\n")

    def test_lists_and_objects_print_as_javascript(self):
        r = self.mustache("{{l}} | {{o}}\n", '{"l": [1, "a", null, true, [2, 3]], "o": {"k": 1}}')
        self.assertRenders(r, "1,a,,true,2,3 | [object Object]\n")

    def test_truthiness(self):
        # Falsy: false, null, 0, "", [] and missing names; everything else,
        # "0", "false" and {} included, is truthy.
        data = ('{"false": false, "null": null, "zero": 0, "empty": "", "list": [],'
                ' "szero": "0", "sfalse": "false", "obj": {}, "one": [0]}')
        names = ["false", "null", "zero", "empty", "list", "missing",
                 "szero", "sfalse", "obj", "one"]
        src = "".join("{{#%s}}+{{/%s}}{{^%s}}-{{/%s}}" % (n, n, n, n) for n in names) + "\n"
        self.assertRenders(self.mustache(src, data), "------++++\n")

    def test_html_escaping(self):
        r = self.mustache("{{v}}\n{{{v}}}\n{{&v}}\n<p>{{v | upper}}</p>\n",
                          json.dumps({"v": "a & b < c > d \" e ' f / g ` h = i"}))
        self.assertRenders(r,
                           "a &amp; b &lt; c &gt; d &quot; e &#39; f / g ` h = i\n"
                           "a & b < c > d \" e ' f / g ` h = i\n"
                           "a & b < c > d \" e ' f / g ` h = i\n"
                           "<p>A &amp; B &lt; C &gt; D &quot; E &#39; F / G ` H = I</p>\n")

    def test_markup_in_data_stays_text(self):
        # A therapist's <, &, * and # appear literally and nothing is dropped.
        v = "# not a heading *not bold* <script>x</script> & more"
        r = self.mustache("{{v}}\n", json.dumps({"v": v}))
        self.assertRenders(r, "# not a heading *not bold* &lt;script&gt;x&lt;/script&gt; &amp; more\n")


class Filters(RapportTest):
    DATA = json.dumps({
        "name": "zo\u00eb & \u00fc", "caps": "\u00c0B", "date": "2026-11-24",
        "stamp": "2026-11-24T09:30", "list": [1, "b", 1.5, True], "empty": [], "zero": 0,
        "null": None, "no": False, "text": "", "map": {"a": 1, "b": 2}, "word": "Zo\u00eb"})

    def render(self, src):
        return self.mustache(src, self.DATA)

    def test_upper_and_lower(self):
        self.assertRenders(self.render("{{name | upper}} {{caps | lower}} {{missing | upper}}.\n"),
                           "ZO\u00cb &amp; \u00dc \u00e0b .\n")

    def test_default(self):
        src = ("{{missing | default \"none\"}} {{null | default \"n\"}} {{no | default \"f\"}}"
               " {{zero | default \"z\"}} {{text | default \"t\"}} {{empty | default \"e\"}}"
               " {{word | default \"unused\"}}\n")
        self.assertRenders(self.render(src), "none n f z t e Zo\u00eb\n")

    def test_chains(self):
        self.assertRenders(self.render("{{missing | default \"n/a\" | upper}}\n"), "N/A\n")

    def test_join(self):
        src = "{{list | join}}|{{list | join \" / \"}}|{{empty | join}}|{{word | join}}\n"
        self.assertRenders(self.render(src), "1, b, 1.5, true|1 / b / 1.5 / true||Zo\u00eb\n")

    def test_date(self):
        src = ("{{date | date \"%d %b %Y\"}}|{{date | date}}|{{stamp | date \"%A %H:%M\"}}"
               "|{{missing | date}}|{{null | date}}\n")
        self.assertRenders(self.render(src), "24 Nov 2026|2026-11-24|Tuesday 09:30||\n")

    def test_bad_date_is_an_error_without_the_value(self):
        r = self.mustache("x\n  {{d | date}}\n", json.dumps({"d": "%s-2026" % CANARY}))
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "")
        self.assertProblem(r, "t.mustache", 2, 3, "'date' expects a date")
        self.assertNotIn(CANARY, r.err)
        r = self.mustache("{{d | date}}\n", '{"d": "2026-02-30"}')
        self.assertEqual(r.code, 1, r)

    def test_count(self):
        src = ("{{list | count}} {{empty | count}} {{map | count}} {{word | count}}"
               " {{missing | count}}\n")
        self.assertRenders(self.render(src), "4 0 2 3 0\n")

    def test_count_of_a_number_is_an_error(self):
        r = self.render("{{zero | count}}\n")
        self.assertEqual(r.code, 1, r)
        self.assertProblem(r, "t.mustache", 1, 1, "'count' counts")

    def test_wrong_arguments(self):
        for src, fragment in (("{{name | default}}\n", "'default' takes one argument"),
                              ("{{list | join \"a\" \"b\"}}\n", "'join' takes at most one"),
                              ("{{list | count 1}}\n", "'count' takes no arguments"),
                              ("{{date | date 5}}\n", "format of 'date' is text")):
            with self.subTest(template=src):
                r = self.render(src)
                self.assertEqual(r.code, 1, r)
                self.assertEqual(r.out, "")
                self.assertProblem(r, "t.mustache", 1, 1, fragment)

    def test_unknown_filter(self):
        r = self.render("ok\n{{name | shout}}\n")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(self.problems(r), [("t.mustache", 2, 10, "unknown filter 'shout'")])


class Bounds(RapportTest):
    """A render's work and output are bounded (template.h): a partial that
    includes itself twice over 40 levels of data once expanded 2^40 times."""

    def deep(self):
        v = False
        for _ in range(40):
            v = {"a": v}
        return json.dumps({"a": v})

    def test_doubling_partials_stop_at_the_tag(self):
        self.write("p/p.mustache", "{{#a}}{{>p}}{{>p}}{{/a}}")
        self.write("t.mustache", "one\n  {{>p}}\n")
        self.write("d.json", self.deep())
        r = self.rapport("mustache", "--partials", "p", "t.mustache", "d.json", timeout=30)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(len(self.problems(r)), 1, r)
        path, line, col, msg = self.problems(r)[0]
        self.assertTrue(path.endswith("p.mustache"), r)
        self.assertEqual((line, col), (1, 1), r)
        self.assertIn("this render takes more than 50000000 steps", msg)

    def test_doubling_output_stops_at_its_bound(self):
        self.write("p/p.mustache", "{{#a}}{{>p}}{{>p}}{{/a}}" + "0123456789abcdef" * 64)
        self.write("t.mustache", "{{>p}}")
        self.write("d.json", self.deep())
        r = self.rapport("mustache", "--partials", "p", "t.mustache", "d.json", timeout=30)
        self.assertEqual(r.code, 1, r)
        self.assertIn("the output passes 256 MiB", r.err)
        self.assertEqual(r.out, "", r)


class Memory(RapportTest):
    """A long JSONL file renders line by line: memory stays flat."""

    TEMPLATE = ("{{client.initials}} #{{session.number}} {{session.date | date \"%d %b %Y\"}}"
                " {{#goals}}{{title | upper}}, {{/goals}}{{notes | count}}\n")

    def peak_kib(self, lines):
        data = "d%d.jsonl" % lines
        with open(os.path.join(self.dir, data), "w", encoding="utf-8") as f:
            for i in range(lines):
                f.write(json.dumps({
                    "client": {"initials": "C%d" % i},
                    "session": {"number": i, "date": "2026-11-24"},
                    "notes": "Client reports %d good days. " % i * 8,
                    "goals": [{"title": "goal %d" % k} for k in range(5)]}) + "\n")
        out_path = os.path.join(self.dir, "out%d.txt" % lines)
        env = dict(os.environ)
        if sanitized():
            # AddressSanitizer keeps freed blocks in a quarantine of up to
            # 256 MiB, which would read as growth; without it the figures
            # show the program's own memory (plus a constant shadow).
            env["ASAN_OPTIONS"] = ":".join(filter(None, [
                env.get("ASAN_OPTIONS"), "quarantine_size_mb=0",
                "thread_local_quarantine_size_kb=0"]))
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([binary(), "mustache", "t.mustache", data], cwd=self.dir,
                                    stdout=out, stderr=subprocess.PIPE, env=env)
            # wait4 gives this child's own peak resident size (KiB on Linux):
            # the same figure as getrusage(RUSAGE_CHILDREN).ru_maxrss, but not
            # mixed with other children this test process has run.
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            err = proc.stderr.read()
            proc.stderr.close()
        self.assertEqual(proc.returncode, 0, err)
        with open(out_path, encoding="utf-8") as f:
            rendered = f.read().splitlines()
        # Every line, in input order, although worker threads render them.
        self.assertEqual([line.split(" #")[0] for line in rendered],
                         ["C%d" % i for i in range(lines)])
        self.assertEqual(rendered[1], "C1 #1 24 Nov 2026 GOAL 0, GOAL 1, GOAL 2, GOAL 3, GOAL 4, %d"
                         % len("Client reports 1 good days. " * 8))
        return usage.ru_maxrss

    def test_memory_is_flat(self):
        self.write("t.mustache", self.TEMPLATE)
        small = self.peak_kib(1000)
        large = self.peak_kib(10000)
        self.assertLess(large, small + 4 * 1024,
                        "peak %d KiB for 10,000 lines, %d KiB for 1,000" % (large, small))
        if not sanitized():  # AddressSanitizer's shadow memory alone is larger
            self.assertLess(large, 30 * 1024, "peak %d KiB for 10,000 lines" % large)


if __name__ == "__main__":
    unittest.main(verbosity=2)
