#!/usr/bin/env python3
"""Generate synthetic SOAP progress-note sessions as JSONL for the benchmark.

Every line is one self-contained JSON context (about 2.9 KB). The output is
fully determined by the seed, so every run of the benchmark renders the same
bytes. Python standard library only.

The data is shaped so that every engine we compare against prints it the same
way: no string contains ' / ` = or a backslash (mustache.js, Handlebars and
Jinja2 escape those differently), while & < > and " do appear so that HTML
escaping is exercised. Numbers are integers or have exactly one non-zero
decimal (8.5, 15.3), which JavaScript and Python print identically.

Usage: gen.py [-n N] [--seed S] [-o FILE]
"""

import argparse
import json
import random
import sys

FORBIDDEN = set("'/`=\\")

FIRST = ["Avery", "Jordan", "Morgan", "Riley", "Casey", "Taylor", "Quinn",
         "Harper", "Rowan", "Elliot", "Sasha", "Jamie", "Noor", "Mateo",
         "Priya", "Kenji", "Amara", "Lucas", "Ingrid", "Tomas"]
LAST = ["Nguyen", "Okafor", "Lindqvist", "Martinez", "Brennan", "Haddad",
        "Kowalski", "Fischer", "Osei", "Takahashi", "Delgado", "Moreau",
        "Petrov", "Castillo", "Abernathy", "Singh"]
CLINICIANS = [
    ("Dr. Zoë Lindqvist", "PhD, LP"),
    ("José Castillo", "LCSW"),
    ("Dr. Hannah Osei", "PsyD"),
    ("Marcus Brennan", "LMFT"),
    ("Aisha Haddad", "LPC-S"),
    ("Dr. Søren Petrov", "MD"),
    ("Grace Okafor", "LICSW"),
    ("Élodie Moreau", "LMHC"),
]
MODALITIES = ["Individual, in person", "Individual, telehealth (video)",
              "Couples & family, in person", "Telehealth (audio only)",
              "Group (CBT skills)", "Individual, in person (extended)"]

DIAGNOSES = [
    ("F41.1", "Generalized anxiety disorder"),
    ("F32.1", "Major depressive disorder, single episode, moderate"),
    ("F33.1", "Major depressive disorder, recurrent, moderate"),
    ("F43.10", "Post-traumatic stress disorder, unspecified"),
    ("F43.23", "Adjustment disorder with mixed anxiety & depressed mood"),
    ("F40.10", "Social anxiety disorder, unspecified"),
    ("F41.0", "Panic disorder without agoraphobia"),
    ("F42.2", "Mixed obsessional thoughts and acts"),
    ("F90.0", "ADHD, predominantly inattentive presentation"),
    ("F51.01", "Primary insomnia"),
    ("F10.10", "Alcohol use disorder, mild"),
    ("F50.81", "Binge eating disorder"),
    ("Z63.0", "Problems in relationship with spouse or partner"),
    ("Z56.6", "Other physical & mental strain related to work"),
]

ALLIANCE = [
    ("relationship", "Felt heard, understood & respected"),
    ("goals", "Worked on what the client wanted to work on"),
    ("approach", "Approach is a good fit for the client"),
    ("overall", "Session was right for the client overall"),
    ("collaboration", "Agreed on next steps together"),
    ("pacing", "Pacing of the session felt manageable"),
]
ALLIANCE_NOTES = [
    "Client said the session felt \"a bit rushed\" near the end.",
    "Asked for more practical tools & fewer open questions.",
    "Rated higher than last week; felt more comfortable.",
    "Unsure whether exposure work is the right next step.",
    "Appreciated the written summary of the plan.",
    "Noted that telehealth audio dropped out twice.",
]

FEELINGS = ["anxious", "low", "irritable", "overwhelmed", "flat", "restless",
            "hopeful", "tense", "calmer", "tired", "discouraged", "steadier"]
STRESSORS = ["work deadlines", "a conflict with a sibling", "sleep problems",
             "financial pressure", "caring for a parent", "a recent move",
             "tension with a partner", "school & work demands",
             "a difficult anniversary", "health worries", "loneliness",
             "a performance review"]
PEOPLE = ["partner", "mother", "manager", "roommate", "sister", "friend",
          "teenage son", "coworker"]
QUOTES = ["I keep waiting for something to go wrong",
          "I did the breathing thing and it helped a little",
          "it feels like I am always behind",
          "I actually went to the gym twice",
          "nobody at home notices how hard this is",
          "I slept through the night for once",
          "I am tired of feeling like this",
          "the worry shows up as soon as I wake up"]
SKILLS = ["diaphragmatic breathing", "thought records", "behavioral activation",
          "graded exposure", "sleep scheduling", "values clarification",
          "grounding (5-4-3-2-1)", "assertive communication scripts",
          "worry time", "opposite action", "problem solving",
          "progressive muscle relaxation", "self-compassion breaks"]
