"""Allocation-failure injection: full renders of real notes, made to fail at
every one of their allocations in turn, as Lua's and SQLite's test suites do.

In a build with RP_FAULT_INJECTION (util/buf.h), RAPPORT_FAIL_ALLOC=N makes
the Nth allocation fail: the core's rp_x* allocators (with yajl's and
cmark-gfm's allocations, which go through them) and the Lua states'
allocator share one count; RAPPORT_FAIL_ALLOC_LUA=N counts the Lua states'
alone. For each scenario below the test first counts the allocations of a
normal run (RAPPORT_FAIL_ALLOC_COUNT), then runs it again with N = 1, 2, ...
up to the count, several runs at a time, and checks every run:

- exit 0: the failure was absorbed (Lua collects garbage and tries again),
  and standard output, standard error and the note are exactly those of a
  normal run;
- exit 1: either the core's allocators ended the run (standard error ends
  with `rapport: error: out of memory`; rp_oom), or Lua's memory error was
  reported as a problem (the first `PATH: error:` line speaks of memory),
  and then no temporary file is left behind;
- never a signal, a hang, a sanitizer report (AddressSanitizer,
  LeakSanitizer, UndefinedBehaviorSanitizer), an -o note that is not the
  whole note (it is absent or byte for byte the normal one), or a file in
  the output folder other than the note and, after rp_oom only, a temporary
  `.NAME.tmp-XXXXXXXXXX` (rp_oom exits on the spot; outputs are atomic, so
  the note itself is never partial);
- a batch written to standard output holds whole notes only, and every
  session of it has its note or a problem reported at its line;
- a sign into a new record (SQLite allocates through the same count in this
  build) leaves a record that `rapport verify` accepts, each session's entry
  whole or absent, and nothing beside the record's own files.

A failed Lua allocation is almost always absorbed by Lua's emergency
collection, so the `lua` scenarios fail two in a row
(RAPPORT_FAIL_ALLOC_REPEAT=2): that reaches the memory errors that the
plugin host must report.

rp_oom leaves through _exit(), which skips LeakSanitizer's check on purpose
(see util/buf.h: everything is still allocated there, by design); every
other exit, a reported memory error included, is leak-checked, since the
sanitizer build runs with detect_leaks=1.

A scenario that makes more allocations than its max_runs (3,000 unless it
says otherwise) is not run for every N: every N up to 500 (or to half of
max_runs, when that is less) runs (start-up: loading the plugins, the
sandbox, the first parse), then an even spread up to the count that
includes the last 50 (writing the output, tearing down).
The allocations past the first session of a batch repeat the same code for
the next sessions, and running them all would take the test past its few
minutes (every run of the sanitizer build takes 10 to 30 ms). The figures
are printed at the end.

RAPPORT_FAULT_JOBS sets how many runs go at once (default: the number of
cores, at least 2). RAPPORT_FAULT_ONLY=NAME runs one scenario and
RAPPORT_FAULT_N=N one run of it, printing its output, to replay a failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from harness import binary  # noqa: E402

CLINIC = os.path.join(ROOT, "examples", "clinic")
JOBS = int(os.environ.get("RAPPORT_FAULT_JOBS") or max(2, os.cpu_count() or 2))
SKIP = 77  # CTest's SKIP_RETURN_CODE

COUNT = re.compile(r"^rapport: fault injection: (\d+) allocations, (\d+) in Lua\n", re.M)
OOM = "rapport: error: out of memory\n"
SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer:DEADLYSIGNAL|"
                       r"SUMMARY: \w+Sanitizer")
TEMP = re.compile(r"^\..+\.tmp-[A-Za-z0-9]{10}$")
# A problem line: PATH:LINE:COL: error: MESSAGE or PATH: error: MESSAGE.
ERROR_LINE = re.compile(r"^[^\n]*?: error: (.*)$", re.M)

# Three sessions of examples/clinic as one JSONL batch: SOAP, DAP, BIRP.
BATCH = [
    {"type": "soap", "client": {"id": "C-1042", "initials": "J.D."},
     "session": {"date": "2026-11-24", "number": 7, "minutes": 50, "modality": "video"},
     "clinician": {"name": "Dana Whitfield", "credentials": "LCSW"},
     "subjective": "Client reports sleeping better; conflict with partner at the weekend.\n",
     "objective": "Affect congruent, engaged throughout.",
     "assessment": "Moderate progress toward goal 1.",
     "plan": "Continue cognitive restructuring; review safety plan.",
     "risk": {"level": "none"},
     "alliance": {"trust": 4, "empathy": {"rating": 5, "note": "said she felt understood"},
                  "collaboration": 3, "respect": 5, "authenticity": 4,
                  "challenges": {"countertransference": {"noticed": True,
                                                         "plan": "bring to supervision"}}},
     "measures": {"srs": [8.5, 9.0, 7.5, 8.0]}},
    {"type": "dap", "client": {"id": "C-2210", "initials": "M.K."},
     "session": {"date": "2026-11-20", "number": 3, "minutes": 45},
     "clinician": {"name": "Dana Whitfield", "credentials": "LCSW"},
     "data": "Client described two panic episodes at work; used paced breathing once.\n"
             "Reported sleeping 5-6 hours a night.\n",
     "assessment": "Panic symptoms persist; early use of coping skills.",
     "plan": "Practice interoceptive exposure; review the sleep diary next session.",
     "diagnoses": [{"code": "F41.0", "label": "Panic disorder"}],
     "homework": ["Sleep diary every morning", "Paced breathing twice a day"],
     "risk": {"level": "low", "notes": "Denies suicidal ideation; passive thoughts last month."},
     "alliance": {"trust": 3, "empathy": 4, "collaboration": 4, "respect": 5, "authenticity": 4,
                  "rupture": {"noticed": "withdrawal", "addressed": False}},
     "measures": {"ors": [5, 6, 4, 6], "srs": [9, 9, 9, 10]}},
    {"type": "birp", "client": {"id": "C-0873", "initials": "R.B."},
     "session": {"date": "2026-11-18", "number": 12, "minutes": 50, "modality": "in_person"},
     "clinician": {"name": "Sam Ortiz", "credentials": "PsyD"},
     "behavior": "Client arrived on time, tearful when discussing the anniversary of a loss.",
     "intervention": "Grief-focused processing; validated the client's ambivalence.",
     "response": "Client engaged, said the session \"helped put words to it\".",
     "plan": "Continue grief work; introduce a memory-book exercise.",
     "risk": {"level": "moderate", "notes": "Increased alcohol use this month.",
              "safety_plan": "Reviewed; crisis line saved in phone."},
     "alliance": {"trust": 5, "empathy": 5, "collaboration": 4, "respect": 5, "authenticity": 5},
     "measures": {"wai_sr": [5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4]}},
]


class Scenario:
    """`rapport -C examples/clinic ARGS...` ({out} in ARGS is a fresh output
    folder, {data} the folder of the batch files), its note written to
    TARGET in the output folder or, when TARGET is None, to standard output.
    VAR names the count that N is taken from (see util/buf.h): all
    allocations, or the Lua states' alone; ENV adds to the environment."""

    def __init__(self, name, args, target, env=None, var="RAPPORT_FAIL_ALLOC", max_runs=3000,
                 record=False):
        self.name = name
        self.args = args
        self.target = target
        self.env = env or {}
        self.var = var
        self.max_runs = max_runs
        # A scenario that signs into a record ({out}/record.db): judged by
        # the record it leaves (see check_record), not by a note.
        self.record = record


