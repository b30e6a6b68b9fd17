"""Shared helpers for the end-to-end tests: run the real `rapport` binary as a
user would, in a scratch folder, and look at its exit status, standard output
and standard error.

The binary is $RAPPORT (CTest sets it to the one it just built); run by hand,
the tests fall back to build/rapport under the repository root. Only the
Python standard library is used, so the tests run on a fresh machine.
"""

import os
import re
import shlex
import subprocess
import tempfile
import time
import unittest

import note_schema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# A problem line as every Rapport command prints it: PATH:LINE:COL: error: MESSAGE.
PROBLEM = re.compile(r"^(?P<path>[^\n:]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+)$", re.M)
# The hint that follows every usage error.
TRY_HELP = re.compile(r"^Try 'rapport help( [a-z]+)?' for more information\.$", re.M)


def binary():
    path = os.environ.get("RAPPORT") or os.path.join(ROOT, "build", "rapport")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            "no rapport binary at %r: build it first, or set RAPPORT to its path" % path)
    return os.path.abspath(path)


def wrapper():
    """The command that runs the binary under a checker, from
    $RAPPORT_WRAPPER (`make valgrind` sets it to valgrind's memcheck), as a
    list; empty when the binary runs on its own."""
    return shlex.split(os.environ.get("RAPPORT_WRAPPER", ""))


def sanitized():
    """True when the binary runs under a memory checker: built with
    AddressSanitizer (CTest says so) or run through $RAPPORT_WRAPPER. Memory
    and time figures mean nothing then."""
    return (os.environ.get("RAPPORT_SANITIZED", "") in ("1", "ON", "on", "true")
            or bool(wrapper()))


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.raw = proc.stdout
        self.out = proc.stdout.decode("utf-8")
        self.err = proc.stderr.decode("utf-8", errors="replace")

    def __repr__(self):
        return "exit %d\n--- stdout\n%s--- stderr\n%s" % (self.code, self.out, self.err)


def run(args, cwd=None, stdin=None, timeout=60, env=None):
    """Runs `rapport ARGS...` and returns a Result. stdin may be str or bytes;
    env adds variables to the environment. Every note a `render --format
    json` writes is checked against docs/note.schema.json (an
    AssertionError when one does not fit)."""
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    full_env = dict(os.environ, **env) if env else None
    if wrapper():
        timeout *= 20  # memcheck runs a program 20 to 50 times slower
    started = time.time()
    proc = subprocess.run(wrapper() + [binary()] + list(args), cwd=cwd, input=stdin, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    result = Result(proc)
    note_schema.check_outputs(args, cwd, result.out, started)
    return result


class RapportTest(unittest.TestCase):
    """A test case with a scratch folder (self.dir) that commands run in."""

    maxDiff = None

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="rapport-e2e-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, content):
        """Writes a file under the scratch folder; str is written as UTF-8
        with newlines kept as they are. Returns the relative name."""
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as f:
            f.write(data)
        return name

    def rapport(self, *args, stdin=None, cwd=None, timeout=60, env=None):
        return run(args, cwd=cwd or self.dir, stdin=stdin, timeout=timeout, env=env)

    def mustache(self, template, data=None, *extra, stdin=None):
        """Writes `template` (and `data` as data.json when it is a str) and
        renders them: rapport mustache EXTRA... t.mustache [data.json]."""
        self.write("t.mustache", template)
        args = ["mustache"] + list(extra) + ["t.mustache"]
        if data is not None:
            self.write("data.json", data)
            args.append("data.json")
        return self.rapport(*args, stdin=stdin)

    # --- assertions -------------------------------------------------------

    def assertRenders(self, result, expected):
        self.assertEqual(result.code, 0, result)
        self.assertEqual(result.err, "", result)
        self.assertEqual(result.out, expected, result)

    def assertUsageError(self, result, message=None, command=None):
        """Exit 2, nothing on stdout, `rapport: MESSAGE` then the Try line."""
        self.assertEqual(result.code, 2, result)
        self.assertEqual(result.out, "", result)
        if message is not None:
            self.assertIn("rapport: " + message, result.err, result)
        m = TRY_HELP.search(result.err)
        self.assertIsNotNone(m, result)
        if command is not None:
            self.assertEqual(m.group(0),
                             "Try 'rapport help %s' for more information." % command, result)

    def problems(self, result):
        """The PATH:LINE:COL problems on stderr as (path, line, col, msg)."""
        return [(m["path"], int(m["line"]), int(m["col"]), m["msg"])
                for m in PROBLEM.finditer(result.err)]

    def assertProblem(self, result, path, line, col, fragment):
        """Some problem on stderr is at PATH:LINE:COL and mentions FRAGMENT."""
        for p in self.problems(result):
            if p[:3] == (path, line, col) and fragment in p[3]:
                return
        self.fail("no problem %s:%d:%d mentioning %r in\n%r" % (path, line, col, fragment, result))

    def assertEveryLineIsAProblem(self, result):
        """Every line on stderr has the PATH:LINE:COL: error: form."""
        for line in result.err.splitlines():
            self.assertRegex(line, PROBLEM, result)


# --- documents run as tests -------------------------------------------------

def line_matches(pattern, actual):
    if "..." not in pattern:
        return pattern == actual
    parts = [re.escape(p) for p in pattern.split("...")]
    return re.fullmatch(".*".join(parts), actual, re.S) is not None


def interleaves(expected, out, err):
    """True when the expected lines are some interleaving of the lines of the
    two streams, a line `...` taking any number of lines from either."""
    memo = {}

    def go(i, j, k):
        key = (i, j, k)
        if key in memo:
            return memo[key]
        if i == len(expected):
            ok = j == len(out) and k == len(err)
        elif expected[i] == "...":
            ok = (go(i + 1, j, k) or (j < len(out) and go(i, j + 1, k))
                  or (k < len(err) and go(i, j, k + 1)))
        else:
            ok = ((j < len(out) and line_matches(expected[i], out[j]) and go(i + 1, j + 1, k))
                  or (k < len(err) and line_matches(expected[i], err[k])
                      and go(i + 1, j, k + 1)))
        memo[key] = ok
        return ok

    return go(0, 0, 0)
