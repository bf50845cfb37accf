"""Config distribution: engine_from_service (ETag cache, 304 revalidation, last good config when unreachable) and
engine_from_store, against a real ``trace serve`` on loopback."""

from __future__ import annotations

import json

import httpx
import pytest

from trace_engine.api import distribution
from trace_engine.api.auth import create_key
from trace_engine.api.distribution import DistributionError, engine_from_service, engine_from_store
from trace_engine.api.tables import open_db
from trace_engine.api.testing import free_port, running_server

PACK = {
    "pack_id": "acme_policy",
    "version": "1.0.0",
    "rules": [
        {
            "id": "acme-001",
            "title": "No guarantees",
            "severity": "high",
            "citation": "Acme policy 4.2",
            "reason": "The agent promised a guaranteed outcome.",
            "checks": [{"kind": "must_not_say", "match": {"phrases": ["guaranteed approval"]}}],
        }
    ],
}
#: generous: a loaded CI machine must not turn a slow answer into an "outage" (the outage cases set their own)
SERVICE_TIMEOUT = 60.0

CONFIG = {
    "agent_id": "agent-x",
    "enabled": True,
    "rule_packs": {"acme_policy": {"enabled": True, "version": "1.0.0"}, "pii": {"enabled": True}},
    "guardrails": {"mode": "block", "blocked_phrases": ["totally free"]},
}


@pytest.fixture()
def setup(tmp_path):
    db = tmp_path / "trace.db"
    conn = open_db(str(db))
    key = create_key(conn, "acme", "trace:configure")[0]
    other = create_key(conn, "globex", "trace:configure")[0]
    conn.close()
    distribution._MEMORY.clear()
    return {"db": db, "key": key, "other": other, "dir": tmp_path}


def _recording_client(url, key, statuses):
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60.0,
        event_hooks={"response": [lambda r: statuses.append((r.request.url.path, r.status_code))]},
    )


def test_pull_revalidate_and_survive_an_outage(setup):
    cache = setup["dir"] / "cache"
    with running_server(setup["db"], setup["dir"] / "s.log") as srv:
        with httpx.Client(base_url=srv.url, headers={"x-api-key": setup["key"]}, timeout=60) as c:
            assert c.post("/v1/trace/rule-packs", json=PACK).status_code == 201
            assert c.put("/v1/trace/config", json=CONFIG).status_code == 200
        eng = engine_from_service(srv.url, setup["key"], "agent-x", cache_dir=cache, timeout=SERVICE_TIMEOUT)
        info = eng.distribution
        assert (
            info["source"] == "service"
            and info["rule_packs"]["acme_policy"] == "1.0.0"
            and "pii" in info["rule_packs"]
        )
        assert eng.config.guardrails.mode == "block"
        call = eng.start_call("c1", agent_id="agent-x", tenant="acme")
        d = call.agent_turn("Good news, this is guaranteed approval for you.")
        assert d.action != "pass" or d.findings, d
        call.end()

        # unchanged: every object revalidates with a 304
        statuses: list = []
        with _recording_client(srv.url, setup["key"], statuses) as client:
            eng2 = engine_from_service(srv.url, setup["key"], "agent-x", cache_dir=cache, client=client)
        assert statuses and all(s == 304 for _, s in statuses), statuses
        assert eng2.etag == eng.etag

        # a change is picked up with a 200 on the config
        with httpx.Client(base_url=srv.url, headers={"x-api-key": setup["key"]}, timeout=60) as c:
            assert (
                c.put("/v1/trace/config", json={**CONFIG, "guardrails": {"mode": "warn"}}).status_code == 200
            )
        statuses.clear()
        with _recording_client(srv.url, setup["key"], statuses) as client:
            eng3 = engine_from_service(srv.url, setup["key"], "agent-x", cache_dir=cache, client=client)
        assert statuses[0] == ("/v1/trace/config", 200)
        assert eng3.config.guardrails.mode == "warn" and eng3.etag != eng.etag
        url = srv.url

        # misconfiguration is an error, not an outage
        with pytest.raises(DistributionError) as exc:
            engine_from_service(srv.url, "trace_sk_wrong", "agent-x", cache_dir=cache, timeout=SERVICE_TIMEOUT)
        assert exc.value.status == 401
        # another tenant's "agent-x" is its own agent: the safe default, not acme's config (and not a 404 that
        # would tell it the id is in use)
        theirs = engine_from_service(srv.url, setup["other"], "agent-x", cache_dir=setup["dir"] / "c2", timeout=SERVICE_TIMEOUT)
        assert theirs.distribution["rule_packs"] == {} and theirs.distribution["enabled"] is False

    # the server is gone: the last good config (from disk, not only memory) is enforced
    distribution._MEMORY.clear()
    eng4 = engine_from_service(url, setup["key"], "agent-x", cache_dir=cache, timeout=0.5)
    assert eng4.distribution["source"] == "cache"
    assert eng4.etag == eng3.etag and eng4.config.guardrails.mode == "warn"
    assert set(eng4.distribution["rule_packs"]) == {"acme_policy", "pii"}
    cache_text = "".join(p.read_text() for p in cache.glob("*.json"))
    assert setup["key"] not in cache_text

    # nothing cached and nothing reachable: the safe default
    fresh = engine_from_service(f"http://127.0.0.1:{free_port()}", setup["key"], "agent-x", timeout=0.5)
    assert fresh.distribution["source"] == "default" and fresh.distribution["rule_packs"] == {}
    assert fresh.config.guardrails.fail_open is True and fresh.config.guardrails.mode == "warn"


def test_engine_from_store_matches_the_service(setup):
    with running_server(setup["db"], setup["dir"] / "s.log") as srv:
        with httpx.Client(base_url=srv.url, headers={"x-api-key": setup["key"]}, timeout=60) as c:
            assert c.post("/v1/trace/rule-packs", json=PACK).status_code == 201
            assert c.put("/v1/trace/config", json=CONFIG).status_code == 200
        via_http = engine_from_service(srv.url, setup["key"], "agent-x", timeout=SERVICE_TIMEOUT)
    direct = engine_from_store(setup["db"], "agent-x")
    assert direct.distribution["source"] == "store"
    assert direct.etag == via_http.etag
    assert direct.distribution["config_etag"] == via_http.distribution["config_etag"]
    assert engine_from_store(setup["db"], "agent-x", "acme").etag == direct.etag
    # another tenant's agent-x is its own (the safe default), never acme's
    theirs = engine_from_store(setup["db"], "agent-x", "globex")
    assert theirs.distribution["rule_packs"] == {} and theirs.distribution["enabled"] is False
    # an unconfigured agent gets the safe default
    safe = engine_from_store(setup["db"], "nobody")
    assert safe.distribution["rule_packs"] == {} and safe.distribution["enabled"] is False
    assert json.dumps(safe.distribution)