# Lua's allocations are absorbed when they fail once: Lua collects garbage
# and tries again, and that succeeds. Failing the retry as well (two in a
# row) turns each into the memory error the plugin host must report.
LUA_ERRORS = {"RAPPORT_FAIL_ALLOC_REPEAT": "2"}
# One worker thread: the allocations come in nearly the same order on every
# run (the reading thread still interleaves with it).
ONE_JOB = {"RAPPORT_JOBS": "1"}
# The signing key made in the scratch folder before the sweep ({data}).
KEY_ENV = {"XDG_CONFIG_HOME": "{data}/config", "RAPPORT_PASSPHRASE": "correct horse battery"}

SCENARIOS = [
    Scenario("markdown", ["render", "sessions/jd-07.yaml", "-o", "{out}/jd-07.md"], "jd-07.md"),
    Scenario("html", ["render", "--format", "html", "sessions/jd-07.yaml",
                      "-o", "{out}/jd-07.html"], "jd-07.html"),
    Scenario("batch", ["render", "{data}/batch.jsonl", "-o", "{out}/batch.md"], "batch.md",
             ONE_JOB),
    Scenario("lua", ["render", "sessions/jd-07.yaml", "-o", "{out}/jd-07.md"], "jd-07.md",
             LUA_ERRORS, var="RAPPORT_FAIL_ALLOC_LUA"),
    # Notes go to standard output as each is done: after a failure, what is
    # there must be whole notes, and every session not reported renders.
    Scenario("batch-lua", ["render", "{data}/batch.jsonl"], None, dict(ONE_JOB, **LUA_ERRORS),
             var="RAPPORT_FAIL_ALLOC_LUA", max_runs=1000),
    # Signing into a new record: SQLite's allocations share the count in
    # this build. Every run unlocks the key (Argon2id, 64 MiB of memory-hard
    # hashing), so fewer runs; fewer again under AddressSanitizer, where each
    # unlock takes about a second (the plain fault build sweeps 300 points).
    Scenario("sign", ["--record", "{out}/record.db", "sign", "sessions/jd-07.yaml",
                      "sessions/mk-03.yaml"], None, KEY_ENV,
             max_runs=100 if os.environ.get("RAPPORT_SANITIZED") == "1" else 300, record=True),
]

