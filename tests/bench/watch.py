#!/usr/bin/env python3
"""Save-to-output latency of `rapport watch`, beside entr driving
`rapport render` (Debian's entr), in the same run.

For each tool: start it on a copy of examples/clinic, then edit one session
N times (write the file in place, as an editor that saves in place does,
with a new marker word each time) and time from the end of the write until
the note on disk holds the marker, polling every 0.5 ms. Reports the median
and the 95th percentile, and for rapport watch the resident memory after the
first 100 edits and after all of them (--memory-edits, default 1,000), to
show that it stays flat.

Run from the repository root after `make`; tests/bench/run.sh runs it.
Usage: watch.py [-n EDITS] [--memory-edits M] [--rapport PATH]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SESSION = "sessions/jd-07.yaml"
NOTE = "out/jd-07.md"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(path, marker, timeout=10.0):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            with open(path, "rb") as f:
                if marker in f.read():
                    return time.perf_counter()
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    raise TimeoutError("no %r in %s after %.0f s" % (marker, path, timeout))


def edit_loop(ws, edits, original, tag, on_edit=None, pause=0.25):
    """Times each edit. Between edits it pauses (as a person typing does):
    entr misses a change made while its command is still running."""
    latencies = []
    for i in range(edits):
        time.sleep(pause)
        marker = ("%s%06d" % (tag, i)).encode()
        text = original.replace(b"Affect congruent", b"Affect " + marker)
        path = os.path.join(ws, SESSION)
        with open(path, "wb") as f:
            f.write(text)
        start = time.perf_counter()
        done = wait_for(os.path.join(ws, NOTE), marker)
        latencies.append((done - start) * 1000)
        if on_edit:
            on_edit(i)
    return latencies


def workspace(root):
    ws = tempfile.mkdtemp(prefix="watch-bench-", dir=root)
    shutil.rmtree(ws)
    shutil.copytree(os.path.join("examples", "clinic"), ws)
    return ws


def summary(name, lat):
    lat = sorted(lat)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * len(lat))) - 1)]
    return {"name": name, "n": len(lat), "median": statistics.median(lat), "p95": p95,
            "max": lat[-1]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="timed edits per tool (200)")
    ap.add_argument("--memory-edits", type=int, default=1000)
    ap.add_argument("--rapport", default=os.path.join("build", "rapport"))
    ap.add_argument("--out-dir", default=os.path.join("build", "bench"))
    args = ap.parse_args()
    rapport = os.path.abspath(args.rapport)
    os.makedirs(args.out_dir, exist_ok=True)
    # Outside /tmp, on the same disk as the repository.
    root = os.path.abspath(args.out_dir)
    results, ok = [], True

    ws = workspace(root)
    original = open(os.path.join(ws, SESSION), "rb").read()
    log = open(os.path.join(root, "watch-bench.log"), "wb")
    proc = subprocess.Popen([rapport, "watch"], cwd=ws, stdout=log, stderr=log)
    try:
        wait_for(os.path.join(ws, NOTE), b"Affect congruent")
        lat = edit_loop(ws, args.n, original, "rapport")
        results.append(summary("rapport watch", lat))
        memory = {}

        def sample(i):
            if i + 1 in (100, args.memory_edits):
                memory[i + 1] = rss_kib(proc.pid)
        edit_loop(ws, args.memory_edits, original, "mem", sample, pause=0.002)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    shutil.rmtree(ws)

    entr = shutil.which("entr")
    if entr:
        ws = workspace(root)
        script = "%s render %s -o %s" % (rapport, SESSION, NOTE)
        proc = subprocess.Popen(
            ["sh", "-c", "echo %s | %s -n sh -c '%s'" % (SESSION, entr, script)], cwd=ws,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.makedirs(os.path.join(ws, "out"), exist_ok=True)
            time.sleep(0.5)
            lat = edit_loop(ws, args.n, original, "entr")
            results.append(summary("entr + rapport render", lat))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(ws)
    else:
        print("entr is not installed (Debian: entr): no comparison", file=sys.stderr)

    lines = ["| tool | edits | median ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append("| %s | %d | %.1f | %.1f | %.1f |" % (r["name"], r["n"], r["median"],
                                                        r["p95"], r["max"]))
    text = "\n".join(lines)
    grow = (memory.get(args.memory_edits, 0) - memory.get(100, 0))
    text += ("\n\nrapport watch resident memory: %d KiB after 100 edits, %d KiB after %d "
             "(%+d KiB)" % (memory.get(100, 0), memory.get(args.memory_edits, 0),
                            args.memory_edits, grow))
    print("\nsave-to-output latency, %d edits each, one run" % args.n)
    print(text)
    with open(os.path.join(args.out_dir, "results.md"), "a") as f:
        f.write("\n## rapport watch: save-to-output latency\n\n%s\n" % text)
    if grow > 1024:
        print("memory grew by more than 1 MiB", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
