#!/usr/bin/env python3
"""Time `rapport render` on a JSONL batch of SOAP sessions: validation, the
plugins' Lua (rules, checklist summary, measure scores) and the layout, for
every session, in one process.

Called by tests/bench/run.sh after the engine comparison (or alone, from the
repository root). The sessions come from gen_sessions.py (fixed seed). Each
case is a whole `rapport` process, best of --runs; peak memory as bench.py
measures it. The cases:

- the batch to standard output as Markdown, on every core and on one;
- the same as JSON Lines (no layout);
- with a workspace plugin loaded (examples/clinic): its output must be
  byte-identical to the first case's, since that plugin changes nothing in
  a SOAP note;
- with a realistic clinic plugin set (tests/bench/clinic/: two filters, a
  checklist, a measure and a note type, each replacing or adding to the
  built-ins, and a SOAP layout that uses the filters), on every core and on
  one; its time over the first case's is the price of isolating sessions
  from each other with plugins loaded (target: at most 1.5x);
- one note (the first session alone, as a session file) with and without
  the clinic set, whole process, median of --single-runs, beside
  `rapport --version` and `true` (a process that does nothing) in the same
  rounds: on a machine where starting any process is slow, the difference
  and the ratio to those peers say what Rapport itself costs;
- to an output folder, one file per note, each written atomically and
  fsync'ed, which the disk, not Rapport, bounds.

Prints a table and appends it to build/bench/results.md.
"""

import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (measure, same_output)


def run(label, argv, env, runs, out_dir):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        walls, cpus, rss, status = [], [], 0, 0
        out = os.path.join(out_dir, "notes.%s.out" % label)
        for _ in range(runs):
            wall, peak, code, cpu = bench.measure(argv, out)
            walls.append(wall)
            cpus.append(cpu)
            rss = max(rss, peak)
            status = status or code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"label": label, "wall": min(walls), "cpu": min(cpus), "rss": rss, "status": status,
            "out": out}


