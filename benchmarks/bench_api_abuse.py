"""``bench_api.py --abuse``: does one tenant's upload flood slow another tenant's reads, or kill the server?

1. A store of ``--n`` scored calls for the victim tenant (``bench``), reused like ``bench_api.py``'s.
2. ``trace serve`` with its default protections (per-key rate limits, upload buckets, one compiler process with a
   30 s budget and a queue of 4), except that the per-key read limit is raised to 1000/s so the victim's paced
   reads are never the ones throttled.
3. Rounds of two phases, interleaved: **idle** (only the victim reads) and **flood** (the victim reads while three
   attacker tenants with two keys each upload, back to back: 7,000-rule packs (1.3 MB, seconds of compiling each),
   packs with a 300,000-word phrase, 2 MB of nesting, duplicate versions; and an anonymous client streams 64 MB
   bodies at the upload endpoint).
4. The victim reads at a fixed pace (``--read-rps``, open loop: a slow response does not slow the schedule):
   interaction pages, interaction details and violation pages, one keep-alive connection per reader thread.

Prints JSON: per phase kind, the victim's latency percentiles (ms, client side) over all rounds, the best
(lowest) p99 of any round, errors, the attackers' status counts, whether ``/healthz`` answered after every
round, and ``p99_ratio`` = flood p99 / idle p99 (the goal is at most 2).
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_api import TENANT, build_store, pct


def _rule(i: int, phrases: list[str]) -> dict:
    return {
        "id": f"r-{i}",
        "title": "t",
        "severity": "high",
        "citation": "c",
        "reason": "r",
        "checks": [{"kind": "must_not_say", "match": {"phrases": phrases}}],
    }


def attack_bodies() -> list[tuple[str, bytes]]:
    """(label, body) of the uploads an attacker cycles through (versions are made unique per request)."""
    slow = {"pack_id": "flood", "version": "@", "rules": [_rule(i, [f"forbidden phrase number {i}", f"bad {i}"]) for i in range(7000)]}
    huge = {"pack_id": "huge", "version": "@", "rules": [_rule(1, [" ".join("ab" for _ in range(300_000))])]}
    nested = json.dumps({"pack_id": "deep", "version": "@", "rules": [_rule(1, ["x"])], "description": 0})
    nested = nested.replace('"description": 0', '"description": ' + "[" * 5000 + "1" + "]" * 5000)
    dup = {"pack_id": "flood", "version": "dup", "rules": slow["rules"]}
    return [
        ("slow_7000_rules", json.dumps(slow).encode()),
        ("phrase_300000_words", json.dumps(huge).encode()),
        ("nesting_5000", nested.encode()),
        ("duplicate_version", json.dumps(dup).encode()),
    ]


def _connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=120)


def attacker(url: str, key: str, stop: threading.Event, counts: Counter, seed: int) -> None:
    bodies = attack_bodies()
    rng = random.Random(seed)
    conn = _connect(url)
    n = 0
    while not stop.is_set():
        label, body = bodies[n % len(bodies)]
        n += 1
        if label != "duplicate_version":
            body = body.replace(b'"version": "@"', f'"version": "{seed}.{n}.{rng.random()}"'.encode(), 1)
        try:
            conn.request(
                "POST",
                "/v1/trace/rule-packs",
                body=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            r = conn.getresponse()
            r.read()
            counts[f"{label}:{r.status}"] += 1
            if r.status == 429:
                stop.wait(min(5.0, float(r.getheader("retry-after") or 1)))
        except (OSError, http.client.HTTPException):
            counts[f"{label}:connection_error"] += 1
            conn.close()
            conn = _connect(url)
            stop.wait(0.2)
    conn.close()


def anonymous_bodies(url: str, stop: threading.Event, counts: Counter) -> None:
    chunk = b" " * (1 << 20)
    while not stop.is_set():
        conn = _connect(url)
        try:
            conn.putrequest("POST", "/v1/trace/rule-packs")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(64 << 20))
            conn.endheaders()
            for _ in range(64):
                conn.send(chunk)
            r = conn.getresponse()
            r.read()
            counts[f"anonymous_64MB:{r.status}"] += 1
        except (OSError, http.client.HTTPException):
            counts["anonymous_64MB:closed_early"] += 1  # the server answered 401 and closed mid-body
        finally:
            conn.close()
        stop.wait(0.5)


def victim(url: str, key: str, rps: float, seconds: float, call_ids: list[str], seed: int) -> tuple[list[float], int]:
    rng = random.Random(seed)
    conn = _connect(url)
    lat: list[float] = []
    errors = 0
    start = time.perf_counter()
    n = 0
    headers = {"Authorization": f"Bearer {key}"}
    while True:
        due = start + n / rps
        now = time.perf_counter()
        if due - start > seconds:
            break
        if due > now:
            time.sleep(due - now)
        n += 1
        r = rng.random()
        if r < 0.4:
            target = "/v1/trace/interactions?limit=20"
        elif r < 0.8:
            target = f"/v1/trace/interactions/{rng.choice(call_ids)}"
        else:
            target = "/v1/trace/violations?limit=20"
        t = time.perf_counter()
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = _connect(url)
        lat.append((time.perf_counter() - t) * 1000)
        errors += 0 if ok else 1
    conn.close()
    return lat, errors


def flood_process(url: str, keys: list[str], seconds: float, seed: int, out: Any) -> None:
    """The attackers, in a process of their own, so that their client-side work (building and sending megabytes)
    does not share the victim's GIL and inflate the victim's measured latency."""
    stop = threading.Event()
    counts: Counter = Counter()
    threads = [threading.Thread(target=attacker, args=(url, k, stop, counts, seed + i), daemon=True) for i, k in enumerate(keys)]
    threads.append(threading.Thread(target=anonymous_bodies, args=(url, stop, counts), daemon=True))
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(150)
    out.put(dict(counts))


def _healthy(url: str) -> bool:
    try:
        conn = _connect(url)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def run_abuse(args: Any) -> dict[str, Any]:
    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db
    from trace_engine.api.testing import running_server

    n = args.n if args.n != 100_000 else 20_000  # the abuse run needs a realistic store, not the load test's
    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "abuse.db"
    store = build_store(db, n, args.batch)
    conn = open_db(str(db))
    victim_key = create_key(conn, TENANT, "trace:read", "abuse victim")[0]
    attacker_keys = [create_key(conn, f"attacker{t}", "trace:configure")[0] for t in range(3) for _ in range(2)]
    conn.close()
    raw = sqlite3.connect(db)
    call_ids = [r[0] for r in raw.execute("SELECT call_id FROM scorecards WHERE tenant = ? LIMIT 2000", (TENANT,))]
    raw.close()

    phases: dict[str, dict[str, Any]] = {"idle": {"lat": [], "p99s": [], "errors": 0}, "flood": {"lat": [], "p99s": [], "errors": 0}}
    attacks: Counter = Counter()
    healthy_after: list[bool] = []
    readers = 2
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    counts_q = ctx.Queue()
    with tempfile.TemporaryDirectory() as logdir:
        log_path = Path(logdir) / "server.log"
        with running_server(db, log_path, log_level="warning", args=["--rate-limit", "1000", "--rate-burst", "2000"]) as srv:
            victim(srv.url, victim_key, args.read_rps, 3.0, call_ids, 0)  # warm-up
            for rnd in range(args.rounds):
                for kind in ("idle", "flood"):
                    flood = None
                    if kind == "flood":
                        flood = ctx.Process(
                            target=flood_process,
                            args=(srv.url, attacker_keys, args.phase_seconds + 2.0, 1000 * rnd, counts_q),
                            daemon=True,
                        )
                        flood.start()
                        time.sleep(2.0)  # let the flood build up before measuring
                    results: list[tuple[list[float], int]] = []

                    def read(i: int, out: list = results, seed: int = 7 * rnd) -> None:
                        rps = args.read_rps / readers
                        out.append(victim(srv.url, victim_key, rps, args.phase_seconds, call_ids, seed + i))

                    rts = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
                    for t in rts:
                        t.start()
                    for t in rts:
                        t.join()
                    if flood is not None:
                        attacks.update(counts_q.get(timeout=300))
                        flood.join(60)
                    lat = [x for xs, _ in results for x in xs]
                    phases[kind]["lat"] += lat
                    phases[kind]["p99s"].append(pct(lat, 99))
                    phases[kind]["errors"] += sum(e for _, e in results)
                    if kind == "flood":
                        time.sleep(1.0)
                    healthy_after.append(_healthy(srv.url))
            alive = srv.process.poll() is None and _healthy(srv.url)
            log_text = srv.log_text()
    out: dict[str, Any] = {}
    for kind, ph in phases.items():
        lat = ph["lat"]
        out[kind] = {
            "requests": len(lat),
            "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99),
            "max_ms": round(max(lat), 2) if lat else None,
            "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
            "p99_per_round_ms": ph["p99s"],
            "best_round_p99_ms": min(x for x in ph["p99s"] if x is not None) if ph["p99s"] else None,
            "errors": ph["errors"],
        }
    ratio = (out["flood"]["p99_ms"] / out["idle"]["p99_ms"]) if out["idle"]["p99_ms"] else None
    return {
        "store": store,
        "calls": n,
        "rounds": args.rounds,
        "phase_seconds": args.phase_seconds,
        "victim_read_rps": args.read_rps,
        "victim": out,
        "p99_ratio": round(ratio, 2) if ratio else None,
        "p50_ratio": round(out["flood"]["p50_ms"] / out["idle"]["p50_ms"], 2) if out["idle"]["p50_ms"] else None,
        "goal_p99_within_2x": bool(ratio is not None and ratio <= 2.0),
        "attacks": dict(sorted(attacks.items())),
        "healthz_after_each_phase": healthy_after,
        "server_alive": alive,
        "server_tracebacks": log_text.count("Traceback"),
    }