AFFECTS = ["constricted", "anxious", "euthymic", "dysphoric", "bright",
           "tearful at times", "congruent with content", "mildly irritable"]
APPEARANCE = ["casually dressed and well groomed", "appropriately dressed",
              "dressed for work, appeared tired", "neatly groomed",
              "wearing a heavy coat throughout the session"]
SPEECH = ["normal rate and volume", "soft but coherent", "slightly pressured",
          "slowed, with long pauses", "clear and goal directed"]
INTERVENTIONS = ["Socratic questioning", "motivational interviewing",
                 "cognitive restructuring", "psychoeducation on the stress response",
                 "chain analysis", "in-session exposure", "role play",
                 "mindfulness practice", "safety planning review"]
PROGRESS = ["partial progress", "steady progress", "limited progress",
            "good progress", "mixed progress"]
PARTNERS = ["prescriber", "primary care", "school counselor", "case manager"]
TASKS = ["Complete two thought records", "Walk 20 minutes on three days",
         "Practice breathing twice daily", "Keep a sleep diary",
         "Schedule one pleasant activity", "Read the handout on avoidance",
         "Write a letter to self (not to send)",
         "Try the 10-minute worry window", "Call a friend & plan a visit",
         "Note triggers & urges in the log",
         "Practice the assertive script with a coworker",
         "Reduce caffeine after 2 pm"]
RISK_NOTES = {
    "low": ["Denies SI & HI; no change since last session.",
            "Denies suicidal ideation, intent or plan. Protective factors intact.",
            "No safety concerns reported or observed."],
    "moderate": ["Passive SI without plan or intent; safety plan reviewed.",
                 "Reports urges to self-harm < 2 times this week; none acted on.",
                 "Increased hopelessness; agreed to check-in call in 3 days."],
    "high": ["Active SI with a vague plan; safety plan updated & crisis line given.",
             "Recent escalation in SI; coordinated with prescriber same day."],
}


def date(rng):
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def num(t):
    """Tenths -> int when whole, else a one-decimal float (prints the same in JS)."""
    return t // 10 if t % 10 == 0 else t / 10


def subjective(rng):
    s = [
        f"Client reported feeling {rng.choice(FEELINGS)} for most of the week, "
        f"mostly in connection with {rng.choice(STRESSORS)}.",
        f"Client stated \"{rng.choice(QUOTES)}\" when asked about the past few days.",
        f"Sleep averaged {rng.randint(4, 8)} hours per night "
        f"({rng.choice(['< 6', '> 7', 'about 6', 'under 5'])} hours on work nights).",
        f"Client described a disagreement with their {rng.choice(PEOPLE)} and "
        f"said it left them feeling {rng.choice(FEELINGS)} & withdrawn.",
        f"Reports practicing {rng.choice(SKILLS)} on {rng.randint(0, 6)} of 7 days.",
        f"Appetite {rng.choice(['unchanged', 'reduced', 'increased', 'variable'])}; "
        f"energy {rng.choice(['low', 'fair', 'improving', 'low in mornings'])}.",
        f"Client noticed that {rng.choice(STRESSORS)} made it harder to use "
        f"{rng.choice(SKILLS)}, especially in the evenings.",
        f"Client rated average distress {rng.randint(2, 9)} of 10 and peak distress "
        f"{rng.randint(5, 10)} of 10 this week.",
    ]
    rng.shuffle(s)
    return " ".join(s[:rng.randint(6, 8)])


def objective(rng):
    s = [
        f"Client arrived on time, {rng.choice(APPEARANCE)}.",
        f"Affect {rng.choice(AFFECTS)}; mood described as \"{rng.choice(FEELINGS)}\".",
        f"Speech {rng.choice(SPEECH)}. Thought process linear and goal directed.",
        f"PHQ-9 score {rng.randint(3, 22)} and GAD-7 score {rng.randint(2, 20)} "
        "(clinical cut-off > 9).",
        f"Engaged in {rng.choice(INTERVENTIONS)} and {rng.choice(INTERVENTIONS)} "
        f"with {rng.choice(['good', 'fair', 'variable', 'strong'])} participation.",
        f"Eye contact {rng.choice(['good', 'intermittent', 'limited'])}; "
        "no psychomotor agitation observed.",
        f"Client was oriented & alert; insight {rng.choice(['fair', 'good', 'limited'])}, "
        f"judgment {rng.choice(['fair', 'good', 'intact'])}.",
    ]
    rng.shuffle(s)
    return " ".join(s[:rng.randint(5, 7)])


