#!/usr/bin/env python3
"""Save-to-output latency of `rapport watch`, beside entr driving
`rapport render` (Debian's entr), in the same run, for every way of saving a
file that the watch tests use.

For each tool: start it on a copy of examples/clinic, then edit one session
N times per save style, with a new marker word each time, and time from the
end of the save (the save function's return, or the end of the cp or sed
process) until the note on disk holds the marker, polling every 0.5 ms. The
save styles: in place; a temporary file renamed into place; truncate (and
close), then write; one writer writing two parts with a 20 ms pause; vim's
backup by rename then write; cp over; sed -i. Reports, per style and over
every style, the median, the 95th percentile and the maximum (and edits
whose note never came, `missed`), whether rapport watch meets its targets
(median <= 5 ms and p95 <= 15 ms over every style), and for rapport watch
the resident memory after the first 100 edits and after all of them
(--memory-edits, default 1,000), to show that it stays flat.

A benchmark, not a test: the targets are printed, not enforced (only memory
growth makes the exit status 1). Run from the repository root after `make`;
tests/bench/run.sh runs it.
Usage: watch.py [-n EDITS] [--memory-edits M] [--rapport PATH] [--before PATH]
"""


import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "watch"))
from test_watch import save_by_rename, save_in_place, save_vim  # noqa: E402

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


def save_truncate_then_write(path, data):
    """`: > f; cat new > f`: an empty file (a finished write), then the new one."""
    open(path, "wb").close()
    with open(path, "wb") as f:
        f.write(data)


def save_two_parts(path, data):
    """One writer: half, a 20 ms pause with the file open, the rest."""
    half = len(data) // 2
    with open(path, "wb", buffering=0) as f:
        f.write(data[:half])
        time.sleep(0.02)
        f.write(data[half:])


def save_cp(path, data):
    src = os.path.join(os.path.dirname(os.path.dirname(path)), "cp-source.yaml")
    with open(src, "wb") as f:
        f.write(data)
    subprocess.run(["cp", src, path], check=True)


MARKER = re.compile(rb"Affect [A-Za-z0-9]+")


def save_sed(path, data):
    marker = MARKER.search(data).group(0).decode()
    subprocess.run(["sed", "-i", "s/Affect [A-Za-z0-9]*/%s/" % marker, path], check=True)


STYLES = [("in place", save_in_place), ("temp file + rename", save_by_rename),
          ("truncate, then write", save_truncate_then_write),
          ("two parts, 20 ms apart", save_two_parts), ("vim (backup, rename, write)", save_vim),
          ("cp over", save_cp), ("sed -i", save_sed)]


def edit_loop(ws, edits, original, tag, save=save_in_place, on_edit=None, pause=0.25,
              timeout=10.0, alive=None):
    """Times each edit. Between edits it pauses (as a person typing does):
    entr misses a change made while its command is still running. Returns
    the latencies and the number of edits whose note never came (within
    `timeout`; then `alive` is asked to bring the tool back if it died)."""
    latencies, missed = [], 0
    path = os.path.join(ws, SESSION)
    for i in range(edits):
        time.sleep(pause)
        marker = ("%s%06d" % (tag, i)).encode()
        text = MARKER.sub(b"Affect " + marker, original, count=1)
        save(path, text)
        start = time.perf_counter()
        try:
            done = wait_for(os.path.join(ws, NOTE), marker, timeout)
            latencies.append((done - start) * 1000)
        except TimeoutError:
            missed += 1
            if alive:
                alive()
        if on_edit:
            on_edit(i)
    return latencies, missed


def workspace(root):
    ws = tempfile.mkdtemp(prefix="watch-bench-", dir=root)
    shutil.rmtree(ws)
    shutil.copytree(os.path.join("examples", "clinic"), ws)
    return ws


def summary(name, style, lat, missed=0):
    lat = sorted(lat)
    if not lat:
        return {"name": name, "style": style, "n": 0, "missed": missed, "median": float("nan"),
                "p95": float("nan"), "max": float("nan")}
    p95 = lat[min(len(lat) - 1, max(0, int(round(0.95 * len(lat))) - 1))]
    return {"name": name, "style": style, "n": len(lat), "missed": missed,
            "median": statistics.median(lat), "p95": p95, "max": lat[-1], "all": lat}