def main():
    ap = argparse.ArgumentParser(description="rapport render on a batch of sessions")
    ap.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "10000")))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--single-runs", type=int, default=20)
    ap.add_argument("--rapport", default=os.path.join("build", "rapport"))
    ap.add_argument("--out-dir", default=bench.OUT_DIR)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    if not os.access(args.rapport, os.X_OK):
        sys.exit("bench: %s not found; run `make` first" % args.rapport)
    rapport = os.path.abspath(args.rapport)
    os.makedirs(args.out_dir, exist_ok=True)
    data = os.path.abspath(os.path.join(args.out_dir, "soap-sessions-%d.jsonl" % args.n))
    if not os.path.exists(data):
        print("generating %s (%d sessions)" % (data, args.n), file=sys.stderr)
        subprocess.run([args.python, os.path.join(bench.BENCH, "gen_sessions.py"), "-n",
                        str(args.n), "-o", data + ".tmp"], check=True)
        os.replace(data + ".tmp", data)
    notes_dir = os.path.join(args.out_dir, "notes")
    clinic = os.path.join("examples", "clinic")
    clinic_set = os.path.join(bench.BENCH, "clinic")
    # One session file, as a therapist renders one note (JSON is YAML).
    one = os.path.abspath(os.path.join(args.out_dir, "soap-session-1.json"))
    with open(data) as f, open(one, "w") as o:
        o.write(f.readline())

    # A workspace of its own (the output folder): run from the repository's
    # root, Rapport would load its plugins/ folder as the workspace's plugins.
    ws = os.path.abspath(args.out_dir)
    cases = [
        ("md, all cores", [rapport, "-q", "-C", ws, "render", data], {}),
        ("md, 1 core", [rapport, "-q", "-C", ws, "render", data], {"RAPPORT_JOBS": "1"}),
        ("json, all cores", [rapport, "-q", "-C", ws, "render", "--format", "json", data], {}),
        ("md, clinic plugin", [rapport, "-q", "-C", clinic, "render", data], {}),
        ("md, clinic plugin set", [rapport, "-q", "-C", clinic_set, "render", data], {}),
        ("md, clinic plugin set, 1 core", [rapport, "-q", "-C", clinic_set, "render", data],
         {"RAPPORT_JOBS": "1"}),
    ]
    # Round after round of every case, the best of each kept: on a shared
    # machine a busy spell then slows every case alike, not one of them, and
    # the ratios between cases hold.
    results = [None] * len(cases)
    for rnd in range(args.runs):
        print("  round %d of %d" % (rnd + 1, args.runs), file=sys.stderr)
        for k, (label, argv, env) in enumerate(cases):
            r = run(label.replace(", ", "-").replace(" ", "-"), argv, env, 1, args.out_dir)
            r["name"] = label
            if results[k] is not None:
                r["wall"] = min(r["wall"], results[k]["wall"])
                r["cpu"] = min(r["cpu"], results[k]["cpu"])
                r["rss"] = max(r["rss"], results[k]["rss"])
                r["status"] = r["status"] or results[k]["status"]
            results[k] = r
    # One run: thousands of fsyncs take the disk's time, not Rapport's.
    shutil.rmtree(notes_dir, ignore_errors=True)
    print("  md, --out-dir", file=sys.stderr)
    r = run("out-dir", [rapport, "-q", "-C", ws, "render", "--out-dir", os.path.abspath(notes_dir),
                        data], {}, 1, args.out_dir)
    r["name"] = "md, --out-dir (fsync per note)"
    files = len(os.listdir(notes_dir)) if os.path.isdir(notes_dir) else 0
    if files != args.n:
        print("  --out-dir wrote %d files, not %d" % (files, args.n), file=sys.stderr)
        r["status"] = r["status"] or 1
    results.append(r)
    shutil.rmtree(notes_dir, ignore_errors=True)

    singles = []
    true = shutil.which("true") or "/bin/true"
    single_cases = (("1 note, built-ins", [rapport, "-q", "-C", ws, "render", one]),
                    ("1 note, clinic plugin set", [rapport, "-q", "-C", clinic_set, "render", one]),
                    ("rapport --version", [rapport, "--version"]),
                    ("true (a process that does nothing)", [true]))
    print("  1 note, %d runs each, in turn" % args.single_runs, file=sys.stderr)
    walls = [[] for _ in single_cases]
    rss, status = [0] * len(single_cases), [0] * len(single_cases)
    out = os.path.join(args.out_dir, "notes.single.out")
    for _ in range(args.single_runs):
        for k, (label, argv) in enumerate(single_cases):
            wall, peak, code, _ = bench.measure(argv, out)
            walls[k].append(wall)
            rss[k] = max(rss[k], peak)
            status[k] = status[k] or code
    for k, (label, _) in enumerate(single_cases):
        w = sorted(walls[k])
        singles.append({"name": label, "wall": w[len(w) // 2], "best": w[0], "rss": rss[k],
                        "status": status[k]})

    ok = all(r["status"] == 0 for r in results + singles)
    for i in (1, 3):
        if not bench.same_output(results[0]["out"], results[i]["out"]):
            ok = False
    # The clinic set's output on one worker and on every core is the same.
    if not bench.same_output(results[4]["out"], results[5]["out"]):
        ok = False
    lines = ["| case | wall s | notes/s | cpu s | peak MiB |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append("| %s | %.3f | %s | %.3f | %.1f |" % (
            r["name"], r["wall"], "{:,.0f}".format(args.n / r["wall"]), r["cpu"], r["rss"] / 1024))
    lines.append("")
    lines.append("clinic plugin set over built-ins alone: %.2fx (every core), %.2fx (one core); "
                 "by processor time %.2fx, %.2fx" % (
                     results[4]["wall"] / results[0]["wall"], results[5]["wall"] / results[1]["wall"],
                     results[4]["cpu"] / results[0]["cpu"], results[5]["cpu"] / results[1]["cpu"]))
    lines.append("")
    lines.append("| case | median ms | best ms | peak MiB |")
    lines.append("|---|---:|---:|---:|")
    for r in singles:
        lines.append("| %s | %.1f | %.1f | %.1f |" % (r["name"], r["wall"] * 1000, r["best"] * 1000,
                                                      r["rss"] / 1024))
    lines.append("")
    nothing = singles[-1]["wall"]
    lines.append("one note with the clinic set: %.1f ms over a process that does nothing "
                 "(%.2fx its time); --version %.1f ms over it" % (
                     (singles[1]["wall"] - nothing) * 1000, singles[1]["wall"] / nothing,
                     (singles[2]["wall"] - nothing) * 1000))
    text = "\n".join(lines)
    print("\nrapport render, %d SOAP sessions (JSONL), %d cores, best of %d rounds" % (
        args.n, os.cpu_count() or 0, args.runs))
    print(text)
    with open(os.path.join(args.out_dir, "results.md"), "a") as f:
        f.write("\n## rapport render: %d SOAP sessions\n\n%s\n" % (args.n, text))
    if not ok:
        print("some case failed or its output differs (see above)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
