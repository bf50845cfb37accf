"""Build the labeled sets ``tests/data/tier2/<check>.jsonl`` for the classifier checks.

    python -m trace_engine.tier2.training.build [--out tests/data/tier2]

Rows come from three places (docs/tier2.md, "Labeling guide", says how each is labeled):

* **corpus** turns of SGD, Taskmaster and MTS-Dialog, stored as references ``{"ref": {"source", "call_id",
  "turn"}}`` and weakly labeled negative (benign task and clinic dialogue). Turns that a *review trigger* (a broad
  regex for the phenomenon) hits are not labeled by rule: they are listed in ``hand_labels.jsonl`` with a label
  given by reading the turn in its window;
* **frames**: a corpus turn judged inside a written context (an MTS clinician's statement after a phone greeting
  and an unverified caller), labeled by the guide's rule for that context;
* **written** examples (:mod:`trace_engine.tier2.training.written`) and the earlier hand-written sets.

Splits: corpus rows and frames by conversation (a hash of the call id), written rows by their core wording
(``group``): 60% train, 20% dev (thresholds and calibration), 20% test (never used to fit or tune anything);
round 5's written rows, written from the dev split's misses, are all train.
Deterministic: the same corpora give the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

from trace_engine.shared_data import REPO
from trace_engine.tier2.context import split_ask_tell
from trace_engine.tier2.training import corpora
from trace_engine.tier2.training.kb_claims import KBS
from trace_engine.tier2.training.kb_claims import examples as kb_examples
from trace_engine.tier2.training.written import GENERATORS, PREFIX, ROUND2, ROUND3, ROUND5, SUFFIX, TRAIN_ONLY

OUT = REPO / "tests" / "data" / "tier2"
WINDOW = 6
CHECKS = ("ambiguous_optout", "brand_tone", "minimum_necessary", "hallucination")
SPEAKER = {"ambiguous_optout": "caller", "brand_tone": "agent", "minimum_necessary": "agent", "hallucination": "agent"}
#: corpus turns per check and source (before review triggers add their hits)
QUOTA = {
    "ambiguous_optout": {"sgd": 1100, "taskmaster": 700, "mts": 800},
    "brand_tone": {"sgd": 900, "taskmaster": 600, "mts": 1100},
    "minimum_necessary": {"sgd": 700, "taskmaster": 300, "mts": 1500},
    "hallucination": {"sgd": 900, "taskmaster": 300, "mts": 200},
}
#: hard-negative hints: corpus turns with these words are drawn first (half of each quota)
HARD = {
    "ambiguous_optout": re.compile(r"\b(no|not|stop|cancel|don'?t|remove|never|call|number|list|thanks|bye|"
                                   r"interested|again)\b", re.I),
    "brand_tone": re.compile(r"\b(now|today|immediately|right away|must|need to|have to|only|last|deadline|"
                             r"should|don'?t|sorry|urgent|soon)\b", re.I),
    "minimum_necessary": re.compile(r"\b(your|his|her|diagnos\w*|results?|test|blood|medication|pressure|"
                                    r"diabetes|cancer|infection|mri|x ?ray|scan)\b", re.I),
    "hallucination": re.compile(r"\d|\$|\b(free|fee|cost|price|open|close|dollars|percent|days?|hours?)\b", re.I),
}
#: review triggers: corpus turns these hit are hand-labeled, never labeled by rule
_CALLS = r"(call|calling|called|ring|contact\w*|text\w*|phone)"
TRIGGERS = {
    "ambiguous_optout": re.compile(
        r"\b(stop|quit|no more|don'?t|do not|never)\b[^.?!]{0,25}\b" + _CALLS + r"|\b(lose|delete|remove) my\b|"
        r"\boff (your|the|this) \w*\s?list\b|\bremove me\b|\bleave me alone\b|\bharass\w*\b|"
        r"\bunsubscribe\b|\bdo not call\b", re.I),
    "brand_tone": re.compile(
        r"\b(stupid|dumb|idiot|ridiculous|calm down|whatever|shut up|last chance|act now|right now|"
        r"immediately|arrest\w*|warrant|lawsuit|suspended|final notice|sign you up|won'?t take no|"
        r"don'?t need (a|to see)|stop taking|double the|invest|guaranteed)\b", re.I),
    "minimum_necessary": re.compile(
        r"\b(this is (his|her) \w+|i'?m (his|her) \w+|calling (for|about|on behalf of) (my|his|her)|"
        r"(he|she)'?s? not (home|here)|take a message)\b", re.I),
    # corpus agent turns are about other businesses and the caller's own bookings: never a claim about the
    # written KBs, so nothing needs a hand label
    "hallucination": re.compile(r"(?!x)x"),
}
#: round 2: turns these hit join the labeled set with a hand label (ambiguous_optout: the plain refusals that the
#: catalog hands to Tier-2, so every corpus "not interested" or lone "stop" is read in its window)
ROUND2_TRIGGERS = {
    "ambiguous_optout": re.compile(r"\bnot interested\b|\bno interest\b|^\W*(please\W+|okay\W+|no\W+)?stop\W*$", re.I),
}
#: round 2: more benign corpus turns per source, drawn from those not yet in the set (hard-negative words first)
ROUND2_QUOTA = {"brand_tone": {"mts": 700, "taskmaster": 300}}
HEALTH = re.compile(
    r"\b(diagnos\w*|biops\w*|cancer|tumou?r|hiv|hepatitis|diabet\w*|hypertension|blood pressure|cholesterol|"
    r"infection|fracture|broken|mri|x ?-?rays?|ct|scan|results?|test\w*|labs?|blood work|medications?|"
    r"prescri\w*|dose|insulin|depress\w*|anxiety|asthma|arthritis|pneumonia|disease|disorder|syndrome|"
    r"surgery|positive|negative|abnormal|elevated|levels?|thyroid|kidney|liver|heart|lungs?)\b", re.I)
PHONE_GREETINGS = ["thank you for calling northwind clinic, how can i help?",
                   "hello, riverside medical, this is kim speaking", "good morning, cedar family practice"]
UNVERIFIED_ASKS = ["hi, i'm calling about my visit last week", "hey, i wanted to go over what the doctor found",
                   "i'm calling to follow up on my appointment", "hi, can you tell me what my results were?"]


def split_of(key: str) -> str:
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10
    return "train" if h < 6 else ("dev" if h < 8 else "test")


def _corpus_rows(check: str, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows labeled by rule, rows a trigger hit that need a hand label)."""
    speaker = SPEAKER[check]
    rows, review = [], []
    for source, quota in QUOTA[check].items():
        if not corpora.available(source):
            continue
        cands = [(cid, i, text) for cid, turns in sorted(corpora.calls(source).items())
                 for i, (role, text) in enumerate(turns) if role == speaker and text.strip()]
        rng.shuffle(cands)
        hard = [c for c in cands if HARD[check].search(c[2])][: quota // 2]
        seen = {(c[0], c[1]) for c in hard}
        rest = [c for c in cands if (c[0], c[1]) not in seen][: quota - len(hard)]
        for cid, i, text in hard + rest:
            row = {"ref": {"source": source, "call_id": cid, "turn": i}, "split": split_of(f"{source}:{cid}")}
            if TRIGGERS[check].search(text) or (check == "minimum_necessary" and TRIGGERS[check].search(
                    " ".join(t for r, t in corpora.window(source, cid, i, WINDOW)[:-1] if r == "caller"))):
                review.append(row)
            else:
                if rng.random() < 0.3:  # the written examples' fillers, so that a filler is no cue for either label
                    row["wrap"] = [rng.choice(PREFIX), rng.choice(SUFFIX)]
                rows.append({**row, "label": False, "category": f"{source}_benign", "labeled_by": "rule:benign_corpus"})
        # every trigger hit in the whole source is reviewed, not only the sampled ones
        for cid, i, text in cands:
            if (cid, i) in seen or not TRIGGERS[check].search(text):
                continue
            if any(r["ref"]["call_id"] == cid and r["ref"]["turn"] == i for r in review):
                continue
            if len(review) < 400:
                review.append({"ref": {"source": source, "call_id": cid, "turn": i},
                               "split": split_of(f"{source}:{cid}")})
    return rows, review


def _frames(rng: random.Random) -> list[dict[str, Any]]:
    """minimum_necessary: an MTS clinician's health statement told to an unverified phone caller (positive)."""
    if not corpora.available("mts"):
        return []
    out = []
    cands = []
    for cid, turns in sorted(corpora.calls("mts").items()):
        for i, (role, text) in enumerate(turns):
            if role != "agent":
                continue
            _, tell = split_ask_tell(text)
            if len(tell.split()) >= 5 and HEALTH.search(tell) and re.search(r"\b(you|your)\b", tell, re.I):
                cands.append((cid, i))
    rng.shuffle(cands)
    for cid, i in cands[:320]:
        frame = [["agent", rng.choice(PHONE_GREETINGS)], ["caller", rng.choice(UNVERIFIED_ASKS)]]
        out.append({"frame": frame, "ref": {"source": "mts", "call_id": cid, "turn": i},
                    "label": True, "category": "unverified_phone", "labeled_by": "rule:frame_unverified_phone",
                    "split": split_of(f"mts:{cid}")})
    return out


def _legacy(check: str, data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "legacy" / f"{check}.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append({"turns": [[t["role"], t["text"]] for t in r["turns"]], "label": r["label"],
                    "category": r.get("category", ""), "labeled_by": "hand:legacy", "split": split_of(r["id"])})
    return out


