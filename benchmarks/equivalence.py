"""The native gate against the frozen Python gate (``tests/reference_gate``), turn by turn, on whole corpora.

For every call of each corpus, in every mode, under several configs and call-fact variants, both gates replay the
call; every agent turn's decision (action, text, findings) and the final scorecard (minus timing) must be equal,
and so must the states the call ends with. Prints one line per corpus and mode and the first differences found;
exits 1 on any difference.

    .venv/bin/python benchmarks/equivalence.py                   # SGD, Taskmaster, MTS-Dialog, demo
    .venv/bin/python benchmarks/equivalence.py --corpus corpora/outbound_calls.jsonl --limit 200
    .venv/bin/python benchmarks/equivalence.py --streams          # also: streamed turns at random splits
    .venv/bin/python benchmarks/equivalence.py --non-ascii        # the turns written as a language model may

``--non-ascii`` rewrites every turn of every call the way a language model writes (``benchmarks/as_written.py``): curly
apostrophes and quotes, em dashes, ellipses, accented words, spaces only Python calls whitespace. The corpora have
almost none (35 of 169,487 agent turns), and the code that handles such text is the least exercised.

The test suite runs a bounded sample of the same comparison (``tests/test_reference_gate.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from gate_equivalence import CORPORA, FACT_VARIANTS, MODES, configs, first_difference, replay  # noqa: E402

from benchmarks.as_written import as_written  # noqa: E402


def compare_chunk(args: tuple[str, str, int, int, bool, bool]) -> tuple[int, int, list[str]]:
    from reference_gate.gate.engine import Engine as ReferenceEngine

    from trace_engine import Engine
    from trace_engine.transcripts import load_transcripts

    path, mode, start, stop, streams, non_ascii = args
    calls = [c for i, c in enumerate(load_transcripts(path)) if start <= i < stop]
    if non_ascii:
        for call in calls:
            rng = random.Random(f"as-written:{call.call_id}")
            call.turns = [(role, as_written(text, rng), t) for role, text, t in call.turns]
    pairs = [(Engine.from_config(cfg), ReferenceEngine.from_config(cfg)) for cfg in configs(mode)]
    turns = differences = 0
    report: list[str] = []
    for i, call in enumerate(calls, start=start):
        facts = FACT_VARIANTS[i % len(FACT_VARIANTS)]
        for k, (live, ref) in enumerate(pairs):
            seed = random.Random(f"{path}:{i}:{mode}:{k}") if streams else None
            a = replay(live, call, facts, seed)
            b = replay(ref, call, facts, random.Random(f"{path}:{i}:{mode}:{k}") if streams else None)
            turns += len(a[0])
            if json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
                differences += 1
                if len(report) < 5:
                    report.append(f"{call.call_id} (config {k}, facts {i % len(FACT_VARIANTS)}): {first_difference(a, b)}")
    return turns, differences, report


def count_calls(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", help="a corpus file (repeatable; default: all known)")
    parser.add_argument("--mode", action="append", choices=MODES)
    parser.add_argument("--limit", type=int, default=0, help="calls per corpus (0: all)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many calls of each corpus first")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--streams", action="store_true", help="stream about a third of the agent turns")
    parser.add_argument("--non-ascii", action="store_true", help="write the turns as a language model may (see above)")
    args = parser.parse_args()
    # the default: every known corpus there is, saying which are not (a sweep must not pass on less than asked)
    corpora = args.corpus or [str(p) for p in CORPORA.values() if p.exists()]
    if not args.corpus:
        for p in CORPORA.values():
            if not p.exists():
                print(f"{p} not found, not compared (set TRACE_SHARED_DIR)", file=sys.stderr)
    failed = False
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for path in corpora:
            total = count_calls(path)
            first = min(total, args.offset)
            n = min(total, first + args.limit) if args.limit else total
            step = max(1, (n - first) // (args.workers * 8))
            for mode in args.mode or MODES:
                chunks = [(path, mode, s, min(s + step, n), args.streams, args.non_ascii) for s in range(first, n, step)]
                turns = diffs = 0
                reports: list[str] = []
                for t, d, r in pool.map(compare_chunk, chunks):
                    turns, diffs = turns + t, diffs + d
                    reports.extend(r)
                print(f"{Path(path).name:28} {mode:14} calls {n - first:6}  agent turns compared {turns:8}  differing calls {diffs}")
                for line in reports[:5]:
                    print("   ", line)
                failed = failed or diffs > 0
                sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
