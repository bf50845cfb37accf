"""The Trace HTTP API through a real ``trace serve`` on loopback, every response checked against the served OpenAPI
3.1 document (which is the seed's contract made exact; a test below holds it to the seed)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
from conftest import module_database

from trace_engine.api.auth import create_key
from trace_engine.api.openapi import served_document, to_31
from trace_engine.api.tables import open_db
from trace_engine.api.testing import running_server
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.shared_data import shared_dir
from trace_engine.store.log import EvidenceLog

SEED = shared_dir() / "seeds" / "001_e3c989389c972ad5.txt"
PACKAGED = Path(__file__).resolve().parents[1] / "trace_engine" / "api" / "openapi_trace.json"
NOW = int(time.time() * 1000)
BASE = NOW - 3 * 86_400_000  # inside the default 30-day exposure window


# ----------------------------------------------------------------------------------------- spec helpers


@pytest.fixture(scope="module")
def spec():
    return served_document()


def _doc(spec, schema):
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": {"schemas": spec["components"]["schemas"]},
        **schema,
    }


def check(spec, resp: httpx.Response, path: str, method: str = "get"):
    """Validate ``resp`` against the operation's documented response (or the error shapes) and return its JSON."""
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    status = resp.status_code
    if status == 304:
        assert resp.content == b""
        return None
    body = resp.json()
    if status in (401, 403):
        assert resp.headers["content-type"].startswith("application/json")
        jsonschema.Draft202012Validator(_doc(spec, {"$ref": "#/components/schemas/Error"})).validate(body)
        assert body["error"]["code"] == {401: "unauthorized", 403: "forbidden"}[status]
        return body
    if status >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
        jsonschema.Draft202012Validator(_doc(spec, {"$ref": "#/components/schemas/Problem"})).validate(body)
        assert body["status"] == status and body["type"].rsplit("/", 1)[-1]
        return body
    op = spec["paths"][path][method]
    media = op["responses"][str(status)]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(_doc(spec, media)).validate(body)
    return body


# ------------------------------------------------------------------------------------------------ server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def env(request, tmp_path_factory):
    """A served database of each backend (the whole API suite runs on both)."""
    d = tmp_path_factory.mktemp("api")
    with module_database(request.param, d) as db:
        yield from _env(d, db)


def _env(d, db):
    with EvidenceLog(db) as log:  # trace.key beside the DB (TRACE_KEY_DIR for PostgreSQL): the server signs with it too
        log.append_many([synthetic_scorecard(i, "acme", base_ms=BASE) for i in range(150)])
        other = []
        for i in range(40):
            sc = synthetic_scorecard(i, "globex", base_ms=BASE, seed=7)
            sc.agent_id = f"gx-agent-{i % 2}"
            other.append(sc)
        log.append_many(other)
        for j in range(25):
            log.add_tier2_finding(
                "acme",
                {
                    "interaction_id": synthetic_scorecard(j, "acme").call_id,
                    "check_id": "hallucination" if j % 2 else "brand_tone",
                    "severity": "critical" if j % 5 == 0 else "medium",
                    "verdict": "concern",
                    "confidence": 0.8,
                    "action": "escalate" if j % 3 == 0 else "flag",
                    "speaker": "agent",
                    "reason": "r",
                    "at_t": 1.0,
                    "tier": 2,
                },
            )
        log.add_tier2_finding(
            "globex",
            {
                "interaction_id": other[0].call_id,
                "check_id": "hallucination",
                "severity": "high",
                "action": "flag",
            },
        )
    conn = open_db(str(db))
    keys = {
        "acme": create_key(conn, "acme", "trace:*")[0],
        "acme_read": create_key(conn, "acme", "trace:read")[0],
        "acme_conf": create_key(conn, "acme", "trace:configure")[0],
        "acme_star": create_key(conn, "acme", "*")[0],
        "globex": create_key(conn, "globex", "trace:read,trace:configure")[0],
    }
    conn.close()
    # functional tests: rate limits off (tests/test_api_hostile.py covers them)
    with running_server(db, d / "server.log", args=["--rate-limit", "0", "--upload-rate", "0"]) as srv:
        yield {"srv": srv, "keys": keys, "db": db, "dir": d}


