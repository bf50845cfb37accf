"""schemathesis over the served OpenAPI 3.1 document with every check, against a real ``trace serve`` on loopback.

    .venv/bin/python benchmarks/fuzz_api.py [--max-examples 100] [--phases examples,coverage,fuzzing,stateful]
                                            [--workers 1] [--seed 1]

1. A store of 60 scored calls (two tenants) and Tier-2 findings, an API key with ``trace:*``.
2. ``trace serve`` on 127.0.0.1 with rate limits high enough that the run exercises the operations, not the
   limiter (the limiter has its own tests), and a short compile budget.
3. ``schemathesis run <url>/openapi.json --checks all`` with the key, ``benchmarks/schemathesis.toml`` (one
   documented exception: 400 is an expected answer to a schema-valid rule-pack upload that does not compile).

Prints the summary and a JSON line ``{"failures": N, "errors": N, "operations": N, "seconds": S, ...}``; exits with
schemathesis's exit code (0: no failures). ``tests/test_api_fuzz.py`` runs it with a small ``--max-examples``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HERE = Path(__file__).resolve().parent


def build_store(db: Path) -> str:
    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db
    from trace_engine.evidence.synthetic import synthetic_scorecard
    from trace_engine.store.log import EvidenceLog

    base = int(time.time() * 1000) - 86_400_000
    with EvidenceLog(db) as log:
        cards = [synthetic_scorecard(i, "fuzz", base_ms=base) for i in range(60)]
        log.append_many(cards)
        log.append_many([synthetic_scorecard(i, "other", base_ms=base, seed=3) for i in range(10)])
        for i, c in enumerate(cards[:8]):
            log.add_tier2_finding(
                "fuzz",
                {
                    "interaction_id": c.call_id,
                    "check_id": "hallucination",
                    "severity": "critical" if i % 2 else "high",
                    "verdict": "concern",
                    "confidence": 0.5,
                    "action": "escalate" if i % 3 == 0 else "flag",
                    "speaker": "agent",
                    "reason": "r",
                    "at_t": 1.0,
                    "tier": 2,
                },
            )
    conn = open_db(str(db))
    key = create_key(conn, "fuzz", "trace:*")[0]
    conn.close()
    return key


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-examples", type=int, default=100)
    ap.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    ap.add_argument("--workers", default="1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-time", type=int, default=None, help="seconds for the whole run")
    args = ap.parse_args(argv)

    from trace_engine.api.testing import running_server

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        key = build_store(d / "trace.db")
        serve = ["--rate-limit", "10000", "--rate-burst", "10000", "--upload-rate", "10000", "--upload-burst", "10000",
                 "--tenant-compiles", "8", "--compile-queue", "16", "--compile-seconds", "20"]
        with running_server(d / "trace.db", d / "server.log", log_level="warning", args=serve) as srv:
            cmd = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file", str(HERE / "schemathesis.toml"),
                "run",
                f"{srv.url}/openapi.json",
                "--checks", "all",
                "-H", f"Authorization: Bearer {key}",
                "--max-examples", str(args.max_examples),
                "--phases", args.phases,
                "--workers", args.workers,
                "--seed", str(args.seed),
                "--request-timeout", "120",
                "--suppress-health-check", "all",
            ]
            if args.max_time:
                cmd += ["--max-time", str(args.max_time)]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            out = proc.stdout + proc.stderr
            sys.stdout.write(out)
            log_text = srv.log_text()
    last = [line for line in out.splitlines() if line.startswith("=") and " in " in line]
    tail = last[-1] if last else ""
    failures = re.search(r"(\d+) failures?", tail)
    errors = re.search(r"(\d+) errors?", tail)
    summary = {
        "exit_code": proc.returncode,
        "failures": int(failures.group(1)) if failures else 0,
        "errors": int(errors.group(1)) if errors else 0,
        "seconds": round(seconds, 1),
        "max_examples": args.max_examples,
        "phases": args.phases,
        "server_tracebacks": log_text.count("Traceback"),
        "server_key_leaks": log_text.count(key),
    }
    print(json.dumps(summary))
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
