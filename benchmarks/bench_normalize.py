"""Micro-benchmark: ``normalize`` (current) vs the frozen reference in ``tests/normalize_reference.py``.

    .venv/bin/python benchmarks/bench_normalize.py [--calls N]

Prints µs per call (min over repeats) for representative sentences and the SGD agent-turn average.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import normalize_reference as ref  # noqa: E402

from trace_engine.text.normalize import normalize  # noqa: E402

SGD = Path("/work/shared/corpora/sgd_calls.jsonl")

SENTENCES = [
    ("prose", "Thanks for calling Acme, how can I help you today?"),
    (
        "prose long",
        "Your reservation at the restaurant is confirmed. Is there anything else I can help with?",
    ),
    ("contractions", "I'm sorry, I don't have that information, but I'll check and we'll call you back."),
    ("contractions 2", "That's great! It's booked, and you're all set. Let's get started."),
    ("time+price", "I booked 7:30 pm for $45 per person, is that okay?"),
    ("numbers", "The table is for 2 people on March 3rd at 11:30 am."),
    ("phone", "You can reach them at 415-555-0198 or (650) 555 1234."),
    ("spoken card", "Sure, it's four one one one, one one one one, double one, triple one one."),
    ("email", "Please send it to jane.doe@example.com and I'll confirm."),
    ("percent", "That's a 15% discount, so it comes to $12.99 total."),
]


def bench_pair(fns, texts: list[str], number: int, repeat: int) -> list[float]:
    """µs per call for each function; repeats are interleaved so load spikes on a shared machine hit both
    sides alike, and the min over repeats is reported."""

    def runner(fn):
        def run() -> None:
            for t in texts:
                fn(t)

        return run

    runs = [runner(fn) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, run in enumerate(runs):
            best[k] = min(best[k], timeit.timeit(run, number=number))
    return [b / number / len(texts) * 1e6 for b in best]


def sgd_agent_turns(calls: int) -> list[str]:
    out = []
    with SGD.open(encoding="utf-8") as f:
        for k, line in enumerate(f):
            if k >= calls:
                break
            for turn in json.loads(line)["transcript"]["turns"]:
                if turn["role"] == "assistant":
                    out.append(turn["text"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    print(f"{'case':<16}{'reference µs':>14}{'new µs':>10}{'speedup':>9}")
    rows = [(name, [s]) for name, s in SENTENCES]
    if SGD.exists():
        turns = sgd_agent_turns(args.calls)
        rows.append((f"SGD agent ({len(turns)})", turns))
    for name, texts in rows:
        number = max(1, 5000 // len(texts))
        r, n = bench_pair([ref.normalize, normalize], texts, number, args.repeat)
        print(f"{name:<16}{r:>14.2f}{n:>10.2f}{r / n:>8.2f}x")


if __name__ == "__main__":
    main()