def client(env, who="acme", header="bearer"):
    key = env["keys"][who]
    headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {"x-api-key": key}
    return httpx.Client(base_url=env["srv"].url, headers=headers, timeout=10.0)


@pytest.fixture(scope="module")
def acme(env):
    with client(env) as c:
        yield c


@pytest.fixture(scope="module")
def globex(env):
    with client(env, "globex") as c:
        yield c


# ------------------------------------------------------------------------------------------------- auth


def test_missing_and_bad_keys_are_401(env, spec):
    with httpx.Client(base_url=env["srv"].url, timeout=10) as anon:
        for path in (
            "/v1/trace/config",
            "/v1/trace/interactions",
            "/v1/trace/exposure",
            "/v1/trace/rule-packs",
        ):
            r = anon.get(path)
            assert r.status_code == 401
            check(spec, r, path)
        r = anon.get("/v1/trace/interactions", headers={"Authorization": "Bearer trace_sk_nope"})
        assert r.status_code == 401 and check(spec, r, "")["error"]["code"] == "unauthorized"
        r = anon.get("/v1/trace/interactions", headers={"x-api-key": "x" * 600})
        assert r.status_code == 401
        # a bad parameter without a key is still a 401, not a 400
        r = anon.get("/v1/trace/interactions?limit=abc")
        assert r.status_code == 401


def test_scopes_and_wildcards(env, spec):
    with client(env, "acme_read") as c:
        r = c.get("/v1/trace/config")
        assert r.status_code == 403 and check(spec, r, "")["error"]["code"] == "forbidden"
        assert c.get("/v1/trace/interactions").status_code == 200
    with client(env, "acme_conf", header="x-api-key") as c:
        assert c.get("/v1/trace/config").status_code == 200
        assert c.get("/v1/trace/rule-packs").status_code == 200
        r = c.get("/v1/trace/exposure")
        assert r.status_code == 403
        check(spec, r, "")
    with client(env, "acme_star", header="x-api-key") as c:
        assert c.get("/v1/trace/config").status_code == 200
        assert c.get("/v1/trace/findings").status_code == 200


# ----------------------------------------------------------------------------------------------- config


def test_safe_default_and_etag(env, spec):
    with client(env, "globex") as c:
        r = c.get("/v1/trace/config", params={"agent_id": "gx-new-agent"})
        body = check(spec, r, "/v1/trace/config")
        assert body["enabled"] is False and body["mode"] == "warn"
        assert body["config"]["guardrails"]["fail_open"] is True
        etag = r.headers["etag"]
        assert etag.strip('"') == body["etag"]
        r2 = c.get("/v1/trace/config", params={"agent_id": "gx-new-agent"}, headers={"If-None-Match": etag})
        assert r2.status_code == 304 and r2.headers["etag"] == etag


def test_put_raw_and_wrapped_config(acme, spec):
    raw = {
        "agent_id": "agent-1",
        "enabled": True,
        "rule_packs": {"tcpa": {"enabled": True}},
        "guardrails": {
            "mode": "block",
            "block_pii": {"patterns": ["ssn"]},
            "blocked_phrases": ["guaranteed returns"],
        },
    }
    r = acme.put("/v1/trace/config", json=raw)
    body = check(spec, r, "/v1/trace/config", "put")
    assert body["agent_id"] == "agent-1" and body["enabled"] is True and body["mode"] == "block"
    assert r.headers["etag"].strip('"') == body["etag"]
    got = check(spec, acme.get("/v1/trace/config", params={"agent_id": "agent-1"}), "/v1/trace/config")
    assert got["etag"] == body["etag"] and got["config"]["rule_packs"] == {"tcpa": {"enabled": True}}
    # the same content wrapped has the same content ETag
    wrapped = {"agent_id": "agent-1", "config": {k: v for k, v in raw.items() if k != "agent_id"}}
    again = check(spec, acme.put("/v1/trace/config", json=wrapped), "/v1/trace/config", "put")
    assert again["etag"] == body["etag"]
    # revalidation
    r304 = acme.get(
        "/v1/trace/config", params={"agent_id": "agent-1"}, headers={"If-None-Match": f'"{body["etag"]}"'}
    )
    assert r304.status_code == 304
    # change -> new etag
    changed = check(
        spec, acme.put("/v1/trace/config", json={**raw, "enabled": False}), "/v1/trace/config", "put"
    )
    assert changed["etag"] != body["etag"] and changed["enabled"] is False
    r200 = acme.get(
        "/v1/trace/config", params={"agent_id": "agent-1"}, headers={"If-None-Match": f'"{body["etag"]}"'}
    )
    assert r200.status_code == 200


