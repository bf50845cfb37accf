"""`PUT /v1/trace/config` accepts `call_defaults` (validated by the gate's config model, facts checked against their
one definition), stores it per agent or as the org default, and a gate built from the stored config uses it."""

from __future__ import annotations

import httpx
import pytest

from trace_engine.api.auth import create_key
from trace_engine.api.tables import open_db
from trace_engine.api.testing import running_server
from trace_engine.gate import Engine

DEFAULTS = {
    "direction": "outbound",
    "by_agent": {"clinic-bot": {"call_purpose": "healthcare", "business_name": "Riverside Clinic"}},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    d = tmp_path_factory.mktemp("api_call_defaults")
    db = d / "trace.db"
    conn = open_db(str(db))
    key = create_key(conn, "acme", "trace:*")[0]
    conn.close()
    with running_server(db, d / "server.log") as srv:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=10.0) as c:
            yield c, db


def test_put_config_with_call_defaults(api):
    client, db = api
    body = {"enabled": True, "rule_packs": {"hipaa": {"enabled": True}}, "call_defaults": DEFAULTS}
    r = client.put("/v1/trace/config", json={"agent_id": "clinic-bot", "config": body})
    assert r.status_code == 200, r.text
    stored = client.get("/v1/trace/config", params={"agent_id": "clinic-bot"}).json()
    assert stored["config"]["call_defaults"] == DEFAULTS
    # the org default may carry them too
    org = client.put("/v1/trace/config", json={"enabled": True, "call_defaults": {"direction": "inbound"}})
    assert org.status_code == 200, org.text
    # a gate pulled from the store reads the agent's defaults
    engine = Engine.from_store(db, "clinic-bot", "acme")
    call = engine.start_call("c1", agent_id="clinic-bot")
    assert call.facts["call_purpose"] == "healthcare" and call.facts["direction"] == "outbound"


@pytest.mark.parametrize(
    "defaults, says",
    [
        ({"direction": "sideways"}, "direction is 'sideways', not one of outbound, inbound"),
        ({"call_purpse": "healthcare"}, "call_defaults.call_purpse: not a call fact (did you mean 'call_purpose'?)"),
        ({"by_agent": {"a": {"answered_by": "unknown"}}}, "answered_by is 'unknown' (AMD could not decide)"),
        ({"by_agent": ["a"]}, "call_defaults.by_agent: expected an object of agent id -> call facts"),
        ("outbound", "call_defaults"),
    ],
)
def test_bad_call_defaults_are_400(api, defaults, says):
    client, _ = api
    r = client.put("/v1/trace/config", json={"enabled": True, "call_defaults": defaults})
    assert r.status_code == 400, r.text
    assert says in r.text