RECORD_FILES = {"record.db", "record.db-wal", "record.db-shm", "record.checkpoint"}
CHECKPOINT_LINE = re.compile(r"^checkpoint: .*$", re.M)


class Outcome:
    def __init__(self, n, code, out, err, files, note, hung=False, verified=None):
        self.n, self.code, self.out, self.err = n, code, out, err
        self.files, self.note, self.hung = files, note, hung
        # A record scenario: (exit status, standard output) of `rapport
        # verify` run on the record afterwards, without injection; None when
        # no record was made.
        self.verified = verified


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAPPORT_FAIL_ALLOC") and k != "RAPPORT_JOBS"}
    # Sanitizer findings get exit statuses of their own, apart from Rapport's.
    env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=86"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=87"
    return env


def run(sc, n, scratch, count=False, args=None):
    out_dir = tempfile.mkdtemp(prefix="run-", dir=scratch)
    args = [a.format(out=out_dir, data=scratch) for a in (args or sc.args)]
    env = base_env()
    env.update({k: v.format(out=out_dir, data=scratch) for k, v in sc.env.items()})
    if count:
        env["RAPPORT_FAIL_ALLOC_COUNT"] = "1"
    if n:
        env[sc.var] = str(n)
    try:
        proc = subprocess.run([binary(), "-C", CLINIC] + args, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                              check=False)
        code, out, err, hung = proc.returncode, proc.stdout, proc.stderr, False
    except subprocess.TimeoutExpired as e:
        code, out, err, hung = None, e.stdout or b"", e.stderr or b"", True
    err = err.decode("utf-8", errors="replace").replace(out_dir, "OUT")
    files = sorted(os.listdir(out_dir))
    verified = None
    if sc.record and "record.db" in files:
        v = subprocess.run([binary(), "--record", os.path.join(out_dir, "record.db"), "verify"],
                           env=base_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, check=False)
        verified = (v.returncode, v.stdout.decode("utf-8", "replace") +
                    v.stderr.decode("utf-8", "replace"))
    if sc.record:
        out = CHECKPOINT_LINE.sub("checkpoint: ...", out.decode("utf-8", "replace")).encode()
    note = None
    if sc.target in files:
        with open(os.path.join(out_dir, sc.target), "rb") as f:
            note = f.read()
    shutil.rmtree(out_dir)
    return Outcome(n, code, out, err, files, note, hung, verified)


def memory_problem(err):
    """Standard error reports problems, and the first speaks of memory:
    the ones after it may follow from it ("not written: ...")."""
    msgs = ERROR_LINE.findall(err)
    return bool(msgs) and "memory" in msgs[0]


def whole_notes(out, notes):
    """The lines of the batch whose notes make up `out`, in order, or None
    when `out` is not whole notes one after another."""
    def go(i, at):
        if at == len(out):
            return []
        for j in range(i, len(notes)):
            if out.startswith(notes[j], at):
                rest = go(j + 1, at + len(notes[j]))
                if rest is not None:
                    return [j + 1] + rest
        return None
    return go(0, 0)