def test_org_default_is_inherited(globex, spec):
    org = check(
        spec,
        globex.put("/v1/trace/config", json={"enabled": True, "guardrails": {"mode": "modify"}}),
        "/v1/trace/config",
        "put",
    )
    assert org["agent_id"] is None
    fresh = check(spec, globex.get("/v1/trace/config", params={"agent_id": "gx-agent-1"}), "/v1/trace/config")
    assert fresh["mode"] == "modify" and fresh["etag"] == org["etag"] and fresh["agent_id"] == "gx-agent-1"
    assert check(spec, globex.get("/v1/trace/config"), "/v1/trace/config")["etag"] == org["etag"]


def test_bad_configs_are_400(acme, spec):
    for body in (
        {"enabled": "yes"},
        {"guardrails": {"mode": "explode"}},
        {"unknown_field": 1},
        {"packs_dir": ["/etc"]},
        [1, 2],
    ):
        r = acme.put("/v1/trace/config", json=body)
        assert r.status_code == 400, (body, r.text)
        check(spec, r, "")
    r = acme.put("/v1/trace/config", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    check(spec, r, "")
    # naming a pack the tenant does not have conflicts with the store's state: 409, every missing pack listed
    r = acme.put(
        "/v1/trace/config",
        json={"rule_packs": {"no_such_pack": {"enabled": True}, "tcpa": {"version": "0.0.0-nope"}}},
    )
    assert r.status_code == 409
    body = check(spec, r, "")
    assert body["code"] == "unknown_rule_pack" and len(body["errors"]) == 2


def test_agents_belong_to_their_tenant(acme, globex, spec):
    # acme scored calls under agent-0..4; globex under gx-agent-0/1. Each tenant's ids are its own.
    for c, agent in ((globex, "agent-2"), (acme, "gx-agent-0")):
        r = c.put("/v1/trace/config", json={"agent_id": agent, "enabled": True, "guardrails": {"mode": "block"}})
        assert r.status_code == 200, r.text
        assert check(spec, c.get("/v1/trace/config", params={"agent_id": agent}), "/v1/trace/config")["mode"] == "block"
        # the other tenant's calls under that id stay invisible: an unknown agent is an empty list
        listed = check(spec, c.get("/v1/trace/interactions", params={"agent_id": agent}), "/v1/trace/interactions")
        assert listed["data"] == [] and listed["has_more"] is False
    # the owner of the calls still sees its own config and calls under the same id, untouched
    mine = check(spec, acme.get("/v1/trace/config", params={"agent_id": "agent-2"}), "/v1/trace/config")
    assert mine["mode"] != "block"
    assert acme.get("/v1/trace/interactions", params={"agent_id": "agent-2"}).json()["data"]
    # nothing reveals whether another tenant uses an id: a fresh id reads exactly like one another tenant configured
    a = globex.get("/v1/trace/config", params={"agent_id": "brand-new-1"}).json()
    acme.put("/v1/trace/config", json={"agent_id": "brand-new-2", "enabled": True})
    b = globex.get("/v1/trace/config", params={"agent_id": "brand-new-2"}).json()
    assert {k: v for k, v in a.items() if k not in ("agent_id", "config")} == {
        k: v for k, v in b.items() if k not in ("agent_id", "config")
    }


# ------------------------------------------------------------------------------------------- rule packs

PACK = {
    "pack_id": "acme_policy",
    "version": "1.0.0",
    "jurisdiction": "US",
    "legal_status": "internal",
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


def test_builtin_packs_listed(acme, spec):
    body = check(spec, acme.get("/v1/trace/rule-packs"), "/v1/trace/rule-packs")
    builtins = {p["pack_id"] for p in body["data"] if p["builtin"]}
    assert {"tcpa", "hipaa", "pii", "brand_voice"} <= builtins
    tcpa = check(spec, acme.get("/v1/trace/rule-packs/tcpa"), "/v1/trace/rule-packs/{id}")
    assert tcpa["builtin"] is True and tcpa["spec"]["pack_id"] == "tcpa" and tcpa["status"] == "active"
    pinned = acme.get("/v1/trace/rule-packs/tcpa", params={"version": tcpa["version"]})
    assert check(spec, pinned, "/v1/trace/rule-packs/{id}")["etag"] == tcpa["etag"]
    r = acme.get("/v1/trace/rule-packs/tcpa", headers={"If-None-Match": pinned.headers["etag"]})
    assert r.status_code == 304
    assert acme.get("/v1/trace/rule-packs/tcpa", params={"version": "0.0.1"}).status_code == 404


def test_upload_versions_and_conflicts(acme, globex, spec):
    r = acme.post("/v1/trace/rule-packs", json=PACK)
    assert r.status_code == 201, r.text
    v1 = check(spec, r, "/v1/trace/rule-packs", "post")
    assert v1["builtin"] is False and v1["version"] == "1.0.0" and v1["spec"]["pack_id"] == "acme_policy"
    dup = acme.post("/v1/trace/rule-packs", json=PACK)
    assert dup.status_code == 409
    assert check(spec, dup, "")["code"] == "rule_pack_exists"
    v2pack = json.loads(json.dumps(PACK))
    v2pack["version"] = "1.1.0"
    v2pack["rules"][0]["checks"][0]["match"]["phrases"].append("approval is guaranteed")
    v2 = check(spec, acme.post("/v1/trace/rule-packs", json=v2pack), "/v1/trace/rule-packs", "post")
    latest = check(spec, acme.get("/v1/trace/rule-packs/acme_policy"), "/v1/trace/rule-packs/{id}")
    assert latest["version"] == "1.1.0" and latest["id"] == v2["id"] and latest["status"] == "active"
    old = check(
        spec,
        acme.get("/v1/trace/rule-packs/acme_policy", params={"version": "1.0.0"}),
        "/v1/trace/rule-packs/{id}",
    )
    assert old["status"] == "deprecated" and old["spec"] == v1["spec"]
    listed = check(spec, acme.get("/v1/trace/rule-packs"), "/v1/trace/rule-packs")
    mine = {(p["pack_id"], p["version"]): p["status"] for p in listed["data"] if not p["builtin"]}
    assert mine == {("acme_policy", "1.0.0"): "deprecated", ("acme_policy", "1.1.0"): "active"}
    assert all("spec" not in p for p in listed["data"])
    # the other tenant sees none of it, and may use the same pack_id for its own pack
    assert globex.get("/v1/trace/rule-packs/acme_policy").status_code == 404
    assert globex.get("/v1/trace/rule-packs/acme_policy", params={"version": "1.0.0"}).status_code == 404
    assert not [p for p in globex.get("/v1/trace/rule-packs").json()["data"] if p["pack_id"] == "acme_policy"]
    assert globex.post("/v1/trace/rule-packs", json=PACK).status_code == 201
    # a built-in pack_id is reserved
    taken = dict(PACK, pack_id="tcpa")
    r = acme.post("/v1/trace/rule-packs", json=taken)
    assert r.status_code == 409 and r.json()["code"] == "builtin_pack_id"
    # configs may pin uploaded versions
    ok = acme.put(
        "/v1/trace/config",
        json={
            "agent_id": "agent-3",
            "enabled": True,
            "rule_packs": {"acme_policy": {"enabled": True, "version": "1.0.0"}},
        },
    )
    assert ok.status_code == 200, ok.text
    assert (
        globex.put("/v1/trace/config", json={"rule_packs": {"acme_policy": {"version": "1.1.0"}}}).status_code
        == 409
    )


def test_upload_that_does_not_compile_lists_every_error(acme, spec):
    bad = {
        "pack_id": "broken",
        "version": "1",
        "rules": [
            {
                "id": "b-1",
                "title": "t",
                "severity": "severe",
                "citation": "c",
                "reason": "r",
                "checks": [{"kind": "must_not_say", "match": {"regex": "(unclosed"}}],
            },
            {
                "id": "b-2",
                "title": "t",
                "severity": "high",
                "citation": "c",
                "reason": "r",
                "checks": [{"kind": "must_not_say", "match": {"phrase_set": "nowhere"}}],
            },
        ],
    }
    r = acme.post("/v1/trace/rule-packs", json=bad)
    assert r.status_code == 400
    body = check(spec, r, "")
    assert body["type"].endswith("/invalid_rule_pack")
    errors = body["errors"]
    assert len(errors) >= 2
    for e in errors:
        assert e["code"] and e["message"] and e["location"]["line"] >= 1 and e["location"]["col"] >= 1
    text = json.dumps(errors)
    assert "severe" in text or "severity" in text
    assert "nowhere" in text
    assert acme.get("/v1/trace/rule-packs/broken").status_code == 404
    for junk in (
        b"",
        b"[]",
        b"{",
        b'{"pack_id": "x"}',
        b'{"pack_id": "Bad-Id", "version": "1", "rules": []}',
    ):
        r = acme.post("/v1/trace/rule-packs", content=junk, headers={"content-type": "application/json"})
        assert r.status_code == 400, (junk, r.text)
        check(spec, r, "")


# ------------------------------------------------------------------------------------------------ reads


def _walk(c, spec, path, **params):
    ids, cursor, pages = [], None, 0
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        body = check(spec, c.get(path, params=q), path)
        ids += [row["id"] for row in body["data"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return ids, pages
        cursor = body["next_cursor"]


def test_interactions_pages_and_limits(acme, spec):
    first = check(spec, acme.get("/v1/trace/interactions"), "/v1/trace/interactions")
    assert len(first["data"]) == 20 and first["has_more"] is True  # default page size
    full = check(spec, acme.get("/v1/trace/interactions", params={"limit": 100}), "/v1/trace/interactions")
    assert len(full["data"]) == 100
    for bad in (0, 101, 500, -1, "x", "1.5"):  # the seed says 1..100: outside it is a 400, not a silent clamp
        r = acme.get("/v1/trace/interactions", params={"limit": bad})
        assert r.status_code == 400 and check(spec, r, "")["param"] == "limit"
    ids, pages = _walk(acme, spec, "/v1/trace/interactions", limit=33)
    assert len(ids) == len(set(ids)) == 150 and pages == 5
    fails, _ = _walk(acme, spec, "/v1/trace/interactions", verdict="FAIL", limit=10)
    assert fails and all(
        acme.get(f"/v1/trace/interactions/{i}").json()["verdict"] == "FAIL" for i in fails[:3]
    )
    agent, _ = _walk(acme, spec, "/v1/trace/interactions", agent_id="agent-1", limit=100)
    assert len(agent) == 30
    r = acme.get("/v1/trace/interactions", params={"verdict": "MAYBE"})
    assert r.status_code == 400
    check(spec, r, "")


def test_detail_view(acme, globex, spec):
    cid = synthetic_scorecard(7, "acme").call_id
    body = check(spec, acme.get(f"/v1/trace/interactions/{cid}"), "/v1/trace/interactions/{id}")
    assert body["id"] == cid and re.fullmatch(r"[0-9a-f]{64}", body["audit_hash"])
    assert body["scorecard"]["call_id"] == cid and isinstance(body["tier2_findings"], list)
    assert body["tier2_findings"] and body["tier2_findings"][0]["interaction_id"] == cid
    assert "derived_metrics" in body and isinstance(body["timeline"], list)
    # the other tenant's call is a 404, exactly like an unknown one
    r = globex.get(f"/v1/trace/interactions/{cid}")
    assert r.status_code == 404
    check(spec, r, "")
    assert acme.get("/v1/trace/interactions/no-such-call").status_code == 404


def test_violations_and_findings(acme, globex, spec):
    v = check(spec, acme.get("/v1/trace/violations", params={"limit": 100}), "/v1/trace/violations")
    assert v["data"]
    ids, _ = _walk(acme, spec, "/v1/trace/violations", severity="critical", limit=7)
    assert len(ids) == len(set(ids))
    one = v["data"][0]
    by_call = check(
        spec,
        acme.get("/v1/trace/violations", params={"interaction_id": one["interaction_id"]}),
        "/v1/trace/violations",
    )
    assert {x["interaction_id"] for x in by_call["data"]} == {one["interaction_id"]}
    by_rule = check(
        spec,
        acme.get("/v1/trace/violations", params={"rule_id": one["rule_id"], "limit": 100}),
        "/v1/trace/violations",
    )
    assert {x["rule_id"] for x in by_rule["data"]} == {one["rule_id"]}
    # globex cannot see acme's violations through a filter
    assert (
        globex.get("/v1/trace/violations", params={"interaction_id": one["interaction_id"]}).json()["data"]
        == []
    )

    f_ids, pages = _walk(acme, spec, "/v1/trace/findings", limit=10)
    assert len(f_ids) == len(set(f_ids)) == 25 and pages == 3
    esc = check(
        spec,
        acme.get("/v1/trace/findings", params={"action": "escalate", "limit": 100}),
        "/v1/trace/findings",
    )
    assert esc["data"] and all(f["action"] == "escalate" for f in esc["data"])
    crit = check(
        spec,
        acme.get("/v1/trace/findings", params={"severity": "critical", "check_id": "brand_tone"}),
        "/v1/trace/findings",
    )
    assert all(f["severity"] == "critical" and f["check_id"] == "brand_tone" for f in crit["data"])
    assert len(check(spec, globex.get("/v1/trace/findings"), "/v1/trace/findings")["data"]) == 1


def test_exposure(acme, globex, spec):
    e = check(spec, acme.get("/v1/trace/exposure"), "/v1/trace/exposure")
    assert e["interactions_scanned"] == 150 and e["window_days"] == 30
    assert e["with_a_gap"] == e["by_verdict"]["WARN"] + e["by_verdict"]["FAIL"]
    assert e["top_exposure"] == (e["by_rule"][0]["rule_id"] if e["by_rule"] else None)
    assert (
        check(spec, globex.get("/v1/trace/exposure", params={"window_days": 365}), "/v1/trace/exposure")[
            "interactions_scanned"
        ]
        == 40
    )
    assert (
        check(spec, acme.get("/v1/trace/exposure", params={"window_days": 1}), "/v1/trace/exposure")[
            "interactions_scanned"
        ]
        == 0
    )
    for bad in (0, 366, "x"):
        r = acme.get("/v1/trace/exposure", params={"window_days": bad})
        assert r.status_code == 400
        check(spec, r, "")


def test_cursors_are_bound_to_their_tenant(acme, globex, spec):
    a = acme.get("/v1/trace/interactions", params={"limit": 5}).json()["next_cursor"]
    g = globex.get("/v1/trace/interactions", params={"limit": 5}).json()["next_cursor"]
    for c, cur in ((globex, a), (acme, g)):
        r = c.get("/v1/trace/interactions", params={"limit": 5, "cursor": cur})
        assert r.status_code == 404
        check(spec, r, "")
    av = acme.get("/v1/trace/violations", params={"limit": 2}).json()["next_cursor"]
    assert globex.get("/v1/trace/violations", params={"limit": 2, "cursor": av}).status_code == 404
    af = acme.get("/v1/trace/findings", params={"limit": 2}).json()["next_cursor"]
    assert globex.get("/v1/trace/findings", params={"limit": 2, "cursor": af}).status_code == 404
    # a well-formed cursor that does not verify (altered, another list's, made up) is not found either
    for cur in (a[:-2] + ("AA" if not a.endswith("AA") else "BB"), av, "a.b"):
        r = acme.get("/v1/trace/interactions", params={"limit": 5, "cursor": cur})
        assert r.status_code == 404, cur
        check(spec, r, "")
    # one that is not even well-formed is a 400
    for cur in ("garbage", "a.b.c", "x" * 2000):
        r = acme.get("/v1/trace/interactions", params={"limit": 5, "cursor": cur})
        assert r.status_code == 400 and check(spec, r, "")["code"] == "invalid_cursor", cur


# ----------------------------------------------------------------------------------- openapi, errors, logs


def test_openapi_describes_the_same_operations(env):
    """The served document is valid OpenAPI 3.1 and has every operation of the seed's contract, with its
    operationId, parameters (the seed's, plus documented extensions) and statuses (plus the errors it returns)."""
    from openapi_spec_validator import validate

    served = httpx.get(env["srv"].url + "/openapi.json", timeout=10).json()
    validate(served)
    assert served["openapi"] == "3.1.0" and "nullable" not in json.dumps(served)
    seed = json.loads(SEED.read_text()) if SEED.exists() else json.loads(PACKAGED.read_text())
    for path, item in seed["paths"].items():
        if not path.startswith("/v1/trace/"):
            continue
        for method, op in item.items():
            mine = served["paths"][path][method]
            assert mine["operationId"] == op["operationId"]
            assert {p["name"] for p in op.get("parameters", [])} <= {p["name"] for p in mine.get("parameters", [])}
            assert set(op["responses"]) <= set(mine["responses"])
    # the response schemas are the seed's (converted to 3.1), except where Trace documents an extension
    for name in ("TraceInteractionDetail", "TraceExposure", "TraceViolation", "TraceFinding", "Error"):
        mine = json.loads(json.dumps(served["components"]["schemas"][name]))
        if name == "TraceExposure":  # the documented extension: the statutory exposure estimate
            assert "Trace extension" in mine["properties"].pop("estimated_damages")["description"]
        assert mine == to_31(seed["components"]["schemas"][name])


def test_unknown_routes_and_methods(acme, spec):
    r = acme.get("/v1/trace/nope")
    assert r.status_code == 404
    check(spec, r, "")
    r = acme.delete("/v1/trace/config")
    assert r.status_code == 405
    check(spec, r, "")


def test_no_key_in_logs(env, acme):
    # a key in the query string must not be logged either
    line = "GET /v1/trace/interactions "
    before = env["srv"].log_text().count(line)
    httpx.get(
        env["srv"].url + "/v1/trace/interactions", params={"api_key": env["keys"]["acme_read"]}, timeout=10
    )
    acme.get("/v1/trace/interactions", params={"limit": 1})
    text = env["srv"].wait_for_log(lambda t: t.count(line) >= before + 2)  # both requests' access lines
    assert "trace.api.access" in text and "/v1/trace/interactions" in text
    for key in env["keys"].values():
        assert key not in text
        assert key[len("trace_sk_") :][:16] not in text
    assert "Traceback" not in text


def test_two_tenants_configure_the_same_agent_id_at_once(acme, globex, spec):
    from concurrent.futures import ThreadPoolExecutor

    def put(args):
        c, mode = args
        return c.put("/v1/trace/config", json={"agent_id": "contested", "guardrails": {"mode": mode}}).status_code

    with ThreadPoolExecutor(8) as ex:
        statuses = list(ex.map(put, [(acme, "block"), (globex, "modify")] * 6))
    assert set(statuses) == {200}
    assert acme.get("/v1/trace/config", params={"agent_id": "contested"}).json()["mode"] == "block"
    assert globex.get("/v1/trace/config", params={"agent_id": "contested"}).json()["mode"] == "modify"
