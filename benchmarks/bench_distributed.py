"""Beyond one machine, measured: PostgreSQL appends per second (one tenant, one tenant shared by many writers, many
tenants at once) and ``trace rescore`` turns per second on the local engine and on Ray.

    .ci/with-postgres --durable .venv/bin/python benchmarks/bench_distributed.py appends [--records N] [--batch B]
    .venv/bin/python benchmarks/bench_distributed.py rescore --address HOST:PORT [--calls N] [--runs R]

``appends`` needs ``TRACE_TEST_PG_URL`` (``.ci/with-postgres`` sets it; ``--durable``: fsync on, as a real
server). Writers are processes, each with its own connection pool, released together from a start line; the
figure is records committed (each batch signed) over the wall time from the start line to the last commit.

``rescore`` scores the first ``--calls`` calls of the SGD corpus (``../shared/corpora/sgd_calls.jsonl``) into a
fresh SQLite file per run: the local engine with 1 and 2 processes, and Ray with 1 and 2 shards at once on the
cluster at ``--address``; runs interleaved per engine, wall time of the whole run (start-up included), best of
``--runs`` reported with every run listed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from trace_engine.shared_data import shared_corpus

REPO = Path(__file__).resolve().parents[1]
SGD = shared_corpus("sgd_calls.jsonl")

WRITER = r"""
import sys, time
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog
url, keyfile, tenant, first, count, batch, start_at = sys.argv[1:8]
first, count, batch, start_at = int(first), int(count), int(batch), float(start_at)
log = EvidenceLog(url, keyfile)
log.size(tenant)
cards = [synthetic_scorecard(i, tenant) for i in range(first, first + count)]
while time.time() < start_at:
    time.sleep(0.001)
log.append_many(cards, batch_size=batch)
print(time.time())
log.close()
"""


def _schema_url(base: str) -> tuple[str, str]:
    import psycopg

    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options={quote('-csearch_path=' + schema)}"


def appends(args: argparse.Namespace) -> dict:
    import psycopg

    from trace_engine.evidence.signing import SigningKey
    from trace_engine.store import open_store

    base = os.environ.get("TRACE_TEST_PG_URL")
    if not base:
        sys.exit("appends: set TRACE_TEST_PG_URL (run under .ci/with-postgres --durable)")
    key = SigningKey.generate()
    tmp = Path(tempfile.mkdtemp())
    keyfile = tmp / "k.key"
    keyfile.write_text(key.encode())
    scenarios = {
        "1 tenant, 1 writer": (1, 1),
        "1 tenant, 8 writers": (1, 8),
        "8 tenants, 8 writers (one each)": (8, 8),
    }
    out: dict = {"records_per_writer": args.records, "batch": args.batch, "durable": args.durable, "runs": {}}
    for _run in range(args.runs):
        for name, (tenants, writers) in scenarios.items():
            schema, url = _schema_url(base)
            open_store(url, migrate=True).close()
            per = args.records // writers  # the same total in every scenario
            start_at = time.time() + 4
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, url, str(keyfile), f"t{w % tenants}", str(w * per), str(per),
                     str(args.batch), str(start_at)],
                    stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                )
                for w in range(writers)
            ]
            ends = []
            for p in procs:
                stdout, _ = p.communicate(timeout=900)
                if p.returncode != 0:
                    sys.exit(f"a writer failed ({name})")
                ends.append(float(stdout.strip().splitlines()[-1]))
            total = per * writers
            seconds = max(ends) - start_at
            out["runs"].setdefault(name, []).append(round(total / seconds))
            with psycopg.connect(base, autocommit=True) as c:
                c.execute(f"DROP SCHEMA {schema} CASCADE")
    out["best"] = {k: max(v) for k, v in out["runs"].items()}
    return out


def rescore_bench(args: argparse.Namespace) -> dict:
    if not SGD.exists():
        sys.exit(f"rescore: {SGD} not found")
    tmp = Path(tempfile.mkdtemp())
    corpus = tmp / "calls.jsonl"
    with SGD.open() as src, corpus.open("w") as dst:
        for i, line in enumerate(src):
            if i >= args.calls:
                break
            dst.write(line)
    engines = {
        "local, 1 process": ["--workers", "1"],
        "local, 2 processes": ["--workers", "2"],
        "ray, 1 worker": ["--engine", "ray", "--address", args.address, "--workers", "1"],
        "ray, 2 workers": ["--engine", "ray", "--address", args.address, "--workers", "2"],
    }
    runs: dict[str, list[float]] = {}
    cpu_us: dict[str, list[float]] = {}
    turns = 0
    for run in range(args.runs):
        for name, extra in engines.items():
            db = tmp / f"{run}-{name.replace(' ', '_').replace(',', '')}.db"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            r = subprocess.run(
                [sys.executable, "-m", "trace_engine", "rescore", str(corpus), "--db", str(db), "--format", "json",
                 *extra],
                capture_output=True, text=True, cwd=REPO,
            )
            seconds = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r.returncode not in (0, 3):
                sys.exit(f"{name}: exit {r.returncode}: {r.stderr[-2000:]}")
            turns = json.loads(r.stdout)["turns"]
            runs.setdefault(name, []).append(round(turns / seconds))
            # CPU of `trace rescore` and its own children (the local pool; Ray's workers are the raylet's, so on
            # Ray this is the sequencer alone)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            cpu_us.setdefault(name, []).append(round(cpu / turns * 1e6, 1))
    return {
        "calls": args.calls, "turns": turns, "turns_per_s": runs, "best": {k: max(v) for k, v in runs.items()},
        "cpu_us_per_turn_of_the_trace_process": cpu_us,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    a = sub.add_parser("appends")
    a.add_argument("--records", type=int, default=8000, help="records per scenario (split among its writers)")
    a.add_argument("--batch", type=int, default=256)
    a.add_argument("--runs", type=int, default=2)
    a.add_argument("--durable", action="store_true", help="label only: say the server runs with fsync on")
    r = sub.add_parser("rescore")
    r.add_argument("--address", required=True)
    r.add_argument("--calls", type=int, default=3000)
    r.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    result = appends(args) if args.what == "appends" else rescore_bench(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
