"""The text layer's cost per turn: the native ``trace_engine.text`` vs the frozen Python reference
(``tests/reference_gate/text``), on the SGD agent turns and a few representative sentences.

    .venv/bin/python benchmarks/bench_normalize.py                       # 20,000 SGD agent turns, 5 rounds
    .venv/bin/python benchmarks/bench_normalize.py --turns 2000 --rounds 3 --format json

Two operations per side, each timed alone on every turn:

* ``normalize``: the normalized view with its tokens (the native view builds its Python token list lazily, so
  the timed call reads ``.tokens``, as the matcher does);
* ``text layer``: ``normalize`` then ``detect_all`` over every detector (one finding per value), what a turn costs
  when the prefilter lets it through and every detector is enabled.

Timing follows the project's rule (docs/quality.md, GUIDE): same process, interleaved per item (for each turn, each
round runs the reference then the native side, so a preemption hits one sample, not one side), and per item the min
over the rounds (``*_min_us``), which removes preemption noise; raw percentiles over every sample are reported too.
Ratios are reference over native. ``time.perf_counter_ns`` around a single call; its own cost (~0.05 µs) is in
both sides.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import trace_engine.text as live  # noqa: E402
from trace_engine.gate.scoring import percentile  # noqa: E402
from trace_engine.shared_data import shared_dir  # noqa: E402

ref = importlib.import_module("reference_gate.text")

SHARED = shared_dir()
SGD = SHARED / "corpora" / "sgd_calls.jsonl"

SENTENCES = [
    ("prose", "Thanks for calling Acme, how can I help you today?"),
    ("contractions", "I'm sorry, I don't have that information, but I'll check and we'll call you back."),
    ("time+price", "I booked 7:30 pm for $45 per person, is that okay?"),
    ("phone", "You can reach them at 415-555-0198 or (650) 555 1234."),
    ("spoken card", "Sure, it's four one one one, one one one one, double one, triple one one."),
    ("email", "Please send it to jane.doe@example.com and I'll confirm."),
]


def _normalize(mod: Any) -> Callable[[str], object]:
    def run(text: str) -> object:
        return mod.normalize(text).tokens

    return run


def _text_layer(mod: Any) -> Callable[[str], object]:
    def run(text: str) -> object:
        nt = mod.normalize(text)
        nt.tokens  # noqa: B018 - the view as the matcher reads it
        return mod.detect_all(nt)

    return run


OPERATIONS = {
    "normalize": (_normalize(ref), _normalize(live)),
    "text_layer": (_text_layer(ref), _text_layer(live)),
}


def sgd_agent_turns(limit: int) -> list[str]:
    """The first ``limit`` agent turns of the SGD corpus (``trace bench`` reads the same ones)."""
    out: list[str] = []
    with SGD.open(encoding="utf-8") as f:
        for line in f:
            for turn in json.loads(line)["transcript"]["turns"]:
                if turn["role"] in ("assistant", "agent"):
                    out.append(turn["text"])
                    if len(out) >= limit:
                        return out
    return out


def interleaved(pair: tuple[Callable[[str], object], Callable[[str], object]], texts: list[str], rounds: int) -> dict:
    """Per text, ``rounds`` alternating samples of each side: every raw sample and the per-text minimum (ns)."""
    clock = time.perf_counter_ns
    raw: tuple[list[int], list[int]] = ([], [])
    mins: tuple[list[int], list[int]] = ([], [])
    for text in texts:
        pair[0](text), pair[1](text)  # warm caches (the reference's lru caches, lazy tables) outside the samples
        best = [1 << 62, 1 << 62]
        for _ in range(rounds):
            for side in (0, 1):
                fn = pair[side]
                t0 = clock()
                fn(text)
                dt = clock() - t0
                raw[side].append(dt)
                if dt < best[side]:
                    best[side] = dt
        mins[0].append(best[0])
        mins[1].append(best[1])
    out: dict[str, Any] = {}
    for side, name in ((0, "reference"), (1, "native")):
        r = sorted(ns / 1000 for ns in raw[side])
        m = sorted(ns / 1000 for ns in mins[side])
        out[name] = {
            "p50_us": round(percentile(r, 0.50) or 0.0, 3),
            "p99_us": round(percentile(r, 0.99) or 0.0, 3),
            "p50_min_us": round(percentile(m, 0.50) or 0.0, 3),
            "p99_min_us": round(percentile(m, 0.99) or 0.0, 3),
            "mean_min_us": round(sum(m) / len(m), 3),
        }
    for key in ("p50_min_us", "p99_min_us", "mean_min_us"):
        out[f"ratio_{key}"] = round(out["reference"][key] / max(out["native"][key], 1e-9), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=20_000, help="SGD agent turns (default 20,000)")
    ap.add_argument("--rounds", type=int, default=5, help="samples per turn and side; the min is kept (default 5)")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    args = ap.parse_args(argv)
    report: dict[str, Any] = {"rounds": args.rounds, "sentences": {}}
    for name, text in SENTENCES:
        report["sentences"][name] = {op: interleaved(pair, [text], args.rounds * 20) for op, pair in OPERATIONS.items()}
    if SGD.exists():
        turns = sgd_agent_turns(args.turns)
        report["sgd_agent_turns"] = len(turns)
        report["sgd"] = {op: interleaved(pair, turns, args.rounds) for op, pair in OPERATIONS.items()}
    if args.format == "json":
        print(json.dumps(report))
        return 0
    print(f"{'case':<22}{'operation':<12}{'ref p50/p99 min µs':>22}{'native p50/p99 min µs':>24}{'ratio p50/p99':>15}")
    rows = [(name, ops) for name, ops in report["sentences"].items()]
    if "sgd" in report:
        rows.append((f"SGD agent ({report['sgd_agent_turns']})", report["sgd"]))
    for name, ops in rows:
        for op, r in ops.items():
            a, b = r["reference"], r["native"]
            print(
                f"{name:<22}{op:<12}{a['p50_min_us']:>11.2f} /{a['p99_min_us']:>8.2f}"
                f"{b['p50_min_us']:>13.2f} /{b['p99_min_us']:>8.2f}"
                f"{r['ratio_p50_min_us']:>8.1f}× /{r['ratio_p99_min_us']:>5.1f}×"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