def assessment(rng):
    s = [
        f"Client is making {rng.choice(PROGRESS)} toward treatment goals.",
        f"Symptoms remain {rng.choice(['moderate', 'mild', 'elevated', 'stable'])}, "
        f"driven largely by {rng.choice(STRESSORS)}.",
        f"Use of {rng.choice(SKILLS)} appears to reduce distress when applied early.",
        f"Avoidance & rumination continue to maintain {rng.choice(FEELINGS)} mood.",
        f"Alliance is {rng.choice(['strong', 'developing', 'solid', 'improving'])}; "
        "client is receptive to feedback.",
        "Presentation is consistent with the working diagnosis; no new symptoms "
        f"reported since session {rng.randint(1, 20)}.",
    ]
    rng.shuffle(s)
    return " ".join(s[:rng.randint(4, 6)])


def plan(rng):
    s = [
        f"Continue weekly sessions focused on {rng.choice(SKILLS)}.",
        f"Introduce {rng.choice(SKILLS)} next session & review homework.",
        f"Re-administer PHQ-9 and GAD-7 in {rng.randint(2, 4)} weeks.",
        f"Coordinate with {rng.choice(PARTNERS)} with client consent.",
        f"Next appointment in {rng.choice([1, 2])} week(s); client agreed to plan.",
        "Review the safety plan & update coping cards if distress rises > 8 of 10.",
    ]
    rng.shuffle(s)
    return " ".join(s[:rng.randint(4, 6)])


def session(rng):
    name = rng.choice(CLINICIANS)
    n_diagnoses = rng.choices([0, 1, 2, 3, 4], [3, 30, 35, 20, 12])[0]  # 0: intake pending
    level = rng.choices(["low", "moderate", "high"], [75, 20, 5])[0]
    # Scores are kept in tenths (integers) so that totals are exact.
    srs = [rng.randint(55, 100) for _ in range(4)]
    ors = [rng.randint(20, 95) for _ in range(4)]
    task, bond, goal = (5 * rng.randint(8, 40) for _ in range(3))  # 4 to 20 by 0.5
    homework = []
    for _ in range(rng.choice([0, 1, 2, 2, 3, 3])):
        t = rng.choice(TASKS)
        r = rng.random()
        if r < 0.4:
            homework.append(t)
        elif r < 0.8:
            homework.append({"task": t, "due": date(rng)})
        else:
            homework.append({"task": t})
    alliance = []
    for key, label in rng.sample(ALLIANCE, rng.randint(4, 6)):
        item = {"name": key, "label": label, "rating": rng.randint(1, 5)}
        if rng.random() < 0.35:
            item["note"] = rng.choice(ALLIANCE_NOTES)
        alliance.append(item)
    return {
        "client": {"id": f"C-{rng.randint(1, 99999):05d}",
                   "initials": f"{rng.choice(FIRST)[0]}.{rng.choice(LAST)[0]}."},
        "session": {"date": date(rng),
                    "number": rng.randint(1, 60),
                    "minutes": rng.choice([45, 50, 53, 60, 75, 90]),
                    "modality": rng.choice(MODALITIES)},
        "clinician": {"name": name[0], "credentials": name[1]},
        "subjective": subjective(rng),
        "objective": objective(rng),
        "assessment": assessment(rng),
        "plan": plan(rng),
        "diagnoses": [{"code": c, "label": l} for c, l in rng.sample(DIAGNOSES, n_diagnoses)],
        "homework": homework,
        "alliance": alliance,
        "measures": {
            "srs": {"total": num(sum(srs)), "items": [num(x) for x in srs]},
            "ors": {"total": num(sum(ors)), "items": [num(x) for x in ors]},
            "wai_sr": {"total": num(task + bond + goal),
                       "task": num(task), "bond": num(bond), "goal": num(goal)},
        },
        "risk": {"level": level, "notes": rng.choice(RISK_NOTES[level])},
        "risk_high": level == "high",
    }


def check(value, where="$"):
    """Refuse strings that peers would escape differently."""
    if isinstance(value, str):
        bad = FORBIDDEN.intersection(value)
        if bad:
            raise SystemExit(f"gen.py: {where} contains {sorted(bad)}: {value!r}")
    elif isinstance(value, dict):
        for k, v in value.items():
            check(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check(v, f"{where}[{i}]")
    elif isinstance(value, float):
        if round(value, 1) != value or value == int(value):
            raise SystemExit(f"gen.py: {where} has an unportable number {value!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10000, help="sessions (default 10000)")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("-o", "--output", help="output file (default stdout)")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    out = open(args.output, "w", encoding="utf-8", newline="\n") if args.output \
        else open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
    with out:
        for _ in range(args.n):
            s = session(rng)
            check(s)
            out.write(json.dumps(s, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")


if __name__ == "__main__":
    main()