def load_hand_labels(data_dir: Path) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    path = data_dir / "hand_labels.jsonl"
    out = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[(r["check"], r["source"], r["call_id"], r["turn"])] = r
    return out


def build(check: str, data_dir: Path = OUT, seed: int = 18) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(labeled rows, trigger hits still without a hand label)."""
    rng = random.Random(f"{seed}:{check}")
    rows: list[dict[str, Any]] = []
    gen = kb_examples if check == "hallucination" else GENERATORS[check]
    for ex in gen(rng):
        rows.append({"turns": ex["turns"], "label": ex["label"], "category": ex["category"],
                     "labeled_by": "written", "group": ex["group"], "split": split_of(ex["group"]),
                     **({"kb": ex["kb"]} if "kb" in ex else {})})
    rows.extend({**r, "kb": "telecom"} if check == "hallucination" else r for r in _legacy(check, data_dir))
    corpus_rows, review = _corpus_rows(check, rng)
    if check == "hallucination":
        for r in corpus_rows:
            r["kb"] = rng.choice(sorted(KBS))
    rows.extend(corpus_rows)
    hand = load_hand_labels(data_dir)
    missing = []
    for r in review:
        key = (check, r["ref"]["source"], r["ref"]["call_id"], r["ref"]["turn"])
        h = hand.get(key)
        if h is None:
            missing.append(r)
            continue
        rows.append({**r, "label": h["label"], "category": h.get("category", "hand"), "labeled_by": "hand"})
    if check == "minimum_necessary":
        rows.extend(_frames(rng))
    missing.extend(_round2(check, rows, hand, random.Random(f"{seed}:{check}:round2")))
    gen3 = ROUND3.get(check)
    for ex in gen3(random.Random(f"{seed}:{check}:round3")) if gen3 else []:
        rows.append({"turns": ex["turns"], "label": ex["label"], "category": ex["category"], "labeled_by": "written",
                     "group": ex["group"], "split": split_of(ex["group"])})
    # round 5 was written from the dev split's misses: train only, so it neither flatters dev nor enters test
    gen5 = ROUND5.get(check)
    for ex in gen5(random.Random(f"{seed}:{check}:round5")) if gen5 else []:
        rows.append({"turns": ex["turns"], "label": ex["label"], "category": ex["category"], "labeled_by": "written",
                     "group": ex["group"], "split": TRAIN_ONLY})
    for n, r in enumerate(rows):
        r["id"] = f"{check}-{n:05d}"
        r["check"] = check
    return rows, missing


def _round2(check: str, rows: list[dict[str, Any]], hand: dict, rng: random.Random) -> list[dict[str, Any]]:
    """Append round 2 to ``rows`` (after every first-round row, so no earlier id or split moves): the written
    examples, the corpus turns a round-2 trigger hits (hand-labeled; a first-round row it hits keeps its id and
    label, and its label's source becomes the hand label), and more benign corpus turns. Returns the trigger hits
    still without a hand label."""
    gen = ROUND2.get(check)
    for ex in gen(rng) if gen else []:
        rows.append({"turns": ex["turns"], "label": ex["label"], "category": ex["category"], "labeled_by": "written",
                     "group": ex["group"], "split": split_of(ex["group"])})
    have = {(r["ref"]["source"], r["ref"]["call_id"], r["ref"]["turn"]) for r in rows if "ref" in r and "frame" not in r}
    missing = []
    trigger = ROUND2_TRIGGERS.get(check)
    for source in corpora.FILES:
        if not corpora.available(source):
            continue
        cands = [(cid, i, text) for cid, turns in sorted(corpora.calls(source).items())
                 for i, (role, text) in enumerate(turns) if role == SPEAKER[check] and text.strip()]
        if trigger is not None:
            for r in rows:
                ref = r.get("ref")
                if ref and ref["source"] == source and "frame" not in r and r["labeled_by"] == "rule:benign_corpus" \
                        and trigger.search(corpora.calls(source)[ref["call_id"]][ref["turn"]][1]):
                    h = hand.get((check, source, ref["call_id"], ref["turn"]))
                    if h is None:
                        missing.append({"ref": ref, "split": r["split"]})
                    elif h["label"] == r["label"]:
                        r.update(category=h.get("category", "hand"), labeled_by="hand")
                    else:
                        raise ValueError(f"hand label disagrees with the rule for {ref}: relabel it explicitly")
            for cid, i, text in cands:
                if (source, cid, i) in have or not trigger.search(text):
                    continue
                ref = {"source": source, "call_id": cid, "turn": i}
                h = hand.get((check, source, cid, i))
                if h is None:
                    missing.append({"ref": ref, "split": split_of(f"{source}:{cid}")})
                    continue
                rows.append({"ref": ref, "split": split_of(f"{source}:{cid}"), "label": h["label"],
                             "category": h.get("category", "hand"), "labeled_by": "hand"})
                have.add((source, cid, i))
        quota = ROUND2_QUOTA.get(check, {}).get(source, 0)
        if quota:
            rng.shuffle(cands)
            fresh = [c for c in cands if (source, c[0], c[1]) not in have and not TRIGGERS[check].search(c[2])]
            hard = [c for c in fresh if HARD[check].search(c[2])][: quota // 2]
            taken = {(c[0], c[1]) for c in hard}
            for cid, i, _ in hard + [c for c in fresh if (c[0], c[1]) not in taken][: quota - len(hard)]:
                rows.append({"ref": {"source": source, "call_id": cid, "turn": i}, "split": split_of(f"{source}:{cid}"),
                             "label": False, "category": f"{source}_benign", "labeled_by": "rule:benign_corpus"})
                have.add((source, cid, i))
    return missing


def materialize(row: dict[str, Any], size: int = WINDOW) -> list[tuple[str, str]] | None:
    """The row's window (oldest first, judged turn last), or None when its corpus is absent."""
    if "turns" in row and "ref" not in row:
        return [(r, t) for r, t in row["turns"]]
    ref = row["ref"]
    if not corpora.available(ref["source"]):
        return None
    if "frame" in row:
        return [(r, t) for r, t in row["frame"]] + [corpora.calls(ref["source"])[ref["call_id"]][ref["turn"]]]
    w = corpora.window(ref["source"], ref["call_id"], ref["turn"], size)
    if "wrap" in row:
        role, text = w[-1]
        w = [*w[:-1], (role, row["wrap"][0] + text.rstrip(".") + row["wrap"][1])]
    return w


def load(check: str, data_dir: Path = OUT, split: str | None = None) -> list[tuple[dict[str, Any], list]]:
    """[(row, window)] of a labeled set; rows whose corpus is absent are left out."""
    out = []
    for line in (data_dir / f"{check}.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if split is not None and r["split"] != split:
            continue
        w = materialize(r)
        if w is not None:
            out.append((r, w))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--review", help="write trigger hits without a hand label to this JSONL file")
    args = ap.parse_args(argv)
    out = Path(args.out)
    pending = []
    for check in CHECKS:
        rows, missing = build(check, out)
        (out / f"{check}.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        pos = sum(r["label"] for r in rows)
        by = {s: sum(r["split"] == s for r in rows) for s in ("train", "dev", "test")}
        print(f"{check}: {len(rows)} rows ({pos} positive), {by}, {len(missing)} awaiting a hand label")
        for m in missing:
            w = materialize(m)
            pending.append({"check": check, **m["ref"], "window": w})
    if args.review:
        Path(args.review).write_text("".join(json.dumps(p) + "\n" for p in pending))


if __name__ == "__main__":
    main()