def check_record(sc, o, wrong):
    """A sign that fails part way leaves a record that verifies, with each
    session's entry whole or absent: `rapport verify` exits 0 with 0, 1 or 2
    entries (2 after a run that succeeded), and nothing but the record's
    files (and, after rp_oom, a hidden temporary file) is in the folder."""
    stray = [f for f in o.files if f not in RECORD_FILES and not TEMP.match(f)]
    if stray:
        wrong.append("stray files %r" % stray)
    if o.verified is None:
        if o.code == 0:
            wrong.append("exit 0 without a record")
        return
    code, text = o.verified
    m = re.search(r"^(\d+) entries verified$", text, re.M)
    if code != 0 or not m:
        wrong.append("the record does not verify: %s" % text.strip()[-300:])
    elif o.code == 0 and m.group(1) != "2":
        wrong.append("exit 0 with %s entries" % m.group(1))


def classify(sc, ref, o):
    """Returns (kind, [what is wrong]); kind is absorbed, oom or problem."""
    wrong = []
    if o.hung:
        return "hung", ["no exit within 60 s"]
    if sc.record:
        check_record(sc, o, wrong)
    if o.code < 0:
        wrong.append("killed by signal %d" % -o.code)
    if SANITIZER.search(o.err):
        wrong.append("a sanitizer report")
    temps = [f for f in o.files if TEMP.match(f)]
    stray = [f for f in o.files if f != sc.target and not TEMP.match(f)]
    if stray and not sc.record:
        wrong.append("stray files %r" % stray)
    if o.note is not None and o.note != ref.note:
        wrong.append("the note is not the whole note (%d bytes of %d)"
                     % (len(o.note), len(ref.note)))
    kind = "?"
    if o.code == 0:
        kind = "absorbed"
        if o.out != ref.out:
            wrong.append("standard output differs from a normal run")
        if o.err != ref.err:
            wrong.append("standard error differs from a normal run")
        if sc.target and o.note is None:
            wrong.append("exit 0 without the note")
        if temps:
            wrong.append("temporary files left: %r" % temps)
    elif o.code == 1:
        if o.err.endswith(OOM):
            kind = "oom"
        elif memory_problem(o.err):
            kind = "problem"
            if temps:
                wrong.append("temporary files left after a reported problem: %r" % temps)
        else:
            wrong.append("exit 1 without `out of memory` or a memory problem first")
        if sc.target and o.out:
            wrong.append("output on stdout")
    elif o.code is not None and o.code >= 0:
        wrong.append("exit status %d" % o.code)
    if sc.target is None and not sc.record and o.code in (0, 1):
        lines = whole_notes(o.out, ref.notes)
        if lines is None:
            wrong.append("standard output is not whole notes")
        elif kind == "problem":
            # Every session of the batch renders but those reported.
            reported = {int(m) for m in re.findall(r"batch\.jsonl:(\d+):", o.err)}
            missing = [i for i in range(1, len(ref.notes) + 1)
                       if i not in reported and i not in lines]
            if missing:
                wrong.append("sessions %r have no note and no problem reported" % missing)
    return kind, wrong


