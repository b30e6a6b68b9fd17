"""End-to-end tests of the `rapport` command line itself: help, version,
usage errors and the global options (PRODUCT.md section 3).
Exit status: 0 success, 1 a problem in the user's files, 2 a usage error."""

import glob
import os
import re
import socket
import unittest

from harness import ROOT, RapportTest
from test_notes import SOAP

# Every command of PRODUCT.md section 3.
COMMANDS = ["mustache", "render", "new", "check", "list", "watch", "test"]


class Help(RapportTest):
    def test_help_flags_print_the_overview(self):
        for flag in ("--help", "-h"):
            with self.subTest(flag=flag):
                r = self.rapport(flag)
                self.assertEqual(r.code, 0, r)
                self.assertEqual(r.err, "", r)
                self.assertTrue(r.out.startswith("usage: rapport "), r)
                self.assertRegex(r.out, r"(?m)^  mustache  Render a plain Mustache template")
                for name in COMMANDS:
                    self.assertRegex(r.out, r"(?m)^  %s +[A-Z]" % name)
                self.assertNotIn("planned", r.out)
                self.assertIn("-C DIR", r.out)
                self.assertIn("Exit status: 0 success, 1 a problem", r.out)

    def test_help_command_equals_help_flag(self):
        self.assertEqual(self.rapport("help").out, self.rapport("--help").out)

    def test_help_mustache(self):
        r = self.rapport("help", "mustache")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(r.out.startswith(
            "usage: rapport mustache [--partials DIR]... [--strict] TEMPLATE [DATA...]\n"), r)
        for word in ("--partials DIR", "--strict", ".jsonl", "'-' reads JSON from standard input",
                     "upper", "default", "join", "date", "count"):
            self.assertIn(word, r.out)
        self.assertNotIn("planned", r.out)
        # The help points at the documentation: it must exist.
        self.assertIn("See docs/templates.md and docs/plugins.md.", r.out)
        for doc in ("templates.md", "plugins.md"):
            self.assertTrue(os.path.isfile(os.path.join(ROOT, "docs", doc)))

    def test_mustache_help_flag_equals_help_mustache(self):
        for flag in ("--help", "-h"):
            with self.subTest(flag=flag):
                r = self.rapport("mustache", flag)
                self.assertEqual(r.code, 0, r)
                self.assertEqual(r.out, self.rapport("help", "mustache").out)

    def test_every_command_has_help_with_its_usage(self):
        for name in COMMANDS:
            with self.subTest(command=name):
                r = self.rapport("help", name)
                self.assertEqual(r.code, 0, r)
                self.assertTrue(r.out.startswith("usage: rapport %s" % name), r)
                self.assertNotIn("planned", r.out)
                self.assertEqual(self.rapport(name, "--help").out, r.out)

    def test_help_of_an_unknown_command(self):
        r = self.rapport("help", "nope")
        self.assertUsageError(r, "no command named 'nope'", command=None)

    def test_no_command_is_a_usage_error(self):
        r = self.rapport()
        self.assertEqual(r.code, 2, r)
        self.assertIn("usage: rapport ", r.out + r.err)


class Version(RapportTest):
    def test_version_matches_the_project_version(self):
        with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
            version = re.search(r"project\(rapport VERSION ([0-9.]+)", f.read()).group(1)
        r = self.rapport("--version")
        self.assertRenders(r, "rapport %s\n" % version)


def loaded(result):
    """The libraries the dynamic loader looked for in a run made with
    LD_DEBUG=libs, by the name asked for."""
    return re.findall(r"find library=(\S+?)(?: |;|$)", result.err, re.M)


def broken_copies(folder, prefix):
    """Puts a file that is no shared library in `folder` under every name the
    installed library `prefix` has (its SONAME among them), as a damaged
    installation would."""
    names = {os.path.basename(p) for d in ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
             for pattern in ("", "*") for p in glob.glob(os.path.join(d, pattern, prefix + ".so*"))}
    os.makedirs(folder, exist_ok=True)
    for name in names:
        with open(os.path.join(folder, name), "w") as f:
            f.write("not a shared library")
    return names


