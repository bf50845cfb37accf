"""schemathesis over the seed spec's ``/v1/trace/*`` operations against a real ``trace serve`` on loopback.

Bounded: ``TRACE_FUZZ_EXAMPLES`` examples per operation (default 25), derandomized, no example database. Checks:
no 5xx, every documented response matches its schema, the documented media type (problem+json for 400s, JSON
for the Error envelope), plus a second pass with a key that lacks the scope (403s in the Error envelope) and
no key at all (401s), and a negative pass (data that breaks the spec: no 5xx, errors in the documented shapes).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance  # noqa: E402

from trace_engine.api.auth import create_key  # noqa: E402
from trace_engine.api.tables import open_db  # noqa: E402
from trace_engine.api.testing import running_server  # noqa: E402
from trace_engine.evidence.synthetic import synthetic_scorecard  # noqa: E402
from trace_engine.store.log import EvidenceLog  # noqa: E402

SEED = Path("/work/shared/seeds/001_e3c989389c972ad5.txt")
PACKAGED = Path(__file__).resolve().parents[1] / "trace_engine" / "api" / "openapi_trace.json"
EXAMPLES = int(os.environ.get("TRACE_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _trace_doc() -> dict:
    doc = json.loads(SEED.read_text()) if SEED.exists() else json.loads(PACKAGED.read_text())
    doc = dict(doc)
    doc["paths"] = {p: v for p, v in doc["paths"].items() if p.startswith("/v1/trace/")}
    return doc


DOC = _trace_doc()
OPERATIONS = [
    (path, method)
    for path, item in DOC["paths"].items()
    for method in item
    if method in ("get", "put", "post")
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    db = d / "trace.db"
    base = int(time.time() * 1000) - 86_400_000
    with EvidenceLog(db) as log:  # trace.key beside the DB: the server signs with it too
        cards = [synthetic_scorecard(i, "fuzz", base_ms=base) for i in range(60)]
        log.append_many(cards)
        for c in cards[:5]:
            log.add_tier2_finding(
                "fuzz",
                {
                    "interaction_id": c.call_id,
                    "check_id": "hallucination",
                    "severity": "high",
                    "verdict": "concern",
                    "confidence": 0.5,
                    "action": "flag",
                    "speaker": "agent",
                    "reason": "r",
                    "at_t": 1.0,
                    "tier": 2,
                },
            )
    conn = open_db(str(db))
    full = create_key(conn, "fuzz", "trace:*")[0]
    read_only = create_key(conn, "fuzz", "trace:read")[0]
    conn.close()
    with running_server(db, d / "server.log", log_level="warning") as srv:
        yield {"url": srv.url, "full": full, "read": read_only, "srv": srv}


@pytest.fixture(scope="module")
def schema():
    return schemathesis.openapi.from_dict(DOC)


def _operation(schema, path, method):
    return schema[path][method.upper()]


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_fuzz_operation(schema, server, path, method):
    op = _operation(schema, path, method)
    headers = {"Authorization": f"Bearer {server['full']}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def run(case):
        resp = case.call_and_validate(base_url=server["url"], headers=headers, checks=CHECKS, timeout=10)
        assert "Traceback" not in resp.text

    run()


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_fuzz_negative(schema, server, path, method):
    """Data that breaks the spec (wrong types, out-of-range values, bad bodies): never a 5xx; a 4xx comes in the
    documented shape (Problem for 400/404/409/413, the Error envelope for 401/403)."""
    op = _operation(schema, path, method)
    headers = {"Authorization": f"Bearer {server['full']}"}

    @settings(
        max_examples=max(5, EXAMPLES // 2),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def run(case):
        resp = case.call(base_url=server["url"], headers=headers, timeout=10)
        assert resp.status_code < 500, resp.text
        assert "Traceback" not in resp.text
        if resp.status_code >= 400:
            ctype = resp.headers.get("content-type") or resp.headers.get("Content-Type") or ""
            if isinstance(ctype, list):
                ctype = ctype[0] if ctype else ""
            body = resp.json()
            if resp.status_code in (401, 403):
                assert ctype.startswith("application/json") and body["error"]["code"]
            else:
                assert ctype.startswith("application/problem+json")
                assert body["status"] == resp.status_code and body["title"]

    run()


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_fuzz_auth_errors(schema, server, path, method):
    """Without a key every operation is a 401; with a read-only key the configure operations are 403s."""
    op = _operation(schema, path, method)
    needs_configure = "/config" in path or "/rule-packs" in path

    @settings(
        max_examples=5,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def run(case):
        case.headers = {
            k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")
        }
        anon = case.call(base_url=server["url"], timeout=10)
        assert anon.status_code == 401, anon.text
        assert anon.json()["error"]["code"] == "unauthorized"
        ro = case.call(base_url=server["url"], headers={"x-api-key": server["read"]}, timeout=10)
        assert ro.status_code < 500
        if needs_configure:
            assert ro.status_code == 403, ro.text
            assert ro.json()["error"]["code"] == "forbidden"

    run()


def test_fuzz_left_no_stack_traces_or_keys_in_logs(server):
    text = server["srv"].log_text()
    assert "Traceback" not in text
    assert server["full"] not in text and server["read"] not in text
