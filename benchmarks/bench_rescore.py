"""Re-scoring throughput (issue 5): turns per second including hashing, signing and SQLite writes. Prints JSON.

    python benchmarks/bench_rescore.py [--calls 4000] [--workers 1 2]

Reads ``../shared/corpora/sgd_calls.jsonl`` when present (else ``corpora/``), writes the first --calls calls to a
temporary JSONL file, and re-scores it into a fresh database once per worker count, with the default config of
``trace rescore`` (the four built-in packs, warn mode).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trace_engine.rescore import rescore  # noqa: E402

SGD = REPO.parent / "shared" / "corpora" / "sgd_calls.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    source = SGD if SGD.exists() else REPO / "corpora" / "taskmaster_sample.jsonl"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.jsonl"
        with open(source, encoding="utf-8") as src, open(sample, "w", encoding="utf-8") as dst:
            dst.writelines(itertools.islice(src, args.calls))
        for workers in args.workers:
            db = Path(tmp) / f"w{workers}.db"
            started = time.perf_counter()
            summary = rescore([str(sample)], db=str(db), workers=workers)
            elapsed = time.perf_counter() - started
            results.append(
                {
                    "workers": workers,
                    "calls": summary.scored,
                    "turns": summary.turns,
                    "seconds": round(elapsed, 2),
                    "calls_per_s": round(summary.scored / elapsed, 1),
                    "turns_per_s": round(summary.turns / elapsed, 1),
                }
            )
    print(json.dumps({"source": str(source), "results": results}, indent=2))


if __name__ == "__main__":
    main()
