"""``GET /v1/trace/interactions/{id}/explain``: a stored call replayed with the evaluator's tracer, through a real
``trace serve`` on loopback (both store backends), every response checked against the served OpenAPI document.
The view is ``trace explain``'s own code path, so its turns are exactly what ``explain_transcript`` gives for the
stored (redacted) timeline; auth, scope, tenant isolation, unknown and hostile ids are held like the detail view's."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import module_database
from test_api_service import check

from trace_engine.api.auth import create_key
from trace_engine.api.openapi import served_document
from trace_engine.api.tables import open_db
from trace_engine.api.testing import running_server
from trace_engine.api.views import REDACTED_NOTE, stored_call_engine
from trace_engine.diff import transcript_from_scorecard
from trace_engine.explain import EVENTS
from trace_engine.gate.engine import Engine
from trace_engine.replay import explain_transcript
from trace_engine.rescore import offline_config, score_transcript
from trace_engine.store.log import EvidenceLog
from trace_engine.transcripts import Transcript, load_transcripts

ROOT = Path(__file__).resolve().parents[1]
PATH = "/v1/trace/interactions/{id}/explain"
CARD_CALL = Transcript(
    call_id="cards-1",
    turns=[
        ("agent", "Hi, this is Sam from Acme Solar, a sales call.", 0.0),
        ("caller", "my card is 4111 1111 1111 1111 and the old one was 4111 1111 1111 1112", 4.0),
        ("agent", "Thanks, I have 4111 1111 1111 1111 on file; 4111 1111 1111 1112 is not a valid card.", 8.0),
    ],
    metadata={"direction": "outbound", "call_purpose": "telemarketing"},
    agent_id="acme-sales",
    source="test",
)


@pytest.fixture(scope="module")
def spec():
    return served_document()


def _engine() -> Engine:
    return Engine.from_config(offline_config(None))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def env(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("explain")
    with module_database(request.param, d) as db:
        yield from _env(d, db)


def _env(d, db):
    calls = [*load_transcripts(str(ROOT / "corpora" / "outbound_calls.jsonl")), CARD_CALL]
    engine = _engine()
    cards = [score_transcript(engine, t, tenant="acme") for t in calls]
    with EvidenceLog(db) as log:
        log.append_many(cards)
        log.append_many([score_transcript(engine, calls[0], tenant="globex")])
    conn = open_db(str(db))
    keys = {
        "acme": create_key(conn, "acme", "trace:read")[0],
        "acme_conf": create_key(conn, "acme", "trace:configure")[0],
        "globex": create_key(conn, "globex", "trace:read")[0],
    }
    with running_server(db, d / "server.log", args=["--rate-limit", "0", "--upload-rate", "0"]) as srv:
        yield {"srv": srv, "keys": keys, "cards": {c.call_id: c for c in cards}, "store": conn}
    conn.close()


def client(env, who="acme"):
    return httpx.Client(base_url=env["srv"].url, headers={"Authorization": f"Bearer {env['keys'][who]}"}, timeout=30)


def test_explain_view_is_trace_explain_of_the_stored_call(env, spec):
    with client(env) as acme:
        for call_id, card in env["cards"].items():
            url = f"/v1/trace/interactions/{call_id}/explain"
            body = check(spec, acme.get(url), PATH)
            detail = acme.get(f"/v1/trace/interactions/{call_id}").json()
            assert body["id"] == body["call_id"] == call_id and body["audit_hash"] == detail["audit_hash"]
            assert body["stored_verdict"] == detail["verdict"] == card.verdict
            assert body["redacted"] is True and body["note"] == REDACTED_NOTE and body["mode"] == "warn"
            assert body["packs_enforced"] == card.packs_enforced and body["packs_unavailable"] == []
            # the same code path as `trace explain` on the stored timeline (JSON round trip aside)
            engine, _ = stored_call_engine(env["store"], "acme", detail["scorecard"])
            expected = explain_transcript(engine, transcript_from_scorecard(detail["scorecard"])).to_dict()
            assert {k: body[k] for k in expected} == json.loads(json.dumps(expected)), call_id
            names = {e["event"] for turn in body["turns"] for e in turn["events"]}
            assert names and names <= set(EVENTS)
    fired = {e["event"] for t in _body(env, "solar-002-optout-ignored")["turns"] for e in t["events"]}
    assert {"candidate", "window_opened", "verified"} <= fired


def _body(env, call_id):
    with client(env) as acme:
        return acme.get(f"/v1/trace/interactions/{call_id}/explain").json()


def test_the_stored_text_is_redacted_and_a_rejected_candidate_is_explained(env):
    body = _body(env, "cards-1")
    text = json.dumps(body)
    assert "4111 1111 1111 1111" not in text and "[credit_card]" in text  # never the stored-away value
    rejected = [e for t in body["turns"] for e in t["events"] if e["event"] == "validator_rejected"]
    assert rejected and {(e["detector"], e["failed"], e["text"]) for e in rejected} == {
        ("credit_card", "luhn", "4111 1111 1111 1112")
    }
    assert all(e["says"].startswith("credit_card rejected on") for e in rejected)


def test_keys_scopes_and_tenants(env, spec):
    url = "/v1/trace/interactions/solar-001-compliant/explain"
    r = httpx.get(env["srv"].url + url, timeout=10)
    assert r.status_code == 401
    check(spec, r, PATH)
    r = httpx.get(env["srv"].url + url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert r.status_code == 401
    with client(env, "acme_conf") as conf:
        r = conf.get(url)
        assert r.status_code == 403
        check(spec, r, PATH)
    with client(env, "globex") as globex:  # globex has a call of the same id: its own, not acme's
        own = check(spec, globex.get(url), PATH)
        assert own["audit_hash"] == globex.get("/v1/trace/interactions/solar-001-compliant").json()["audit_hash"]
        with client(env) as acme:
            assert own["audit_hash"] != acme.get(url).json()["audit_hash"]
        r = globex.get("/v1/trace/interactions/cards-1/explain")  # acme's only: exactly like an unknown id
        assert r.status_code == 404
        check(spec, r, PATH)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("no-such-call", 404),
        ("%27%3B%20DROP%20TABLE%20scorecards%3B--", 404),
        ("%E2%80%AEcards-1", 404),
        ("cards-1%00", 400),
        ("cards-1%0Ax", 400),
        ("x" * 300, 400),
        ("..%2F..%2Fconfig", 404),
    ],
)
def test_unknown_and_hostile_ids(env, spec, raw, status):
    with client(env) as acme:
        r = acme.get(f"/v1/trace/interactions/{raw}/explain")
        assert r.status_code == status, (raw, r.text)
        check(spec, r, PATH)  # the documented error shape, no stack trace
