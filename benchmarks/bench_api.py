"""HTTP API load benchmark on loopback: a store of N scored calls, then a bounded load run. Prints JSON.

    .venv/bin/python benchmarks/bench_api.py [--n 100000] [--db PATH] [--duration 40] [--threads 4]
    .venv/bin/python benchmarks/bench_api.py --abuse [--n 20000] [--rounds 2] [--phase-seconds 20]

``--abuse`` is the upload-flood benchmark (:mod:`bench_api_abuse`): a victim tenant's read latency while other
tenants flood the server with rule-pack uploads, as a ratio to its idle latency, and whether the server lived.

1. Store: N synthetic scorecards (``trace_engine.evidence.synthetic``) appended through ``EvidenceLog.append_many``
   in batches, spread over the last ~20 days so the default 30-day exposure window covers all of them. An
   existing ``--db`` that already holds N calls for the tenant is reused (generation is the slow part).
2. Server: ``trace serve`` in a subprocess on 127.0.0.1 (a free port), one API key.
3. Load: ``--threads`` client threads with keep-alive ``httpx`` clients, for ``--duration`` seconds in total,
   split evenly over four phases: interactions list pages (first pages with and without filters, and deep pages
   through cursors), the interaction detail view (random calls), exposure (random ``window_days``, so most calls
   hit different windows) and exposure with ``window_days=30``. Each phase reports requests/s, p50/p95/p99/max
   latency (ms, client-side: request sent to response parsed) and errors, and the server's own time per request
   (``server_p50_ms`` / ``server_p99_ms``, from the ``Server-Timing`` header: routing, auth, query, JSON). The in-process cold cost of an exposure over the whole store (no HTTP, no cache) is
   reported too, for the store's own aggregate and the API's rollup.

``wrk`` is not needed: the load client is the standard library's ``http.client`` (one keep-alive connection per
thread), which is light enough that the client-side numbers are mostly the server's; they still include the
client's share of the CPU on a shared machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trace_engine.evidence.synthetic import synthetic_scorecard  # noqa: E402
from trace_engine.stats import percentile  # noqa: E402

TENANT = "bench"
DAY_MS = 86_400_000


def build_store(db: Path, n: int, batch: int) -> dict:
    from trace_engine.store.log import EvidenceLog

    if db.exists():
        conn = sqlite3.connect(db)
        have = conn.execute("SELECT count(*) FROM scorecards WHERE tenant = ?", (TENANT,)).fetchone()[0]
        conn.close()
        if have >= n:
            return {"reused": True, "calls": have}
    now = int(time.time() * 1000)
    span_ms = 20 * DAY_MS
    step = max(1, span_ms // n)
    base = now - span_ms
    t0 = time.perf_counter()
    with EvidenceLog(db) as log:
        start = log.size(TENANT)
        for lo in range(start, n, batch):
            cards = []
            for i in range(lo, min(n, lo + batch)):
                sc = synthetic_scorecard(i, TENANT, base_ms=base)
                sc.scored_at = base + i * step
                cards.append(sc)
            log.append_many(cards, batch_size=batch)
            print(f"stored {min(n, lo + batch)}/{n}", file=sys.stderr, flush=True)
    return {"reused": False, "calls": n, "append_s": round(time.perf_counter() - t0, 1)}


def pct(xs: list[float], p: float) -> float | None:
    v = percentile(xs, p)
    return None if v is None else round(v, 2)


def run_phase(url: str, key: str, threads: int, seconds: float, make_request) -> dict:
    lat: list[list[float]] = [[] for _ in range(threads)]
    app: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    stop = time.monotonic() + seconds

    host, port = url.removeprefix("http://").split(":")
    auth = {"Authorization": f"Bearer {key}"}

    def worker(i: int) -> None:
        # stdlib keep-alive connection: a light client, so the numbers are mostly the server's
        rng = random.Random(i)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        state: dict = {}
        while time.monotonic() < stop:
            path, params = make_request(rng, state)
            target = path + ("?" + urlencode(params) if params else "")
            t = time.perf_counter()
            try:
                conn.request("GET", target, headers=auth)
                r = conn.getresponse()
                data = r.read()
                ok = r.status == 200
                body = json.loads(data) if ok else None
                timing = r.getheader("server-timing") or ""
            except (OSError, http.client.HTTPException, ValueError):
                ok, body, timing = False, None, ""
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            lat[i].append((time.perf_counter() - t) * 1000)
            if ok and "dur=" in timing:
                app[i].append(float(timing.split("dur=", 1)[1].split(",")[0]))
            if not ok:
                errors[i] += 1
            elif isinstance(body, dict) and "next_cursor" in body:
                state["cursor"] = body["next_cursor"] if rng.random() < 0.8 else None
        conn.close()

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    all_lat = [x for xs in lat for x in xs]
    all_app = [x for xs in app for x in xs]
    return {
        "requests": len(all_lat),
        "rps": round(len(all_lat) / elapsed, 1),
        "p50_ms": pct(all_lat, 50),
        "p95_ms": pct(all_lat, 95),
        "p99_ms": pct(all_lat, 99),
        "max_ms": round(max(all_lat), 2) if all_lat else None,
        "mean_ms": round(statistics.fmean(all_lat), 2) if all_lat else None,
        "errors": sum(errors),
        "server_p50_ms": pct(all_app, 50),
        "server_p99_ms": pct(all_app, 99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--db", default=None, help="reuse or create this store (default: a temporary one)")
    ap.add_argument("--duration", type=float, default=40.0, help="total seconds of load, over all phases")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--abuse", action="store_true", help="upload-flood mode (see benchmarks/bench_api_abuse.py)")
    ap.add_argument("--rounds", type=int, default=2, help="--abuse: idle/flood rounds")
    ap.add_argument("--phase-seconds", type=float, default=20.0, help="--abuse: seconds per phase")
    ap.add_argument("--read-rps", type=float, default=40.0, help="--abuse: the victim's paced read rate")
    ap.add_argument(
        "--phases", default="interactions_list,interaction_detail,exposure_random_window,exposure_30d"
    )
    args = ap.parse_args()
    if args.abuse:
        from bench_api_abuse import run_abuse  # noqa: I001 - benchmarks/ is on sys.path when run as a script

        print(json.dumps(run_abuse(args), indent=2))
        return
    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "bench.db"
    store = build_store(db, args.n, args.batch)
    if args.generate_only:
        print(json.dumps({"store": store}, indent=2))
        return

    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db
    from trace_engine.api.testing import running_server
    from trace_engine.api.views import exposure_rollup
    from trace_engine.store import reads

    conn = open_db(str(db))
    key = create_key(conn, TENANT, "trace:read", "bench_api")[0]
    raw = sqlite3.connect(db)
    call_ids = [
        r[0]
        for r in raw.execute(
            "SELECT call_id FROM scorecards WHERE tenant = ? ORDER BY random() LIMIT 5000", (TENANT,)
        )
    ]
    raw.close()
    cold: dict = {}
    t = time.perf_counter()
    ref = reads.exposure(conn, TENANT, 30)
    cold["store_exposure_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t = time.perf_counter()
    got = exposure_rollup(conn, TENANT, 30)  # first call catches the rollup up over the whole store
    cold["rollup_catch_up_ms"] = round((time.perf_counter() - t) * 1000, 1)
    samples = []
    for w in (1, 7, 30, 90, 365):
        t = time.perf_counter()
        exposure_rollup(conn, TENANT, w)
        samples.append((time.perf_counter() - t) * 1000)
    cold["rollup_exposure_ms"] = {"max": round(max(samples), 2), "mean": round(statistics.fmean(samples), 2)}
    cold["rollup_equals_store"] = got == ref
    conn.close()

    phase_s = args.duration / 4
    agents = [f"agent-{i}" for i in range(5)]

    def interactions(rng: random.Random, state: dict):
        # a first page (no filter, a verdict or an agent), or the next page of the previous list (80%)
        if state.get("cursor") and state.get("params"):
            return "/v1/trace/interactions", {**state["params"], "cursor": state["cursor"]}
        params: dict = {"limit": 20}
        r = rng.random()
        if r < 0.4:
            params["verdict"] = rng.choice(("PASS", "WARN", "FAIL"))
        elif r < 0.7:
            params["agent_id"] = rng.choice(agents)
        state["params"] = params
        return "/v1/trace/interactions", params

    def detail(rng: random.Random, state: dict):
        return f"/v1/trace/interactions/{rng.choice(call_ids)}", {}

    def exposure_random(rng: random.Random, state: dict):
        return "/v1/trace/exposure", {"window_days": rng.randint(1, 365)}

    def exposure_30(rng: random.Random, state: dict):
        return "/v1/trace/exposure", {}

    with tempfile.TemporaryDirectory() as logdir:
        # a load test of the read path: the per-key rate limit is off here (``--abuse`` runs with limits on)
        with running_server(db, Path(logdir) / "server.log", log_level="warning", args=["--rate-limit", "0"]) as srv:
            warm = run_phase(srv.url, key, 1, 1.0, interactions)  # noqa: F841 - warm the server's connections
            phases = {
                "interactions_list": interactions,
                "interaction_detail": detail,
                "exposure_random_window": exposure_random,
                "exposure_30d": exposure_30,
            }
            chosen = [p for p in args.phases.split(",") if p in phases]
            phase_s = args.duration / max(1, len(chosen))
            results = {name: run_phase(srv.url, key, args.threads, phase_s, phases[name]) for name in chosen}
    print(
        json.dumps(
            {
                "store": store,
                "calls": args.n,
                "threads": args.threads,
                "seconds_per_phase": phase_s,
                "in_process": cold,
                "http": results,
                "goals": {
                    "exposure_under_100ms": all(
                        (results[k]["p99_ms"] or 1e9) < 100
                        for k in ("exposure_random_window", "exposure_30d")
                        if k in results
                    ),
                    "list_p99_under_20ms": (results.get("interactions_list", {}).get("p99_ms") or 1e9) < 20,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
