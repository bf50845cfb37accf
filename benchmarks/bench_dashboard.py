"""Dashboard page render time on a large store, on loopback. Prints JSON.

    .venv/bin/python benchmarks/bench_dashboard.py [--n 100000] [--db PATH] [--runs 30]

1. Store: N synthetic scorecards over the last ~20 days (``bench_api.build_store``; an existing ``--db`` holding N
   calls is reused).
2. Server: ``trace serve`` in a subprocess on 127.0.0.1, one ``trace:read`` key sent as ``Authorization``.
3. Pages: the first (cold) request of the Exposure page, then ``--runs`` rounds in which every page variant is
   requested once, interleaved (so a busy moment of the shared machine hits every variant alike). Per variant:
   the server's own time (``Server-Timing: app``: auth, reads, template) as p50 / p95 / max / min, and the
   client's (request sent to body read), in ms, and the page size.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_api import TENANT, build_store, pct  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = Path(args.db) if args.db else Path(tmp.name) / "bench.db"
    store = build_store(db, args.n, args.batch)

    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db
    from trace_engine.api.testing import running_server
    from trace_engine.store.reads import list_calls

    conn = open_db(str(db))
    key = create_key(conn, TENANT, "trace:read", "bench_dashboard")[0]
    call_id = list_calls(conn, TENANT, limit=1)["data"][0]["id"]  # the newest call, for its page
    conn.close()
    pages = {
        "exposure_30d": "/exposure",
        "exposure_7d_agent": "/exposure?window=7&agent=agent-1",
        "exposure_90d_pack": "/exposure?window=90&pack=tcpa",
        "calls_first_page": "/calls",
        "calls_fail_search": "/calls?verdict=FAIL&q=000",
        "call_detail": "/calls/" + quote(call_id, safe=""),
    }
    headers = {"Authorization": f"Bearer {key}"}
    with running_server(db, Path(tmp.name) / "serve.log", log_level="warning",
                        args=["--rate-limit", "0"], start_timeout=120) as srv:
        http_conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)

        def get(path: str) -> tuple[float, float, int]:
            t = time.perf_counter()
            http_conn.request("GET", path, headers=headers)
            resp = http_conn.getresponse()
            body = resp.read()
            client_ms = (time.perf_counter() - t) * 1000
            assert resp.status == 200, (path, resp.status, body[:300])
            server_ms = float(resp.getheader("server-timing").split("dur=")[1])
            return server_ms, client_ms, len(body)

        cold = get(pages["exposure_30d"])
        server: dict[str, list[float]] = {k: [] for k in pages}
        client: dict[str, list[float]] = {k: [] for k in pages}
        size: dict[str, int] = {}
        for _ in range(args.runs):
            for name, path in pages.items():
                s, c, n = get(path)
                server[name].append(s)
                client[name].append(c)
                size[name] = n
    out = {
        "store": store,
        "runs": args.runs,
        "cold_exposure_ms": {"server": round(cold[0], 1), "client": round(cold[1], 1)},
        "pages": {
            name: {
                "server_p50_ms": round(statistics.median(server[name]), 1),
                "server_p95_ms": round(pct(server[name], 95), 1),
                "server_max_ms": round(max(server[name]), 1),
                "server_min_ms": round(min(server[name]), 1),
                "client_p50_ms": round(statistics.median(client[name]), 1),
                "bytes": size[name],
            }
            for name in pages
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
