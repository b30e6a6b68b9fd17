#!/usr/bin/env python3
"""Runs the hostile plugins of tests/plugins/hostile/ through the real binary.

Each case is a plugin file whose header says what must happen (see
hostile/README.md). For each case this copies the file, and its companion
probe if it has one, into a fresh plugins folder under a temporary
directory, then runs

    $RAPPORT --plugins DIR check    (cases whose evil runs as the plugin loads)
    $RAPPORT --plugins DIR test     (cases that call rapport.test)

with the temporary directory as working directory, HOME and TMPDIR, a 20 s
timeout, and asserts:

- no crash signal, and exit status 0 for `expect: ok`, 1 for `expect: error`;
- for errors, a problem line `NN-name.lua:LINE:COL: error: ...TEXT...`;
- for `output:`, that text in the output (print goes to the host's sink);
- the companion probe, loaded after the case, reports no error;
- wall time under 10 s and peak RSS under 256 MiB;
- nothing written: the working, home and temporary folders stay empty, the
  plugins folder holds exactly what was copied, no /tmp/rapport-hostile-*
  file appears, and tests/plugins/ is unchanged.

Usage: RAPPORT=build/rapport python3 tests/plugins/run_hostile.py [SUBSTRING...]
Exit status 0 when every selected case passes.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "hostile")
COMPANIONS = os.path.join(CASES, "companions")
TIMEOUT_S = 20
MAX_WALL_S = 10.0
MAX_RSS_KIB = 256 * 1024


class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            self.src = f.read()
        self.expect_ok = False
        self.needle = None
        self.line = None
        self.output = None
        self.companion = None
        for line in self.src.splitlines():
            if not line.startswith("--"):
                break
            if line.startswith("-- expect: ok"):
                self.expect_ok = True
            m = re.match(r'-- expect: error "(.*)" at line (\d+)\s*$', line)
            if m:
                self.needle, self.line = m.group(1), int(m.group(2))
            m = re.match(r'-- output: "(.*)"\s*$', line)
            if m:
                self.output = m.group(1)
            m = re.match(r"-- companion: (\S+)", line)
            if m:
                self.companion = m.group(1)
        if not self.expect_ok and self.needle is None:
            raise ValueError(f"{path}: no '-- expect:' header")
        self.phase = "test" if "rapport.test(" in self.src else "check"


def snapshot(root):
    """(relative path, size, mtime) of every file under root."""
    out = set()
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                st = os.stat(p)
            except FileNotFoundError:
                continue
            out.add((os.path.relpath(p, root), st.st_size, st.st_mtime_ns))
    return out


def stray_tmp_files():
    return {f for f in os.listdir("/tmp") if f.startswith("rapport-hostile-") and
            not f.startswith("rapport-hostile-run-")}


def run_case(binary, case):
    """Returns a list of problems (empty when the case passes) and a summary."""
    problems = []
    root = tempfile.mkdtemp(prefix="rapport-hostile-run-")
    try:
        plugins = os.path.join(root, "plugins")
        dirs = {d: os.path.join(root, d) for d in ("work", "home", "tmp")}
        os.mkdir(plugins)
        for d in dirs.values():
            os.mkdir(d)
        shutil.copyfile(case.path, os.path.join(plugins, case.name))
        companion_name = None
        if case.companion:
            # Named to sort after the case, so it loads second.
            companion_name = "zz-" + case.companion
            shutil.copyfile(os.path.join(COMPANIONS, case.companion),
                            os.path.join(plugins, companion_name))
        before_plugins = snapshot(plugins)
        before_tree = snapshot(HERE)
        before_tmp = stray_tmp_files()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": dirs["home"],
            "TMPDIR": dirs["tmp"],
            "LANG": "C.UTF-8",
        }
        out_path, err_path = os.path.join(root, "stdout"), os.path.join(root, "stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.monotonic()
            proc = subprocess.Popen([binary, "--plugins", plugins, case.phase],
                                    cwd=dirs["work"], env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err)
            timer = threading.Timer(TIMEOUT_S, proc.kill)
            timer.start()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - t0
            timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
        with open(out_path, encoding="utf-8", errors="replace") as f:
            stdout = f.read()
        with open(err_path, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        text = stdout + stderr

        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            what = "timed out" if sig == signal.SIGKILL and wall >= TIMEOUT_S else "crashed"
            problems.append(f"{what}: signal {signal.Signals(sig).name}")
        else:
            code = os.WEXITSTATUS(status)
            want = 0 if case.expect_ok else 1
            if code != want:
                problems.append(f"exit status {code}, expected {want}")
        if not case.expect_ok:
            if case.needle not in text:
                problems.append(f"expected error text not found: {case.needle!r}")
            # The problem line itself names the file and line: a position
            # only in a traceback note leaves the user without one.
            at = re.escape(case.name) + f":{case.line}:" + r"\d+: error: .*" + re.escape(case.needle)
            if not re.search(at, stderr):
                problems.append(f"expected an error line at {case.name}:{case.line}: with the text")
            if case.phase == "test" and "0 passed, 1 failed" not in text:
                problems.append("expected '0 passed, 1 failed'")
        if case.output is not None and case.output not in text:
            problems.append(f"expected output not found: {case.output!r}")
        if companion_name and re.search(re.escape(companion_name) + r":\d*:?\d*:? ?error", text):
            problems.append("the companion probe failed: something leaked")
        if wall > MAX_WALL_S:
            problems.append(f"took {wall:.1f} s")
        if usage.ru_maxrss > MAX_RSS_KIB:
            problems.append(f"peak RSS {usage.ru_maxrss // 1024} MiB")
        for name, d in dirs.items():
            if os.listdir(d):
                problems.append(f"wrote into the {name} folder: {sorted(os.listdir(d))}")
        if snapshot(plugins) != before_plugins:
            problems.append("changed the plugins folder")
        if snapshot(HERE) != before_tree:
            problems.append("changed tests/plugins/")
        stray = stray_tmp_files() - before_tmp
        if stray:
            problems.append(f"created files in /tmp: {sorted(stray)}")
        if problems:
            problems.append("output:\n" + "\n".join("    " + l for l in text.splitlines()[:12]))
        summary = f"{wall:5.2f} s {usage.ru_maxrss // 1024:4d} MiB"
        return problems, summary
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    binary = os.environ.get("RAPPORT")
    if not binary:
        sys.exit("run_hostile.py: set RAPPORT to the rapport binary")
    binary = os.path.abspath(binary)
    filters = sys.argv[1:]
    names = sorted(f for f in os.listdir(CASES) if f.endswith(".lua"))
    cases = [Case(os.path.join(CASES, n)) for n in names]
    if filters:
        cases = [c for c in cases if any(f in c.name for f in filters)]
    failed = 0
    for case in cases:
        problems, summary = run_case(binary, case)
        status = "ok  " if not problems else "FAIL"
        print(f"{status} {summary}  {case.name}", flush=True)
        for p in problems:
            print("     " + p)
        failed += bool(problems)
    print(f"{len(cases) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