def plan(count, max_runs):
    if count <= max_runs:
        return list(range(1, count + 1))
    first = min(500, max_runs // 2)
    head = list(range(1, first + 1))
    tail = list(range(max(first + 1, count - 49), count + 1))
    spread = max_runs - len(head) - len(tail)
    step = (count - first) / max(1, spread)
    middle = {first + int(i * step) for i in range(1, spread + 1)}
    return sorted(set(head) | middle | set(tail))


def sweep(sc, scratch):
    ref = run(sc, 0, scratch, count=True)
    m = COUNT.search(ref.err)
    if not m:
        print("FAIL %s: no allocation count in a counting run:\n%s" % (sc.name, ref.err))
        return False
    total, in_lua = int(m.group(1)), int(m.group(2))
    count = in_lua if sc.var.endswith("_LUA") else total
    ref.err = COUNT.sub("", ref.err)
    if (ref.code != 0 or (sc.target and ref.note is None) or SANITIZER.search(ref.err)
            or (sc.record and (ref.verified or (1, ""))[0] != 0)):
        print("FAIL %s: the normal run fails (exit %s):\n%s" % (sc.name, ref.code, ref.err))
        return False
    # The counting run says the same as a plain one, apart from the count.
    plain = run(sc, 0, scratch)
    if (plain.code, plain.out, plain.err, plain.note) != (ref.code, ref.out, ref.err, ref.note):
        print("FAIL %s: a plain run differs from the counting run" % sc.name)
        return False
    if sc.target is None and not sc.record:
        # Each session's note alone, from a batch of that one line.
        ref.notes = [run(sc, 0, scratch, args=["render", "{data}/batch-%d.jsonl" % (i + 1)]).out
                     for i in range(len(BATCH))]
        if b"".join(ref.notes) != ref.out:
            print("FAIL %s: the batch is not its sessions' notes one after another" % sc.name)
            return False

    ns = plan(count, sc.max_runs)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        outcomes = list(pool.map(lambda n: run(sc, n, scratch), ns))
    elapsed = time.monotonic() - start

    kinds = {"absorbed": 0, "oom": 0, "problem": 0}
    failures = []
    messages = {}
    for o in outcomes:
        kind, wrong = classify(sc, ref, o)
        if kind in kinds:
            kinds[kind] += 1
        if kind == "problem":
            first = ERROR_LINE.search(o.err).group(0)
            messages.setdefault(first, o.n)
        if wrong:
            failures.append((o, wrong))
    what = "Lua allocations" if sc.var.endswith("_LUA") else "allocations"
    every = "every N" if len(ns) == count else "%d values of N" % len(ns)
    print("%-9s %5d %s: %s from 1 to %d in %.0f s: exit 0 (absorbed) %d, out of memory %d, "
          "memory problem reported %d, failed %d"
          % (sc.name, count, what, every, count, elapsed, kinds["absorbed"], kinds["oom"],
             kinds["problem"], len(failures)))
    for msg, n in sorted(messages.items(), key=lambda kv: kv[1]):
        print("          reported (first at N=%d): %s" % (n, msg))
    # Failing runs grouped by what is wrong, each group with its N and the
    # output of its first run.
    groups = {}
    for o, wrong in failures:
        key = "; ".join(re.sub(r"\d+ bytes of \d+", "N bytes", w) for w in wrong)
        groups.setdefault(key, []).append(o)
    for key, runs in groups.items():
        o = runs[0]
        ns_text = ", ".join(str(r.n) for r in runs[:40]) + (", ..." if len(runs) > 40 else "")
        print("FAIL %s: %d runs: %s\n  N = %s\n  first: N=%d exit %s\n"
              "--- stderr (last 1500 bytes)\n%s"
              % (sc.name, len(runs), key, ns_text, o.n, o.code, o.err[-1500:]))
    return not failures


def main():
    if os.environ.get("RAPPORT_FAULT_INJECTION", "1") not in ("1", "ON", "on"):
        print("skipped: this build has no allocation-failure injection "
              "(configure with -DRP_FAULT_INJECTION=ON; `make asan` does)")
        return SKIP
    only = os.environ.get("RAPPORT_FAULT_ONLY")
    scenarios = [s for s in SCENARIOS if not only or s.name == only]
    # fsync is most of a run's time on a disk, and none on tmpfs.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="rapport-fault-", dir=shm) as scratch:
        with open(os.path.join(scratch, "batch.jsonl"), "w", encoding="utf-8") as f:
            f.write("".join(json.dumps(s) + "\n" for s in BATCH))
        for i, s in enumerate(BATCH):
            with open(os.path.join(scratch, "batch-%d.jsonl" % (i + 1)), "w",
                      encoding="utf-8") as f:
                f.write(json.dumps(s) + "\n")
        if any(sc.record for sc in scenarios):
            env = base_env()
            env.update({k: v.format(data=scratch) for k, v in KEY_ENV.items()})
            subprocess.run([binary(), "--record", os.path.join(scratch, "keys.db"), "key", "new",
                            "--name", "Dana Whitfield", "--credentials", "LCSW"], env=env,
                           stdout=subprocess.DEVNULL, check=True)
        one = os.environ.get("RAPPORT_FAULT_N")
        if one:
            for sc in scenarios:
                o = run(sc, int(one), scratch)
                print("%s N=%s: exit %s, files %r\n--- stdout\n%s--- stderr\n%s"
                      % (sc.name, one, o.code, o.files, o.out.decode("utf-8", "replace"), o.err))
            return 0
        start = time.monotonic()
        ok = True
        for sc in scenarios:
            ok = sweep(sc, scratch) and ok
        print("%d jobs at once; %.0f s in all" % (JOBS, time.monotonic() - start))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
