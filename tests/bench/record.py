"""Benchmark of the signed record: `rapport sign` and `rapport verify`.

Signs N generated SOAP sessions (default 10,000; complete and valid) into a
new record on the build's own disk (synchronous=FULL: every commit reaches
the disk), in batches of one `rapport sign` run each, and reports:

- signs per second: sessions signed divided by the wall time of the sign
  runs (each run validates, computes and renders every session twice, JSON
  and Markdown, unlocks the key once with Argon2id, and commits in
  transactions of up to 256 entries);
- the same for one session per run (key unlocking and start-up included);
- `rapport verify` on the N entries: the best of 3 wall times;
- the record's size per note: the database's bytes (after SQLite folds the
  write-ahead log in) divided by N, beside the average session file.

Wall times and CPU times (user and system, of the rapport processes) are
both given, with the load average: on a shared machine the wall times grow
with the load. Nothing is timed as a test. Usage: tests/bench/record.py [-n N] [--rapport PATH]
[--dir DIR] (default build/bench/record/, emptied first).
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PASS = "correct horse battery staple"


def session(i):
    return {
        "type": "soap",
        "client": {"id": "C-%05d" % (i // 10), "initials": "K.L."},
        "session": {"date": "2026-%02d-%02d" % (1 + i % 12, 1 + i % 28), "number": 1 + i % 10,
                    "minutes": 50, "modality": "video"},
        "clinician": {"name": "Dana Whitfield", "credentials": "LCSW"},
        "subjective": "Client reports sleeping better; conflict with partner at the weekend. "
                      "Session %d." % i,
        "objective": "Affect congruent, engaged throughout.",
        "assessment": "Moderate progress toward goal 1.",
        "plan": "Continue cognitive restructuring; review safety plan.",
        "risk": {"level": "none"},
        "alliance": {"trust": 4, "empathy": {"rating": 5, "note": "said she felt understood"},
                     "collaboration": 3, "respect": 5, "authenticity": 4},
        "measures": {"srs": [8.5, 9.0, 7.5, 8.0]},
    }


def cpu():
    """CPU seconds (user and system) used by the finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=2000, help="sessions per sign run")
    ap.add_argument("--rapport", default=os.path.join(ROOT, "build", "rapport"))
    ap.add_argument("--dir", default=os.path.join(ROOT, "build", "bench", "record"))
    args = ap.parse_args()
    rapport = os.path.abspath(args.rapport)
    work = os.path.abspath(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "sessions"))
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(work, "config"), RAPPORT_PASSPHRASE=PASS)

    def run(*a):
        r = subprocess.run([rapport] + list(a), cwd=work, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=False)
        if r.returncode != 0:
            sys.exit("bench: rapport %s failed:\n%s" % (a[0] if a[0] != "-q" else a[1],
                                                        r.stderr.decode()[-2000:]))
        return r

    run("key", "new", "--name", "Dana Whitfield", "--credentials", "LCSW")
    files, source_bytes = [], 0
    for i in range(args.n):
        name = "sessions/s%05d.json" % i
        data = json.dumps(session(i), indent=1)
        source_bytes += len(data)
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            f.write(data)
        files.append(name)

    t0, c0 = time.perf_counter(), cpu()
    for at in range(0, args.n, args.batch):
        run("-q", "sign", *files[at:at + args.batch])
    sign_s, sign_cpu = time.perf_counter() - t0, cpu() - c0

    # One session per run: what a therapist signing one note waits for.
    extra = []
    for i in range(20):
        name = "sessions/one%02d.json" % i
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            json.dump(session(args.n + i), f)
        extra.append(name)
    t0, c0 = time.perf_counter(), cpu()
    for name in extra:
        run("-q", "sign", name)
    one_s, one_cpu = (time.perf_counter() - t0) / len(extra), (cpu() - c0) / len(extra)

    times, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), cpu()
        r = run("verify")
        times.append(time.perf_counter() - t0)
        cpus.append(cpu() - c0)
    entries = int(re.search(r"^(\d+) entries verified$", r.stdout.decode(), re.M).group(1))
    assert entries == args.n + len(extra), r.stdout
    # Fold the write-ahead log into the database before measuring it.
    subprocess.run(["sqlite3", os.path.join(work, "record.db"), "PRAGMA wal_checkpoint(TRUNCATE)"],
                   check=True, stdout=subprocess.DEVNULL)
    size = os.path.getsize(os.path.join(work, "record.db"))
    result = {
        "sessions": args.n,
        "signs_per_second": round(args.n / sign_s),
        "signs_per_cpu_second": round(args.n / sign_cpu),
        "sign_runs": (args.n + args.batch - 1) // args.batch,
        "one_session_sign_ms": round(one_s * 1000, 1),
        "one_session_sign_cpu_ms": round(one_cpu * 1000, 1),
        "verify_entries": entries,
        "verify_seconds_best_of_3": round(min(times), 3),
        "verify_cpu_seconds_best_of_3": round(min(cpus), 3),
        "load_average": os.getloadavg()[0],
        "record_bytes": size,
        "bytes_per_note": round(size / entries),
        "session_file_bytes_avg": round(source_bytes / args.n),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
