#!/usr/bin/env python3
"""Generate synthetic SOAP session files as JSONL for the notes benchmark.

Each line is one complete, valid session for the built-in `soap` note type,
as a therapist's session file would hold it (about 1.6 KB): client, session,
clinician, the four clinical sections, diagnoses, risk, homework, the
alliance checklist with notes and challenges, and the three measures. The
text comes from gen.py's word lists, so it reads like real notes and
contains `&`, `<`, `>` and quotes. The output is fully determined by the
seed. Python standard library only.

Usage: gen_sessions.py [-n N] [--seed S] [-o FILE]
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the word lists and the clinical sections)

ELEMENTS = ["trust", "empathy", "collaboration", "respect", "authenticity"]
CHALLENGES = ["cultural_differences", "power_imbalance", "countertransference"]


def session(rng):
    name = rng.choice(gen.CLINICIANS)
    level = rng.choices(["none", "low", "moderate", "high"], [40, 35, 20, 5])[0]
    risk = {"level": level}
    if level != "none":
        risk["notes"] = rng.choice(gen.RISK_NOTES[level])
    if level in ("moderate", "high"):
        risk["safety_plan"] = "Safety plan reviewed; crisis line number saved in phone."
    alliance = {}
    for element in ELEMENTS:
        rating = rng.randint(2, 5)
        if rng.random() < 0.3:
            alliance[element] = {"rating": rating, "note": rng.choice(gen.ALLIANCE_NOTES)}
        else:
            alliance[element] = rating
    if rng.random() < 0.3:
        alliance["challenges"] = {rng.choice(CHALLENGES): {"noticed": True,
                                                            "plan": "bring to supervision"}}
    measures = {"srs": [rng.randint(50, 100) / 10 for _ in range(4)]}
    if rng.random() < 0.5:
        measures["ors"] = [rng.randint(20, 95) / 10 for _ in range(4)]
    if rng.random() < 0.3:
        measures["wai_sr"] = [rng.randint(1, 5) for _ in range(12)]
    return {
        "type": "soap",
        "client": {"id": "C-%05d" % rng.randint(1, 99999),
                   "initials": "%s.%s." % (rng.choice(gen.FIRST)[0], rng.choice(gen.LAST)[0])},
        "session": {"date": gen.date(rng), "number": rng.randint(1, 60),
                    "minutes": rng.choice([45, 50, 53, 60, 75, 90]),
                    "modality": rng.choice(["in_person", "video", "phone"])},
        "clinician": {"name": name[0], "credentials": name[1]},
        "subjective": gen.subjective(rng),
        "objective": gen.objective(rng),
        "assessment": gen.assessment(rng),
        "plan": gen.plan(rng),
        "diagnoses": [{"code": c, "label": l}
                      for c, l in rng.sample(gen.DIAGNOSES, rng.randint(1, 3))],
        "risk": risk,
        "homework": rng.sample(gen.TASKS, rng.randint(0, 3)),
        "alliance": alliance,
        "measures": measures,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10000, help="number of sessions (10000)")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("-o", help="output file (default: standard output)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = open(args.o, "w", encoding="utf-8") if args.o else sys.stdout
    for _ in range(args.n):
        out.write(json.dumps(session(rng), ensure_ascii=False, separators=(",", ":")) + "\n")
    if args.o:
        out.close()


if __name__ == "__main__":
    main()