class LibrariesOnDemand(RapportTest):
    """Libraries only some commands need are opened by those commands, not
    by every run: a run does not pay for loading what it does not use, and
    one that cannot be opened is an error of the command that needs it."""

    SESSION = SOAP

    def test_a_note_loads_only_what_its_format_needs(self):
        self.write("s.yaml", self.SESSION)
        cases = [(("--version",), set()), (("render", "s.yaml"), set()),
                 (("render", "--format", "json", "s.yaml"), set()),
                 (("render", "--format", "html", "s.yaml"), {"libcmark-gfm"}),
                 (("render", "--format", "txt", "s.yaml"), {"libcmark-gfm"})]
        for args, wanted in cases:
            r = self.rapport(*args, env={"LD_DEBUG": "libs"})
            self.assertEqual(r.code, 0, r)
            libs = loaded(r)
            self.assertTrue(any(l.startswith("liblua") for l in libs), (args, libs))
            for name in ("libcmark-gfm", "libhttp_parser", "libsqlite3", "libsodium", "libuv"):
                found = any(l.startswith(name) for l in libs)
                self.assertEqual(found, name in wanted, (args, name, libs))

    def test_html_without_its_library_is_an_error_and_markdown_still_renders(self):
        self.write("s.yaml", self.SESSION)
        broken = os.path.join(self.dir, "broken")
        self.assertTrue(broken_copies(broken, "libcmark-gfm"))
        env = {"LD_LIBRARY_PATH": broken}
        r = self.rapport("render", "--format", "html", "s.yaml", env=env)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.out, "", r)
        self.assertRegex(r.err, r"error: cannot load (cmark-gfm|the cmark-gfm extensions) "
                                r"\(libcmark-gfm[^)]*\): ")
        r = self.rapport("render", "s.yaml", env=env)
        self.assertEqual(r.code, 0, r)
        self.assertIn("# SOAP note", r.out)

    def test_watch_without_libuv_is_an_error(self):
        self.write("sessions/s.yaml", self.SESSION)
        broken = os.path.join(self.dir, "broken")
        self.assertTrue(broken_copies(broken, "libuv"))
        r = self.rapport("watch", env={"LD_LIBRARY_PATH": broken})
        self.assertEqual(r.code, 1, r)
        self.assertIn("rapport: error: cannot load libuv (libuv", r.err)
        # One note does not need it.
        r = self.rapport("render", "sessions/s.yaml", env={"LD_LIBRARY_PATH": broken})
        self.assertEqual(r.code, 0, r)

    def test_the_preview_without_its_library_is_an_error(self):
        broken = os.path.join(self.dir, "broken")
        self.assertTrue(broken_copies(broken, "libhttp_parser"))
        with socket.socket() as s:  # a port free a moment ago
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = self.rapport("watch", "--serve", str(port), env={"LD_LIBRARY_PATH": broken})
        self.assertEqual(r.code, 1, r)
        self.assertIn("rapport: error: cannot load http-parser (libhttp_parser", r.err)


class UsageErrors(RapportTest):
    def test_unknown_command(self):
        r = self.rapport("bogus")
        self.assertUsageError(r, "no command named 'bogus'", command=None)
        self.assertIn("Try 'rapport help' for more information.", r.err)

    def test_unknown_global_option(self):
        r = self.rapport("--bogus", "mustache", "t.mustache")
        self.assertUsageError(r, "unknown option '--bogus'")

    def test_unknown_mustache_option(self):
        r = self.rapport("mustache", "--bogus", "t.mustache")
        self.assertUsageError(r, "unknown option '--bogus'", command="mustache")

    def test_mustache_needs_a_template(self):
        self.assertUsageError(self.rapport("mustache"), "a TEMPLATE file is needed",
                              command="mustache")

    def test_partials_needs_a_folder(self):
        self.write("t.mustache", "x")
        r = self.rapport("mustache", "t.mustache", "--partials")
        self.assertUsageError(r, "option '--partials' needs a folder", command="mustache")

    def test_global_options_need_values(self):
        for opt in ("-C", "--plugins", "--templates", "--color"):
            with self.subTest(option=opt):
                self.assertUsageError(self.rapport(opt), "option '%s' needs a value" % opt)

    def test_color_values(self):
        self.write("t.mustache", "ok\n")
        for when in ("auto", "always", "never"):
            with self.subTest(color=when):
                self.assertRenders(self.rapport("--color", when, "mustache", "t.mustache"), "ok\n")
        self.assertUsageError(self.rapport("--color=sometimes", "mustache", "t.mustache"),
                              "--color takes auto, always or never, not 'sometimes'")

class GlobalOptions(RapportTest):
    def test_workspace_option_runs_in_the_folder(self):
        self.write("ws/t.mustache", "{{>p}} {{name}}\n")
        self.write("ws/p.mustache", "Hello")
        self.write("ws/d.json", '{"name": "Dana"}')
        for args in (["-C", "ws"], ["-C=ws"]):
            with self.subTest(args=args):
                r = self.rapport(*args, "mustache", "t.mustache", "d.json")
                self.assertRenders(r, "Hello Dana\n")

    def test_workspace_that_does_not_exist(self):
        r = self.rapport("-C", "nowhere", "mustache", "t.mustache")
        self.assertUsageError(r, "cannot use workspace 'nowhere'")

    def test_quiet_is_accepted(self):
        self.write("t.mustache", "ok\n")
        for flag in ("-q", "--quiet"):
            self.assertRenders(self.rapport(flag, "mustache", "t.mustache"), "ok\n")

    def test_double_dash_ends_options(self):
        self.write("--strict", "{{missing}}literal\n")
        self.assertRenders(self.rapport("mustache", "--", "--strict"), "literal\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