def run_styles(name, ws, original, tag, edits, alive=None, timeout=10.0):
    """Every save style, `edits` times each: the rows of the table."""
    rows, pooled, missed = [], [], 0
    for style, save in STYLES:
        lat, miss = edit_loop(ws, edits, original, tag, save, timeout=timeout, alive=alive)
        rows.append(summary(name, style, lat, miss))
        pooled += lat
        missed += miss
    rows.append(summary(name, "every style", pooled, missed))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("-n", type=int, default=60, help="timed edits per tool and save style (60)")
    ap.add_argument("--memory-edits", type=int, default=1000)
    ap.add_argument("--rapport", default=os.path.join("build", "rapport"))
    ap.add_argument("--out-dir", default=os.path.join("build", "bench"))
    ap.add_argument("--before", metavar="PATH",
                    help="also time another rapport binary (an earlier version) the same way, "
                         "in the same run, as 'rapport watch (before)'")
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
        results += run_styles("rapport watch", ws, original, "rapport", args.n)
        memory = {}

        def sample(i):
            if i + 1 in (100, args.memory_edits):
                memory[i + 1] = rss_kib(proc.pid)
        edit_loop(ws, args.memory_edits, original, "mem", on_edit=sample, pause=0.002)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    shutil.rmtree(ws)

    if args.before:
        ws = workspace(root)
        log = open(os.path.join(root, "watch-bench-before.log"), "wb")
        proc = subprocess.Popen([os.path.abspath(args.before), "watch"], cwd=ws, stdout=log,
                                stderr=log)
        try:
            wait_for(os.path.join(ws, NOTE), b"Affect congruent")
            results += run_styles("rapport watch (before)", ws, original, "before", args.n)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()
        shutil.rmtree(ws)

    entr = shutil.which("entr")
    if entr:
        ws = workspace(root)
        os.makedirs(os.path.join(ws, "out"), exist_ok=True)
        script = "%s render %s -o %s" % (rapport, SESSION, NOTE)
        cmd = ["sh", "-c", "echo %s | %s -n sh -c '%s'" % (SESSION, entr, script)]
        state = {}

        def start_entr():
            state["proc"] = subprocess.Popen(cmd, cwd=ws, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
            time.sleep(0.5)

        def alive():
            # entr ends when the file it watches is deleted for good; start
            # it again, as a person would.
            if state["proc"].poll() is not None:
                start_entr()
        start_entr()
        try:
            results += run_styles("entr + rapport render", ws, original, "entr", args.n,
                                  alive=alive, timeout=2.0)
        finally:
            state["proc"].terminate()
            state["proc"].wait(timeout=10)
        shutil.rmtree(ws)
    else:
        print("entr is not installed (Debian: entr): no comparison", file=sys.stderr)

    lines = ["| tool | save style | edits | missed | median ms | p95 ms | max ms |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append("| %s | %s | %d | %d | %.1f | %.1f | %.1f |"
                     % (r["name"], r["style"], r["n"], r["missed"], r["median"], r["p95"],
                        r["max"]))
    text = "\n".join(lines)
    overall = [r for r in results if r["name"] == "rapport watch" and r["style"] == "every style"]
    o = overall[0]
    met = o["n"] and not o["missed"] and o["median"] <= 5.0 and o["p95"] <= 15.0
    text += ("\n\nrapport watch over every save style: median %.1f ms (target <= 5), p95 %.1f "
             "ms (target <= 15), %d missed: targets %s"
             % (o["median"], o["p95"], o["missed"], "met" if met else "NOT met"))
    grow = (memory.get(args.memory_edits, 0) - memory.get(100, 0))
    text += ("\nrapport watch resident memory: %d KiB after 100 edits, %d KiB after %d "
             "(%+d KiB)" % (memory.get(100, 0), memory.get(args.memory_edits, 0),
                            args.memory_edits, grow))
    print("\nsave-to-output latency, %d edits per tool and save style, one run" % args.n)
    print(text)
    with open(os.path.join(args.out_dir, "results.md"), "a") as f:
        f.write("\n## rapport watch: save-to-output latency\n\n%s\n" % text)
    if grow > 1024:
        print("memory grew by more than 1 MiB", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
