"""Evidence-log benchmark: append N synthetic scorecards, then verify the whole log. Prints JSON.

    .venv/bin/python benchmarks/bench_verify.py [--n 100000] [--batch 2000] [--db PATH]

Reports the append rate (scorecards/s through ``EvidenceLog.append_many``, one transaction per batch, with
RFC 8785 canonicalization, hashing, a signed checkpoint per batch and at every multiple of 256 records), the
``verify_db`` time (wall and CPU: on a shared machine quote CPU), the time of an ``exposure`` (rollup plus the
partial first hour) and of one page of ``list_interactions``, and the DB size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trace_engine.evidence.signing import SigningKey  # noqa: E402
from trace_engine.evidence.synthetic import synthetic_scorecard  # noqa: E402
from trace_engine.store.log import EvidenceLog  # noqa: E402
from trace_engine.store.reads import exposure, list_interactions  # noqa: E402
from trace_engine.store.verify import verify_db  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "bench.db"
    key = SigningKey.generate()

    t = time.perf_counter()
    cards = [synthetic_scorecard(i, "bench") for i in range(args.n)]
    gen_s = time.perf_counter() - t

    log = EvidenceLog(db, key)
    t, c = time.perf_counter(), time.process_time()
    log.append_many(cards, batch_size=args.batch)
    log.close()
    append_s, append_cpu = time.perf_counter() - t, time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    rep = verify_db(db, pubkey=key.verifier)
    verify_s, verify_cpu = time.perf_counter() - t, time.process_time() - c

    now = cards[-1].scored_at + 1
    t = time.perf_counter()
    exp = exposure(db, "bench", window_days=365, now_ms=now)
    exposure_s = time.perf_counter() - t
    t = time.perf_counter()
    list_interactions(db, "bench", verdict="FAIL", limit=100)
    list_s = time.perf_counter() - t

    out = {
        "n": args.n,
        "batch": args.batch,
        "generate_s": round(gen_s, 3),
        "append_s": round(append_s, 3),
        "append_per_s": round(args.n / append_s),
        "append_cpu_s": round(append_cpu, 3),
        "verify_s": round(verify_s, 3),
        "verify_per_s": round(args.n / verify_s),
        "verify_cpu_s": round(verify_cpu, 3),
        "verify_ok": rep.ok,
        "checkpoints": next((t["checkpoints"] for t in rep.tenants if t["tenant"] == "bench"), 0),
        "exposure_ms": round(exposure_s * 1000, 1),
        "exposure_scanned": exp["interactions_scanned"],
        "list_interactions_ms": round(list_s * 1000, 1),
        "db_mb": round(os.path.getsize(db) / 1e6, 1),
        "loadavg_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(out, indent=2))
    tmp.cleanup()


if __name__ == "__main__":
    main()
