#!/usr/bin/env python3
"""Time Rapport's Mustache renderer against peer engines on the same notes.

Called by tests/bench/run.sh (which installs the peers first); run from the
repository root. Every engine is a whole process that reads the JSONL data
and writes all notes to stdout. For each engine the harness records wall time
(time.perf_counter around spawn and wait4) and peak RSS (wait4's ru_maxrss),
checks that its output is byte-identical to the reference (Rapport's, or
mustache.js's with --peers-only), and prints a table, which it also writes as
Markdown to build/bench/results.md.

Two cases: the batch (N sessions in one JSONL file, best of --runs) and a
single note (the first session as a .json file, median of --single-runs).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.join("tests", "bench")
TEMPLATES = os.path.join(BENCH, "templates")
PEERS = os.path.join(BENCH, "peers")
OUT_DIR = os.path.join("build", "bench")


def engines(args):
    """(name, argv-without-data) for every engine, the reference first."""
    mustache = os.path.join(TEMPLATES, "note.mustache")
    jinja = os.path.join(TEMPLATES, "note.jinja")
    node = shutil.which("node") or "node"
    found = []
    if not args.peers_only:
        found.append(("rapport", [args.rapport, "mustache", "--partials", TEMPLATES, mustache]))
    for name, script in (("mustache.js", "mustache.js"), ("hogan.js", "hogan.js"),
                         ("handlebars", "handlebars.js")):
        found.append((name, [node, os.path.join(PEERS, script), mustache, TEMPLATES]))
    found.append(("jinja2", [args.python, os.path.join(PEERS, "jinja2.py"), jinja]))
    if args.engines:
        keep = set(args.engines.split(","))
        found = [e for e in found if e[0] in keep or e is found[0]]
    return found


GNU_TIME = "/usr/bin/time"


def measure(argv, out_path):
    """Run argv with stdout to out_path; return (wall seconds, peak RSS KiB,
    status, processor seconds).

    Processor time (user and system, every thread, from wait4) is the
    steadier figure on a shared machine: wall time also counts the turns
    other processes take on the cores.

    Peak memory comes from GNU time, which forks a fresh small process for
    the engine. Python's own spawn shares Python's memory until exec, and
    Linux folds that high-water mark into the child's ru_maxrss, so wait4
    alone would report Python's size (about 12 MiB) for any small engine.
    """
    rss_file = out_path + ".rss"
    wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file] + argv if os.path.exists(GNU_TIME) else argv
    with open(out_path, "wb") as out, open(os.devnull, "rb") as devnull:
        actions = [(os.POSIX_SPAWN_DUP2, devnull.fileno(), 0),
                   (os.POSIX_SPAWN_DUP2, out.fileno(), 1)]
        start = time.perf_counter()
        pid = os.posix_spawnp(wrapped[0], wrapped, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    peak = usage.ru_maxrss
    if wrapped is not argv:
        with open(rss_file) as f:
            lines = [l for l in f.read().split() if l.isdigit()]
        os.unlink(rss_file)
        if lines:
            peak = int(lines[-1])
    cpu = usage.ru_utime + usage.ru_stime
    return wall, peak, os.waitstatus_to_exitcode(status), cpu


def same_output(ref, path):
    """cmp the two outputs; on a difference, show where and the first differing lines."""
    if subprocess.run(["cmp", "-s", ref, path]).returncode == 0:
        return True
    print(f"  MISMATCH: {path} differs from {ref}", file=sys.stderr)
    subprocess.run(["cmp", ref, path], stdout=sys.stderr)
    diff = subprocess.run(["diff", ref, path], capture_output=True, text=True,
                          errors="replace")
    for line in diff.stdout.splitlines()[:20]:
        print("  " + line, file=sys.stderr)
    return False


def run_case(label, engines_, data, runs, pick, out_dir):
    """Time every engine on data, round-robin over runs; return {name: result}."""
    results = {name: {"walls": [], "cpus": [], "rss": 0, "ok": True, "status": 0}
               for name, _ in engines_}
    for r in range(runs):
        for name, argv in engines_:
            out = os.path.join(out_dir, f"{label}.{name}.out")
            wall, rss, status, cpu = measure(argv + [data], out)
            res = results[name]
            res["walls"].append(wall)
            res["cpus"].append(cpu)
            res["rss"] = max(res["rss"], rss)
            if status != 0:
                res["status"] = status
            if r == 0:
                if status != 0:
                    print(f"  {name}: exit status {status}", file=sys.stderr)
                ref = os.path.join(out_dir, f"{label}.{engines_[0][0]}.out")
                if name != engines_[0][0] and not same_output(ref, out):
                    res["ok"] = False
    for res in results.values():
        res["wall"] = pick(res["walls"])
        res["cpu"] = pick(res["cpus"])
        if res["status"] != 0:
            res["ok"] = False
    return results


def ensure_data(args):
    data = os.path.join(args.out_dir, f"sessions-{args.n}.jsonl")
    if not os.path.exists(data):
        print(f"generating {data} ({args.n} sessions)", file=sys.stderr)
        tmp = data + ".tmp"
        subprocess.run([args.python, os.path.join(BENCH, "gen.py"), "-n", str(args.n),
                        "-o", tmp], check=True)
        os.replace(tmp, data)
    one = os.path.join(args.out_dir, "session-1.json")
    with open(data, "rb") as f:
        first = f.readline()
    if not os.path.exists(one) or open(one, "rb").read() != first:
        with open(one, "wb") as f:
            f.write(first)
    return data, one


def table(engines_, batch, single, n):
    """Rows of the results table; ratios are each engine's time over the reference's."""
    ref = engines_[0][0]
    ratio = "rapport speedup" if ref == "rapport" else "time vs mustache.js"
    rows = [["engine", f"{n} notes: wall s", "peak MiB", ratio, "cpu s", ratio + " (cpu)",
             "1 note: median ms", "peak MiB", ratio, "output"]]
    for name, _ in engines_:
        b, s = batch[name], single[name]
        rows.append([
            name, f"{b['wall']:.3f}", f"{b['rss'] / 1024:.1f}",
            f"{b['wall'] / batch[ref]['wall']:.2f}x",
            f"{b['cpu']:.3f}", f"{b['cpu'] / batch[ref]['cpu']:.2f}x",
            f"{s['wall'] * 1000:.1f}", f"{s['rss'] / 1024:.1f}",
            f"{s['wall'] / single[ref]['wall']:.2f}x",
            "reference" if name == ref else ("identical" if b["ok"] and s["ok"] else "MISMATCH"),
        ])
    return rows


def render_text(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for j, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i in (0, len(r) - 1) else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows, args, data, engines_):
    def versions():
        v = {}
        try:
            v["node"] = subprocess.run(["node", "--version"], capture_output=True,
                                       text=True).stdout.strip()
        except OSError:
            pass
        for pkg in ("mustache", "hogan.js", "handlebars"):
            path = os.path.join(BENCH, "node_modules", pkg, "package.json")
            if os.path.exists(path):
                with open(path) as f:
                    v[pkg] = json.load(f)["version"]
        jv = subprocess.run([args.python, "-c", "import jinja2; print(jinja2.__version__)"],
                            capture_output=True, text=True).stdout.strip()
        if jv:
            v["jinja2"] = jv
        return v

    md = ["# Rapport benchmark results", ""]
    md.append(f"Batch: {args.n} SOAP notes from `{data}` "
              f"({os.path.getsize(data) / 1e6:.1f} MB of JSONL), best of {args.runs} runs. "
              f"Single note: the first session as a `.json` file, median of "
              f"{args.single_runs} runs. Wall time is the whole process (start-up included); "
              f"peak MiB is the largest maximum RSS over the runs. The ratio columns are "
              f"each engine's time divided by {'Rapport' if engines_[0][0] == 'rapport' else 'mustache.js'}'s.")
    md.append("")
    md.append("| " + " | ".join(rows[0]) + " |")
    md.append("|" + "|".join(" --- " if i in (0, len(rows[0]) - 1) else " ---: " for i in range(len(rows[0]))) + "|")
    for r in rows[1:]:
        md.append("| " + " | ".join(r) + " |")
    md.append("")
    v = versions()
    md.append("Versions: " + ", ".join(f"{k} {val}" for k, val in v.items())
              + f"; Python {platform.python_version()}; {os.cpu_count()} CPUs.")
    md.append("")
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser(description="Rapport vs peer Mustache engines.")
    ap.add_argument("--peers-only", action="store_true",
                    help="compare the peers with each other (mustache.js is the reference)")
    ap.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "10000")),
                    help="sessions in the batch (default 10000, or $BENCH_N)")
    ap.add_argument("--runs", type=int, default=3, help="batch runs, best taken (default 3)")
    ap.add_argument("--single-runs", type=int, default=20,
                    help="single-note runs, median taken (default 20)")
    ap.add_argument("--engines", help="comma-separated subset (the reference always runs)")
    ap.add_argument("--rapport", default=os.path.join("build", "rapport"))
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter with jinja2 for the Jinja peer")
    ap.add_argument("--out-dir", default=OUT_DIR)
    args = ap.parse_args()

    if not args.peers_only and not os.access(args.rapport, os.X_OK):
        sys.exit(f"bench: {args.rapport} not found; run `make` first "
                 "(or pass --peers-only to compare the peer engines alone)")
    os.makedirs(args.out_dir, exist_ok=True)
    data, one = ensure_data(args)
    engines_ = engines(args)

    print(f"batch: {args.n} notes, best of {args.runs}", file=sys.stderr)
    batch = run_case("batch", engines_, data, args.runs, min, args.out_dir)
    print(f"single note: median of {args.single_runs}", file=sys.stderr)
    single = run_case("single", engines_, one, args.single_runs, statistics.median, args.out_dir)

    rows = table(engines_, batch, single, args.n)
    print(render_text(rows), flush=True)
    results = os.path.join(args.out_dir, "results.md")
    with open(results, "w") as f:
        f.write(render_markdown(rows, args, data, engines_))
    print(f"\nwritten to {results}")
    ok = all(batch[n]["ok"] and single[n]["ok"] for n, _ in engines_)
    if not ok:
        print("some engines' outputs differ from the reference (see MISMATCH above)",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
