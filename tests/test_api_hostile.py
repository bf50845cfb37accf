"""The HTTP API attacked by a tenant with a ``trace:configure`` key and by an anonymous client, through a real
``trace serve`` on loopback (issue 13). Each test is an attack that worked before the fix: the module docstring of
``trace_engine.api.app`` lists the order of checks every request goes through.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from trace_engine.api.auth import create_key
from trace_engine.api.openapi import served_document
from trace_engine.api.tables import open_db
from trace_engine.api.testing import running_server
from trace_engine.compile.limits import LIMITS
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog

NOW = int(time.time() * 1000)


def rule(i: int, phrases: list[str]) -> dict:
    return {
        "id": f"r-{i}",
        "title": "t",
        "severity": "high",
        "citation": "c",
        "reason": "r",
        "checks": [{"kind": "must_not_say", "match": {"phrases": phrases}}],
    }


def pack(pack_id: str, version: str, rules: list[dict]) -> dict:
    return {"pack_id": pack_id, "version": version, "rules": rules}


def slow_pack(pack_id: str, version: str = "1") -> dict:
    """A valid pack that takes a compiler a few seconds (about 1.3 MB, 7,000 rules)."""
    return pack(pack_id, version, [rule(i, [f"forbidden phrase number {i}", f"another bad thing {i}"]) for i in range(7000)])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    db = d / "trace.db"
    with EvidenceLog(db) as log:
        log.append_many([synthetic_scorecard(i, "victim", base_ms=NOW - 86_400_000) for i in range(30)])
    conn = open_db(str(db))
    keys = {
        "attacker": create_key(conn, "attacker", "trace:*")[0],
        "attacker2": create_key(conn, "attacker", "trace:*")[0],
        "victim": create_key(conn, "victim", "trace:*")[0],
        "limited": create_key(conn, "limited", "trace:*")[0],
    }
    conn.close()
    args = ["--rate-limit", "1000", "--rate-burst", "1000", "--upload-rate", "100", "--upload-burst", "100",
            "--tenant-compiles", "4", "--compile-queue", "8", "--compile-seconds", "20"]
    with running_server(db, d / "server.log", args=args) as srv:
        yield {"srv": srv, "keys": keys, "db": db, "dir": d}


def client(env, who: str) -> httpx.Client:
    return httpx.Client(base_url=env["srv"].url, headers={"Authorization": f"Bearer {env['keys'][who]}"}, timeout=60)


def alive(env) -> bool:
    try:
        return httpx.get(env["srv"].url + "/healthz", timeout=10).status_code == 200 and env["srv"].process.poll() is None
    except httpx.HTTPError:
        return False


PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id", "param"}


def problem(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors", "limit"}
    assert body["code"] == code and body["type"].endswith("/" + code) and body["status"] == status
    return body


# ----------------------------------------------------------------------------- one upload kills the server


def test_a_300000_word_phrase_is_a_400_naming_the_limit_and_the_server_lives(env):
    huge = " ".join("ab" for _ in range(300_000))
    with client(env, "attacker") as c:
        r = c.post("/v1/trace/rule-packs", json=pack("huge", "1", [rule(1, [huge])]))
        body = problem(r, 400, "limit_exceeded")
        assert body["limit"] == {"name": "phrase_chars", "max": LIMITS.phrase_chars}
        # the same phrase in a config's blocked_phrases (within the config body limit) is refused too
        r = c.put("/v1/trace/config", json={"guardrails": {"blocked_phrases": ["ab " * 60_000]}})
        body = problem(r, 400, "invalid_config")
        assert "/guardrails/blocked_phrases/0" in body["detail"]
        assert len(body["detail"]) < 2_000  # names the phrase, never echoes 180,000 characters of it
        r = c.put("/v1/trace/config", json={"guardrails": {"blocked_phrases": ["word " * 100]}})
        assert r.status_code == 400
    assert alive(env)


def test_every_limit_is_a_400_that_names_it(env):
    with client(env, "attacker") as c:
        r = c.post("/v1/trace/rule-packs", json=pack("many", "1", [rule(i, ["x"]) for i in range(LIMITS.rules + 1)]))
        assert problem(r, 400, "limit_exceeded")["limit"]["name"] == "rules"
        r = c.post("/v1/trace/rule-packs", json=pack("wordy", "1", [rule(1, ["w " * (LIMITS.phrase_words + 1)])]))
        assert problem(r, 400, "limit_exceeded")["limit"]["name"] == "phrase_words"
        nested: dict = {"x": 1}
        for _ in range(LIMITS.nesting + 5):
            nested = {"x": nested}
        r = c.post("/v1/trace/rule-packs", json={**pack("deep", "1", [rule(1, ["x"])]), "description": nested})
        assert problem(r, 400, "limit_exceeded")["limit"]["name"] == "nesting"
        big = b'{"pack_id": "big", "version": "1", "rules": [' + b" " * LIMITS.pack_bytes + b"]}"
        r = c.post("/v1/trace/rule-packs", content=big, headers={"content-type": "application/json"})
        assert problem(r, 413, "payload_too_large")["limit"] == {"name": "body_bytes", "max": LIMITS.pack_bytes}
    assert alive(env)


def test_a_compile_that_overruns_its_budget_is_a_400_and_the_next_upload_works(tmp_path):
    db = tmp_path / "t.db"
    conn = open_db(str(db))
    key = create_key(conn, "t1", "trace:*")[0]
    conn.close()
    args = ["--compile-seconds", "1.5", "--upload-rate", "0"]
    with running_server(db, tmp_path / "s.log", args=args) as srv:
        with httpx.Client(base_url=srv.url, headers={"x-api-key": key}, timeout=60) as c:
            r = c.post("/v1/trace/rule-packs", json=slow_pack("slow"))  # seconds of CPU; the budget is 1.5 s
            body = problem(r, 400, "pack_too_complex")
            assert "more than the 1.5 s CPU budget (compile_seconds)" in body["detail"]
            assert httpx.get(srv.url + "/healthz").status_code == 200
            deadline = time.monotonic() + 90
            while True:  # the overrunning compiler was killed; a fresh one takes the next upload once it has
                # booted (the budget is CPU time, so a small pack is never "too complex" on a loaded machine)
                ok = c.post("/v1/trace/rule-packs", json=pack("small", "1", [rule(1, ["guaranteed approval"])]))
                if ok.status_code == 201 or time.monotonic() > deadline:
                    break
                problem(ok, 503, "compiler_busy")
                time.sleep(1.0)
            assert ok.status_code == 201, ok.text


def test_a_compiler_that_dies_is_a_400_for_that_request_only(env):
    server_pid = env["srv"].process.pid
    before = set(_children(server_pid))
    assert before, "the server runs its compilers as child processes"
    result: dict = {}

    def upload() -> None:
        with client(env, "attacker2") as c:
            result["r"] = c.post("/v1/trace/rule-packs", json=slow_pack("killed", "2"))

    started = env["srv"].log_text().count("compilation ")
    t = threading.Thread(target=upload)
    t.start()
    # the compiler is busy with the slow pack once it logged the start (a fixed sleep raced a loaded machine)
    env["srv"].wait_for_log(lambda text: text.count("compilation ") > started)
    for pid in set(before) | set(_children(server_pid)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t.join(60)
    problem(result["r"], 400, "pack_too_complex")
    assert alive(env)
    with client(env, "attacker2") as c:
        deadline = time.monotonic() + 60
        while True:  # a fresh compiler replaces the dead one
            r = c.post("/v1/trace/rule-packs", json=pack("after_crash", "1", [rule(1, ["x y"])]))
            if r.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 201, r.text


def test_a_duplicate_version_is_refused_before_compiling(env):
    def compilations() -> int:
        return env["srv"].log_text().count("compilation ")

    with client(env, "attacker") as c:
        assert c.post("/v1/trace/rule-packs", json=pack("dup", "1", [rule(1, ["x"])])).status_code == 201
        time.sleep(0.2)
        before = compilations()
        r = c.post("/v1/trace/rule-packs", json=pack("dup", "1", [rule(i, [f"phrase {i}"]) for i in range(500)]))
        assert problem(r, 409, "rule_pack_exists")["param"] == "version"
        r = c.post("/v1/trace/rule-packs", json=pack("tcpa", "9", [rule(1, ["x"])]))
        problem(r, 409, "builtin_pack_id")
        time.sleep(0.2)
        assert compilations() == before  # neither was compiled


# ------------------------------------------------------------------------- bodies read before auth and size


def _stream(total: int, chunk: int = 1 << 20):
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        sent += n
        yield b" " * n


def test_an_anonymous_huge_body_is_refused_without_being_read(env):
    pid = env["srv"].process.pid
    before = _rss_kb(pid)
    total = 256 << 20  # 256 MB, streamed (no Content-Length)
    sent = {"n": 0}

    def body():
        for chunk in _stream(total):
            sent["n"] += len(chunk)
            yield chunk

    with httpx.Client(base_url=env["srv"].url, timeout=60) as anon:
        try:
            r = anon.post("/v1/trace/rule-packs", content=body(), headers={"content-type": "application/json"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server answered 401 and closed the connection while we were still sending: fine too
    grown = _rss_kb(pid) - before
    assert grown < 64 * 1024, f"the server grew by {grown} kB for an unauthenticated body"
    assert sent["n"] < total or grown < 64 * 1024
    assert alive(env)


def test_an_authenticated_body_over_the_limit_is_cut_off_while_it_streams(env):
    pid = env["srv"].process.pid
    before = _rss_kb(pid)
    with client(env, "attacker") as c:
        try:
            r = c.put("/v1/trace/config", content=_stream(128 << 20), headers={"content-type": "application/json"})
            problem(r, 413, "payload_too_large")
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass
        # a declared Content-Length over the limit is refused before a byte is read
        r = c.put(
            "/v1/trace/config",
            content=b"{}" + b" " * (300 * 1024),
            headers={"content-type": "application/json"},
        )
        assert problem(r, 413, "payload_too_large")["limit"]["name"] == "body_bytes"
        problem(c.put("/v1/trace/config", content=b"{}", headers={"content-type": "text/plain"}), 415, "unsupported_media_type")
    assert _rss_kb(pid) - before < 64 * 1024
    assert alive(env)


# --------------------------------------------------------------------------------- agents are per tenant


def test_a_tenant_cannot_claim_or_probe_another_tenants_agent(env):
    with client(env, "attacker") as a, client(env, "victim") as v:
        # the victim scored calls under agent-1; the attacker configures "agent-1" in its own namespace
        assert a.put("/v1/trace/config", json={"agent_id": "agent-1", "enabled": True}).status_code == 200
        # the victim's calls under agent-1 are still the victim's, and its config for agent-1 is untouched
        mine = v.get("/v1/trace/interactions", params={"agent_id": "agent-1"})
        assert mine.status_code == 200 and mine.json()["data"]
        assert v.get("/v1/trace/config", params={"agent_id": "agent-1"}).json()["enabled"] is False
        assert v.put("/v1/trace/config", json={"agent_id": "agent-1", "guardrails": {"mode": "block"}}).status_code == 200
        # the attacker learns nothing: the victim's agent reads exactly like a never-seen id
        probe = a.get("/v1/trace/interactions", params={"agent_id": "agent-2"}).json()
        never = a.get("/v1/trace/interactions", params={"agent_id": "no-such-agent-anywhere"}).json()
        assert probe == never == {"object": "list", "data": [], "has_more": False, "next_cursor": None}
        cfg = a.get("/v1/trace/config", params={"agent_id": "agent-2"}).json()
        cfg_never = a.get("/v1/trace/config", params={"agent_id": "no-such-agent-anywhere"}).json()
        assert {k: v for k, v in cfg.items() if k not in ("agent_id", "config")} == {
            k: v for k, v in cfg_never.items() if k not in ("agent_id", "config")
        }
        assert a.get("/v1/trace/exposure", params={"agent_id": "agent-2"}).json()["interactions_scanned"] == 0


# ------------------------------------------------------------------------------------ small hostile inputs


def test_if_match_protects_concurrent_editors(env):
    with client(env, "attacker") as c:
        first = c.get("/v1/trace/config", params={"agent_id": "edited"})
        etag = first.headers["etag"]
        ok = c.put("/v1/trace/config", json={"agent_id": "edited", "enabled": True}, headers={"If-Match": etag})
        assert ok.status_code == 200 and ok.headers["etag"] != etag
        stale = c.put("/v1/trace/config", json={"agent_id": "edited", "enabled": False}, headers={"If-Match": etag})
        problem(stale, 412, "precondition_failed")
        assert stale.headers["etag"] == ok.headers["etag"]
        assert c.get("/v1/trace/config", params={"agent_id": "edited"}).json()["enabled"] is True
        weak = c.put("/v1/trace/config", json={"agent_id": "edited"}, headers={"If-Match": "W/" + ok.headers["etag"]})
        problem(weak, 412, "precondition_failed")
        star = c.put("/v1/trace/config", json={"agent_id": "edited", "enabled": True}, headers={"If-Match": "*"})
        assert star.status_code == 200
        create_only = c.put("/v1/trace/config", json={"agent_id": "edited"}, headers={"If-None-Match": "*"})
        problem(create_only, 412, "precondition_failed")
        fresh = c.put("/v1/trace/config", json={"agent_id": "fresh-one"}, headers={"If-None-Match": "*"})
        # the agent goes in the body: a query agent_id (which would silently set the org default if ignored) is a 400
        problem(c.put("/v1/trace/config", params={"agent_id": "edited"}, json={}), 400, "invalid_agent_id")
        assert fresh.status_code == 200


def test_agent_ids_are_bounded_and_clean(env):
    with client(env, "attacker") as c:
        for bad in ("x" * 257, "a\x00b", "line\nbreak", "\x7f"):
            for path in ("/v1/trace/config", "/v1/trace/interactions", "/v1/trace/violations", "/v1/trace/exposure"):
                problem(c.get(path, params={"agent_id": bad}), 400, "invalid_agent_id")
            problem(c.put("/v1/trace/config", json={"agent_id": bad}), 400, "invalid_agent_id")
        assert c.get("/v1/trace/config", params={"agent_id": "x" * 256}).status_code == 200


def test_deeply_nested_variables_are_a_400_not_a_500(env):
    nested: object = "v"
    for _ in range(300):
        nested = {"k": nested}
    with client(env, "attacker") as c:
        r = c.put("/v1/trace/config", json={"variables": {"deep": nested}})
        assert problem(r, 400, "limit_exceeded")["limit"]["name"] == "nesting"
        for body in (b'{"guardrails": {"inline_timeout_ms": 1e999}}', b'{"enabled": NaN}', b"\xff\xfe"):
            problem(c.put("/v1/trace/config", content=body, headers={"content-type": "application/json"}), 400, "invalid_json")
    assert alive(env)


def test_a_newline_in_the_path_cannot_forge_an_access_log_line(env):
    forged = "GET /v1/trace/config 200 0.1ms key=key_admin"
    with client(env, "attacker") as c:
        r = c.get("/v1/trace/interactions/x%0A" + forged.replace(" ", "%20") + "%0D%0Ay")
        assert r.status_code in (400, 404)  # a control character in an id is a 400; extra slashes route nowhere
    # raw bytes a lenient parser lets through (a quote, non-ASCII) are escaped in the log line as well
    import socket

    with socket.create_connection(("127.0.0.1", env["srv"].port), timeout=10) as sock:
        sock.sendall(b'GET /v1/trace/interactions/q"\xe2\x80\xa8z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        while sock.recv(65536):
            pass
    lines = env["srv"].wait_for_log(lambda t: "/v1/trace/interactions/x" in t and "/v1/trace/interactions/q" in t)
    lines = lines.splitlines()
    assert not any(line.startswith(forged) or line.startswith("GET /v1/trace/config 200") for line in lines)
    logged = [line for line in lines if "trace.api.access" in line and "/v1/trace/interactions/x" in line]
    assert len(logged) == 1 and "%0A" in logged[0] and "%0D" in logged[0]
    raw = [line for line in lines if "trace.api.access" in line and "/v1/trace/interactions/q" in line]
    assert len(raw) <= 1 and all("\\x22" in line and "\\xe2\\x80\\xa8" in line for line in raw)


# ----------------------------------------------------------------------------------------- rate limits


def test_rate_limits_are_per_key_with_retry_after(tmp_path):
    db = tmp_path / "t.db"
    conn = open_db(str(db))
    one = create_key(conn, "t1", "trace:*")[0]
    two = create_key(conn, "t2", "trace:*")[0]
    conn.close()
    args = ["--rate-limit", "2", "--rate-burst", "5", "--upload-rate", "0.01", "--upload-burst", "1"]
    with running_server(db, tmp_path / "s.log", args=args) as srv:
        with httpx.Client(base_url=srv.url, headers={"x-api-key": one}, timeout=30) as c:
            statuses = [c.get("/v1/trace/interactions").status_code for _ in range(12)]
            assert statuses[:5] == [200] * 5 and 429 in statuses
            r = next(c.get("/v1/trace/interactions") for _ in range(3))
            assert r.status_code == 429
            assert r.headers["content-type"].startswith("application/json")
            err = r.json()["error"]
            assert err["code"] == "rate_limit_exceeded" and err["type"] == "rate_limit_error"
            assert int(r.headers["retry-after"]) >= 1
            # the key's limit is its own: another key is served
            assert httpx.get(srv.url + "/v1/trace/interactions", headers={"x-api-key": two}).status_code == 200
            # uploads have their own, stricter bucket
            time.sleep(3)
            assert c.post("/v1/trace/rule-packs", json=pack("p1", "1", [rule(1, ["x"])])).status_code == 201
            up = c.post("/v1/trace/rule-packs", json=pack("p1", "2", [rule(1, ["x"])]))
            assert up.status_code == 429 and int(up.headers["retry-after"]) >= 1


# ------------------------------------------------------------------------------------------- contract


def test_one_error_shape_per_status_class_on_one_endpoint(env):
    with httpx.Client(base_url=env["srv"].url, timeout=30) as anon:
        r = anon.put("/v1/trace/config", json={})
        assert r.status_code == 401 and set(r.json()) == {"error"}
        assert set(r.json()["error"]) == {"message", "type", "code", "param"}
    with client(env, "attacker") as c:
        shapes = set()
        for kwargs in (
            {"content": b"{", "headers": {"content-type": "application/json"}},
            {"json": {"unknown_field": 1}},
            {"json": {"agent_id": ""}},
            {"json": [1]},
            {"json": {"rule_packs": {"nope": {}}}},
            {"content": b"{}", "headers": {"content-type": "text/plain"}},
        ):
            r = c.put("/v1/trace/config", **kwargs)
            assert r.status_code in (400, 409, 415), r.text
            body = problem(r, r.status_code, r.json()["code"])
            shapes.add(frozenset(set(body) - {"errors", "limit"}))
        assert shapes == {frozenset(PROBLEM_KEYS)}


def test_service_endpoints_and_offline_docs(env):
    url = env["srv"].url
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(url + "/readyz").json()
    assert ready["status"] == "ready" and ready["compilers"] >= 1
    page = httpx.get(url + "/docs")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN
    for asset in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"):
        r = httpx.get(url + asset)
        assert r.status_code == 200 and len(r.content) > 20
    assert httpx.get(url + "/docs/../pyproject.toml").status_code == 404
    doc = httpx.get(url + "/openapi.json").json()
    assert doc == served_document()


def test_seed_small_points(env):
    with client(env, "victim") as v:
        # limit > 100 is a 400, not a silent clamp
        assert problem(v.get("/v1/trace/violations", params={"limit": 101}), 400, "invalid_request")["param"] == "limit"
        # an unknown agent on a list is an empty list
        assert v.get("/v1/trace/violations", params={"agent_id": "nobody"}).json()["data"] == []
        # the alerts feed: escalate OR critical
        assert v.get("/v1/trace/findings", params={"alerts": "true"}).status_code == 200
        problem(v.get("/v1/trace/findings", params={"alerts": "maybe"}), 400, "invalid_request")
    with client(env, "attacker") as c:
        # structural validation: pack_id, version, non-empty rules, each named
        for body, pointer in (
            ({"version": "1", "rules": [{}]}, "/"),
            ({"pack_id": "Bad-Id", "version": "1", "rules": [{}]}, "/pack_id"),
            ({"pack_id": "ok", "version": "1", "rules": []}, "/rules"),
        ):
            r = c.post("/v1/trace/rule-packs", json=body)
            errors = problem(r, 400, "invalid_rule_pack")["errors"]
            assert pointer in {e["pointer"] for e in errors}, errors


def test_the_server_outlived_every_attack(env):
    assert alive(env)
    text = env["srv"].log_text()
    assert "Traceback" not in text and "Segmentation" not in text
    for key in env["keys"].values():
        assert key not in text
    assert json.loads(httpx.get(env["srv"].url + "/readyz").text)["status"] == "ready"


def test_docs_list_every_stable_code_and_limit():
    import re

    from trace_engine.api.errors import ERROR_CODES, PROBLEM_CODES

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, flags=re.M))
    assert table == {code: str(status) for code, (status, _) in PROBLEM_CODES.items()}
    for code in ERROR_CODES:
        assert f"`{code}`" in text
    for name in LIMITS.as_dict():
        assert f"`{name}`" in text


def test_a_compiler_whose_pipe_is_closed_under_it_is_not_ready_not_a_dead_thread():
    """The server closing while a compiler boots closes the worker's pipes under the boot thread (EBADF): that
    thread died with an unhandled OSError (seen in the suite as PytestUnhandledThreadExceptionWarning)."""
    from trace_engine.api.compiler import CompilerPool

    pool = CompilerPool(workers=1)
    w = pool._spawn()
    try:
        os.close(w.proc.stdout.fileno())  # what close() does to a booting worker, from another thread
        assert pool._await_ready(w).ready is False
    finally:
        pool.close()


def test_an_unhandled_error_is_logged_by_place_never_by_message():
    """The server log says where an unexpected exception came from (so it can be fixed) but not its message,
    which may quote a request body."""
    from trace_engine.api.app import _where

    def deep():
        raise ValueError("card 4111 1111 1111 1111 in the body")

    try:
        deep()
    except ValueError as exc:
        where = _where(exc)
    assert where.startswith("test_api_hostile.py:") and " in deep <- " in where
    assert "4111" not in where and "card" not in where
