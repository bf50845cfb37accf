"""The dashboard over HTTP (in process): sign-in and sessions, CSRF, scopes, tenants, escaping, CSV, and that its
numbers are the API's. The browser run is tests/test_web_browser.py."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from trace_engine.api.app import create_app
from trace_engine.api.auth import create_key, revoke_key
from trace_engine.api.tables import open_db
from trace_engine.evidence.scorecard import Finding
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog
from trace_engine.web import session

REPO = Path(__file__).resolve().parents[1]
DAY = 86_400_000
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    db = root / "t.db"
    base_ms = int(time.time() * 1000)
    cards = []
    for i in range(120):
        sc = synthetic_scorecard(i, "acme")
        sc.started_at = base_ms - (i % 20) * DAY - 1000
        sc.agent_id = "agent-a" if i % 2 else "agent-b"
        if i % 3 == 0:
            sc.findings = [Finding("tcpa-004", "tcpa", "critical", "flag", "47 CFR", "Honor DNC.", 1.0, 1, (0, 4))]
            sc.verdict = "FAIL"
        cards.append(sc)
    odd = synthetic_scorecard(500, "acme")
    odd.call_id, odd.agent_id, odd.started_at = "=HYPERLINK(\"x\")" + HOSTILE, HOSTILE, base_ms - 5000
    odd.timeline[0].text = HOSTILE + " text"
    odd.findings = [Finding("tcpa-004", "tcpa", "critical", "flag", HOSTILE, HOSTILE, 1.0, 0, (0, 8))]
    odd.verdict = "FAIL"
    cards.append(odd)
    other = synthetic_scorecard(900, "globex")
    other.call_id = "globex-secret-call"
    with EvidenceLog(db) as log:  # trace.key beside the DB: the server signs with it too
        log.append_many(cards)
        log.append_many([other])
    conn = open_db(db, create=True)
    keys = {
        "read": create_key(conn, "acme", "trace:read")[0],
        "configure": create_key(conn, "acme", "trace:configure")[0],
        "globex": create_key(conn, "globex", "trace:read")[0],
    }
    revoked, revoked_id = create_key(conn, "acme", "trace:read")
    keys["revoked"], keys["revoked_id"] = revoked, revoked_id
    conn.close()
    app = create_app(db)
    with TestClient(app, base_url="https://testserver") as client:
        yield {"client": client, "keys": keys, "db": db, "odd": odd.call_id}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(world, key: str = "read") -> TestClient:
    c = world["client"]
    c.cookies.clear()
    token = csrf_of(c.get("/sign-in").text)
    r = c.post("/sign-in", data={"csrf": token, "api_key": world["keys"][key], "next": "/calls"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/calls", r.text
    return c


def bearer(world, key: str = "read") -> dict[str, str]:
    return {"Authorization": f"Bearer {world['keys'][key]}"}


def test_pages_need_a_key(world):
    c = world["client"]
    c.cookies.clear()
    r = c.get("/calls?verdict=FAIL", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2Fcalls%3Fverdict%3DFAIL"
    assert c.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    assert c.get("/exposure", headers={"Authorization": "Bearer trace_sk_nope"}).status_code == 401
    r = c.get("/exposure", headers=bearer(world, "configure"))
    assert r.status_code == 403 and "trace:read" in r.text
    assert c.get("/exposure", headers=bearer(world)).status_code == 200


def test_sign_in_cookie_and_csrf(world):
    c = world["client"]
    c.cookies.clear()
    page = c.get("/sign-in")
    assert "trace_csrf=" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
    token = csrf_of(page.text)
    # no token, a wrong token, another site's form: refused before the key is looked at
    assert c.post("/sign-in", data={"api_key": world["keys"]["read"]}).status_code == 403
    assert c.post("/sign-in", data={"csrf": "x" * 43, "api_key": world["keys"]["read"]}).status_code == 403
    r = c.post("/sign-in", data={"csrf": token, "api_key": world["keys"]["read"]},
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = c.post("/sign-in", data={"csrf": token, "api_key": "trace_sk_wrong"})
    assert r.status_code == 401 and "not valid" in r.text
    r = c.post("/sign-in", data={"csrf": token, "api_key": world["keys"]["configure"]})
    assert r.status_code == 403 and "trace:read" in r.text
    r = c.post("/sign-in", data={"csrf": token, "api_key": world["keys"]["read"], "next": "//evil.example/x"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/exposure"  # never off-site
    cookie = r.headers["set-cookie"]
    for flag in ("trace_session=", "HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag in cookie
    assert world["keys"]["read"] not in cookie
    assert c.get("/calls").status_code == 200
    # over plain HTTP to another host the Secure cookie would be dropped: sign-in says why instead of looping
    plain = TestClient(c.app, base_url="http://dashboard.example")
    token = csrf_of(plain.get("/sign-in").text)
    r = plain.post("/sign-in", data={"csrf": token, "api_key": world["keys"]["read"]})
    assert r.status_code == 400 and "Serve the dashboard over HTTPS" in r.text


def test_sessions_cannot_be_forged_and_end_with_their_key(world):
    c = signed_in(world)
    value = c.cookies.get(session.SESSION_COOKIE)
    payload, mac = value.split(".")
    c.cookies.clear()
    c.cookies.set(session.SESSION_COOKIE, payload + "." + mac[:-2] + "AA")
    assert c.get("/calls", follow_redirects=False).status_code == 303
    secret = b"\x00" * 32
    assert session.key_hash_of(secret, session.issue(secret, "ab", now=0), now=10) == "ab"
    assert session.key_hash_of(secret, session.issue(secret, "ab", now=0), now=session.SESSION_SECONDS + 1) is None
    # a revoked key ends its sessions at once
    c = signed_in(world, "revoked")
    assert c.get("/calls").status_code == 200
    conn = open_db(world["db"], create=False)
    assert revoke_key(conn, world["keys"]["revoked_id"])
    conn.close()
    assert c.get("/calls", follow_redirects=False).status_code == 303
    # sign-out needs the form token too
    c = signed_in(world)
    assert c.post("/sign-out", data={"csrf": ""}).status_code == 403
    r = c.post("/sign-out", data={"csrf": csrf_of(c.get("/calls").text)}, follow_redirects=False)
    assert r.status_code == 303 and 'trace_session=""' in r.headers["set-cookie"]


def test_every_page_is_locked_down_and_escapes_what_it_shows(world):
    c = world["client"]
    h = bearer(world)
    for path in ("/exposure", "/calls", "/packs", "/packs/tcpa", "/evidence", "/diff",
                 "/calls/" + quote(world["odd"], safe="")):
        r = c.get(path, headers=h)
        assert r.status_code == 200, (path, r.text[:300])
        assert "script-src 'self'" in r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"
        assert HOSTILE not in r.text, path  # escaped wherever it shows
        assert not re.search(r"<(?:script|link|img)[^>]+(?:src|href)=\"(?:https?:)?//", r.text), path  # no external asset
    detail = c.get("/calls/" + quote(world["odd"], safe=""), headers=h).text
    assert "&lt;script&gt;" in detail and 'class="finding-mark' in detail
    assert c.get("/proofs/" + quote(world["odd"], safe=""), headers=h).json()["call_id"] == world["odd"]
    assert 'id="explain-link" href="/explain/' in detail
    page = c.get("/explain/" + quote(world["odd"], safe=""), headers=h)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"] and HOSTILE not in page.text
    assert "<h1>How the rules decided call <code>" in page.text and 'id="explain-json"' in page.text
    explained = c.get("/explain/" + quote(world["odd"], safe="") + "?format=json", headers=h)
    assert explained.headers["content-disposition"].startswith('attachment; filename="explain-')
    explained = explained.json()
    assert explained["call_id"] == world["odd"] and explained["redacted"] is True and explained["turns"]
    # the page shows every turn the view has, and each event's sentence
    for turn in explained["turns"]:
        if turn["turn"] is not None:
            assert f'id="turn-{turn["turn"]}"' in page.text
        for event in turn.get("events") or ():
            assert str(escape(event["says"])) in page.text
    assert sum(len(turn.get("events") or ()) for turn in explained["turns"]) > 0
    assert c.get("/static/app.css").status_code == 200
    assert c.get("/static/..%2Fpages.py").status_code == 404


def test_tenants_see_only_their_calls(world):
    c = world["client"]
    assert c.get("/calls/globex-secret-call", headers=bearer(world)).status_code == 404
    assert c.get("/calls/globex-secret-call", headers=bearer(world, "globex")).status_code == 200
    assert "globex-secret-call" not in c.get("/calls.csv", headers=bearer(world)).text
    assert c.get("/proofs/globex-secret-call", headers=bearer(world)).status_code == 404
    assert c.get("/explain/globex-secret-call", headers=bearer(world)).status_code == 404
    assert c.get("/explain/globex-secret-call?format=json", headers=bearer(world)).status_code == 404


def test_exposure_numbers_are_the_apis(world):
    c = world["client"]
    h = bearer(world)
    for params in ({"window_days": 30}, {"window_days": 7, "agent_id": "agent-a"}):
        api = c.get("/v1/trace/exposure", params=params, headers=h).json()
        page = c.get("/exposure", params={"window": params["window_days"], "agent": params.get("agent_id")}, headers=h)
        html = page.text

        def shown(id_: str, html=html) -> int:
            return int(re.search(rf'id="{id_}"[^>]*>([\d,]+)<', html).group(1).replace(",", ""))

        assert shown("calls-scanned") == api["interactions_scanned"]
        assert shown("with-a-gap") == api["with_a_gap"]
        assert shown("verdict-fail") == api["by_verdict"]["FAIL"]
        # the number links to exactly the calls behind it
        link = re.search(r'id="with-a-gap" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        listed = c.get(link, headers=h).text
        assert int(re.search(r'id="calls-total">([\d,]+)<', listed).group(1).replace(",", "")) == api["with_a_gap"]
        assert "<svg" in html and "not legal advice" in html


def test_calls_csv_export(world):
    c = world["client"]
    r = c.get("/calls.csv", params={"verdict": "FAIL"}, headers=bearer(world))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    listed = c.get("/calls", params={"verdict": "FAIL"}, headers=bearer(world)).text
    total = int(re.search(r'id="calls-total">([\d,]+)<', listed).group(1).replace(",", ""))
    assert len(rows) == total > 50 and {row["verdict"] for row in rows} == {"FAIL"}
    odd = next(row for row in rows if "HYPERLINK" in row["call_id"])
    assert odd["call_id"].startswith("'=")  # a spreadsheet will not run it
    assert c.get("/calls", params={"q": "HYPERLINK"}, headers=bearer(world)).text.count('href="/calls/') == 1


def test_diff_page_refuses_a_broken_draft_and_compares_a_good_one(world):
    c = signed_in(world)
    token = csrf_of(c.get("/diff").text)
    broken = (REPO / "rule_packs" / "tcpa.trace").read_text().replace("severity critical", "severity critcal", 1)
    r = c.post("/diff", data={"csrf": token, "draft": broken})
    assert r.status_code == 422 and "TS107" in r.text and "does not parse" in r.text
    r = c.post("/diff", data={"csrf": token, "draft": '{"pack_id": "x"}'})
    assert r.status_code == 422 and "schema" in r.text
    draft = (REPO / "rule_packs" / "brand_voice.trace").read_text()
    r = c.post("/diff", data={"csrf": token, "draft": draft, "calls": "50"})
    assert r.status_code == 200 and 'id="diff-summary"' in r.text
    assert re.search(r"<strong>0</strong> of 50 calls change", r.text)  # the same pack changes nothing
    assert c.post("/diff", data={"draft": draft}).status_code == 403  # no CSRF token
