"""The dashboard's pages, mounted on the service app by :func:`mount` (``trace serve`` serves both).

=================================  ==========================================================================
``GET  /``                         to the Exposure page (or the sign-in form)
``GET  /sign-in``, ``POST``        sign in with an API key (a session cookie, :mod:`trace_engine.web.session`)
``POST /sign-out``                 end the session
``GET  /exposure``                 headline, verdict mix, daily trend, per-rule ranking, estimated damages
``GET  /calls``, ``/calls.csv``    the call list (filters, call id search), and the same as CSV
``GET  /calls/{id}``               one call: timeline with findings on their words, evidence status
``GET  /proofs/{id}``              its inclusion proof (``trace verify-proof`` checks it offline)
``GET  /packs``, ``/packs/{id}``   packs in force and available, lint status; one pack's rules from its source
``GET  /evidence``, ``POST .../verify``  the latest signed checkpoint, its key; run ``trace verify``
``GET  /diff``, ``POST``           a draft pack against recent calls (:mod:`trace_engine.web.diffjob`)
``GET  /static/{name}``            the stylesheet and the one small script, shipped in the package
=================================  ==========================================================================

Pages read with ``trace:read`` (the Diff page too: it writes nothing); the key comes from the session cookie or,
for scripts, from ``Authorization: Bearer`` / ``x-api-key`` as on the API. Every page is rendered on the server
(Jinja2, autoescaped) and works without script; ``app.js`` only adds conveniences (a file picker that fills the
draft box). Responses carry a strict CSP (``'self'`` only, no inline script or style), ``no-store`` and
``frame-ancestors 'none'``. Every SQL statement is in :mod:`trace_engine.store.reads`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from trace_engine import damages
from trace_engine.api import resources
from trace_engine.api.auth import Principal, authenticate, authenticate_hash, hash_key, key_from_headers
from trace_engine.evidence import spans
from trace_engine.report import csv_cell, exposure_report, rule_info
from trace_engine.store import reads
from trace_engine.web import session
from trace_engine.web.charts import daily_trend

HERE = Path(__file__).parent
READ = "trace:read"
WINDOWS = (1, 7, 30, 90, 365)
VERDICTS = ("PASS", "WARN", "FAIL")
STATIC = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
MAX_FORM = 640 * 1024
CSV_ROWS = 100_000


class _SignIn(Exception):
    """No (valid) key: the page sends the browser to the sign-in form."""


class _PageError(Exception):
    def __init__(self, status: int, title: str, message: str):
        self.status, self.title, self.message = status, title, message


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=lambda n: f"{n:,}" if isinstance(n, int) else ("-" if n is None else str(n)),
        pct=lambda x: f"{x:.1%}",
        when=_when,
        money=damages.money,
        amount_range=damages.amount_range,
        segment=lambda value: quote(str(value), safe=""),
    )
    return env


def _when(ms: Any) -> str:
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(ms: Any) -> str:
    if not isinstance(ms, int | float) or isinstance(ms, bool):
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: str | None, max_len: int = 256) -> str | None:
    """A filter value: stripped, bounded, without control characters; empty is none."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > max_len or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise _PageError(400, "Bad filter", f"A filter value must be 1 to {max_len} printable characters.")
    return value


def _int(value: str | None, default: int | None, low: int, high: int) -> int | None:
    if value is None or not value.strip():
        return default
    v = value.strip()
    if not v.lstrip("-").isdigit() or len(v) > 20:
        raise _PageError(400, "Bad filter", "A number filter must be a whole number.")
    return max(low, min(high, int(v)))


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//host`` or a scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2048:
        return "/exposure"
    return value if all(0x20 < ord(c) < 0x7F for c in value) else "/exposure"


def _href(path: str, **params: Any) -> str:
    pairs = []
    for k, v in params.items():
        if v is None or v == "" or v == ():
            continue
        for item in v if isinstance(v, list | tuple) else (v,):
            pairs.append((k, str(item)))
    return path + ("?" + urlencode(pairs) if pairs else "")


# ------------------------------------------------------------------------------------------------ the app


def mount(
    app: FastAPI,
    *,
    pool: Any,
    limiter: Callable[[str], float],
    compilers: Any,
    exposure_memo: Any = None,
    secure_cookies: bool = True,
) -> None:
    """Add the dashboard to the service ``app``. ``pool.get()`` gives this thread's connection; ``limiter(key_id)``
    is the service's per-key rate limit (seconds to wait, 0 to go)."""
    env = _env()
    for name in (HERE / "templates").glob("*.html"):  # compiled now, not on a first request
        env.get_template(name.name)
    threading.Thread(target=_warm, name="trace-web-warm", daemon=True).start()
    db_path = app.state.db_path
    secrets_box: dict[str, bytes] = {}
    verify_runs: dict[str, dict[str, Any]] = {}
    # a verify reads the whole database and a diff re-scores up to MAX_CALLS calls: one of each at a time, so a
    # key that loops on them cannot take the server's cores from everyone else
    heavy = {"verify": threading.Lock(), "diff": threading.Lock()}

    def one_at_a_time(name: str, job: Callable[[], Any]) -> Any:
        if not heavy[name].acquire(blocking=False):
            raise _PageError(429, "Busy", f"Another {name} is running; retry in a moment.")
        try:
            return job()
        finally:
            heavy[name].release()

    cookie = session.cookie_args(secure_cookies)

    def secret() -> bytes:
        if "s" not in secrets_box:
            from trace_engine.store.db import cursor_secret

            secrets_box["s"] = session.derive_secret(cursor_secret(pool.get()))
        return secrets_box["s"]

    # ---------------------------------------------------------------------------------------- auth

    def principal(request: Request) -> Principal:
        """The caller, by its key in a header, else by its session cookie; raises :class:`_SignIn` when neither."""
        conn = pool.get()
        key = key_from_headers(request.headers.get("authorization"), request.headers.get("x-api-key"))
        if key is not None:
            who = authenticate(conn, key)
        else:
            digest = session.key_hash_of(secret(), request.cookies.get(session.SESSION_COOKIE))
            who = authenticate_hash(conn, digest) if digest else None
        if who is None:
            if key is not None:
                raise _PageError(401, "Not signed in", "The API key in the request is not valid.")
            raise _SignIn()
        request.scope.setdefault("state", {})["key_id"] = who.key_id
        wait = limiter(who.key_id)
        if wait:
            raise _PageError(429, "Slow down", f"Too many requests; retry in {wait:.0f} s.")
        if not who.allows(READ):
            raise _PageError(403, "Not allowed", "This key does not have the trace:read scope the dashboard needs.")
        return who

    def csrf_cookie(request: Request) -> tuple[str, bool]:
        value = request.cookies.get(session.CSRF_COOKIE)
        if value and 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
            return value, False
        return session.new_csrf_cookie(), True

    def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        token, fresh = csrf_cookie(request)
        ctx.setdefault("who", None)
        ctx.setdefault("nav", "")
        html = env.get_template(template).render(csrf=session.csrf_token(secret(), token), href=_href, **ctx)
        resp = HTMLResponse(html, status, headers=_headers())
        if fresh:
            resp.set_cookie(session.CSRF_COOKIE, token, **cookie)
        return resp

    async def form(request: Request, max_bytes: int = MAX_FORM) -> dict[str, str]:
        """A urlencoded POST body, bounded while it streams, with its CSRF token and Origin checked."""
        origin = request.headers.get("origin")
        host = request.headers.get("host")
        if origin and origin != "null" and (not host or origin.split("://", 1)[-1] != host):
            raise _PageError(403, "Refused", "This form was sent from another site.")
        ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise _PageError(415, "Refused", "Send the form as application/x-www-form-urlencoded.")
        chunks, size = [], 0
        try:
            async with asyncio.timeout(app.state.settings.body_seconds):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _PageError(413, "Too large", f"The form may be at most {max_bytes // 1024} KB.")
                    chunks.append(chunk)
        except TimeoutError:
            raise _PageError(408, "Too slow", "The form did not arrive in time.") from None
        request.scope.setdefault("state", {})["body_read"] = True
        try:
            parsed = parse_qs(b"".join(chunks).decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise _PageError(400, "Bad form", "The form is not valid.") from None
        fields = {k: v[0] for k, v in parsed.items() if len(v) == 1}
        if not session.csrf_ok(secret(), request.cookies.get(session.CSRF_COOKIE), fields.get("csrf")):
            raise _PageError(403, "Refused", "The form expired or did not come from this page; reload and retry.")
        return fields

    @app.exception_handler(_SignIn)
    async def _to_sign_in(request: Request, exc: _SignIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(_href("/sign-in", next=_safe_next(target)), 303, headers=_headers())

    @app.exception_handler(_PageError)
    async def _page_error(request: Request, exc: _PageError) -> Response:
        resp = render(request, "error.html", exc.status, title=exc.title, message=exc.message)
        if exc.status == 429:
            resp.headers["Retry-After"] = "1"
        return resp

    # -------------------------------------------------------------------------------------- sign-in

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        try:
            await run_in_threadpool(principal, request)
        except _SignIn:
            return RedirectResponse("/sign-in", 303, headers=_headers())
        return RedirectResponse("/exposure", 303, headers=_headers())

    @app.get("/sign-in", include_in_schema=False)
    async def sign_in_form(request: Request) -> Response:
        return render(request, "signin.html", next=_safe_next(request.query_params.get("next")), error=None)

    @app.post("/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        if secure_cookies and not _cookie_can_stick(request):  # before the CSRF check, whose cookie is Secure too
            return render(request, "signin.html", 400, next="/exposure", error=(
                "This page was reached over plain HTTP, and the session cookie is Secure: a browser keeps it only "
                "over HTTPS or on this machine. Serve the dashboard over HTTPS (TLS in front of trace serve)."))
        fields = await form(request, 8 * 1024)
        key = (fields.get("api_key") or "").strip()
        nxt = _safe_next(fields.get("next"))
        who = await run_in_threadpool(authenticate, pool.get(), key) if key else None
        if who is None or not who.allows(READ):
            error = "That API key is not valid." if who is None else "That key lacks the trace:read scope."
            await asyncio.sleep(0.2)  # a guessing loop gets nothing fast
            return render(request, "signin.html", 401 if who is None else 403, next=nxt, error=error)
        resp = RedirectResponse(nxt, 303, headers=_headers())
        resp.set_cookie(session.SESSION_COOKIE, session.issue(secret(), hash_key(key)),
                        max_age=session.SESSION_SECONDS, **cookie)
        return resp

    @app.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        await form(request, 4 * 1024)
        resp = RedirectResponse("/sign-in", 303, headers=_headers())
        resp.delete_cookie(session.SESSION_COOKIE, **cookie)
        return resp

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise _PageError(404, "Not found", "No such file.")
        data = (HERE / "static" / name).read_bytes()
        return Response(data, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=3600",
                                                               "X-Content-Type-Options": "nosniff"})

    # ------------------------------------------------------------------------------------- exposure

    @app.get("/exposure", include_in_schema=False)
    async def exposure_page(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)
        q = request.query_params
        window = _int(q.get("window"), 30, 1, 365)
        agent = _text(q.get("agent"))
        pack = _text(q.get("pack"), 64)

        def build() -> dict[str, Any]:
            conn = pool.get()
            report = exposure_report(conn, who.tenant, window, agent_id=agent, pack_id=pack,
                                     memo=exposure_memo if agent is None else None)
            return {
                "report": report,
                "agents": reads.agent_ids(conn, who.tenant),
                "packs": sorted({r.pack_id for r in resources.list_packs(conn, who.tenant)}),
            }

        data = await run_in_threadpool(build)
        r = data["report"]
        base = {"agent": agent, "since": r["since_ms"]}
        gap_link = _href("/calls", **base, pack=pack) if pack else _href("/calls", **base, verdict=["WARN", "FAIL"])
        chart = daily_trend(
            r["days"],
            lambda d: _href("/calls", agent=agent, pack=pack, since=d["start_ms"], until=d["end_ms"]),
            label=f"Calls per day over the last {window} days, by verdict",
            table_id="trend-table",
        )
        return render(
            request, "exposure.html", who=who, nav="exposure", r=r, window=window, windows=WINDOWS, agent=agent,
            pack=pack, agents=data["agents"], packs=data["packs"], chart=chart, base=base, gap_link=gap_link,
        )

    # ---------------------------------------------------------------------------------------- calls

    def call_filters(request: Request) -> dict[str, Any]:
        q = request.query_params
        verdicts = tuple(v for v in q.getlist("verdict") if v in VERDICTS) or None
        since = _int(q.get("since"), None, 0, 2**53)
        window = _int(q.get("window"), None, 1, 365)
        if since is None and window is not None:
            since = reads.window_start(window, int(time.time() * 1000))
        return {
            "verdicts": verdicts,
            "agent_id": _text(q.get("agent")),
            "rule_id": _text(q.get("rule"), 128),
            "pack_id": _text(q.get("pack"), 64),
            "since_ms": since,
            "until_ms": _int(q.get("until"), None, 0, 2**53),
            "call_id_contains": _text(q.get("q")),
        }

    def filter_params(f: dict[str, Any]) -> dict[str, Any]:
        return {"verdict": list(f["verdicts"] or ()), "agent": f["agent_id"], "rule": f["rule_id"],
                "pack": f["pack_id"], "since": f["since_ms"], "until": f["until_ms"], "q": f["call_id_contains"]}

    @app.get("/calls", include_in_schema=False)
    async def calls_page(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)
        f = call_filters(request)
        cursor = _text(request.query_params.get("cursor"), 1024)

        def build() -> dict[str, Any]:
            from trace_engine.store.cursor import CursorError

            conn = pool.get()
            try:
                page = reads.list_calls(conn, who.tenant, **f, limit=50, cursor=cursor)
            except CursorError:
                raise _PageError(400, "Bad page link", "That page link does not belong to these filters.") from None
            return {"page": page, "total": reads.count_calls(conn, who.tenant, **f),
                    "agents": reads.agent_ids(conn, who.tenant)}

        data = await run_in_threadpool(build)
        params = filter_params(f)
        return render(
            request, "calls.html", who=who, nav="calls", f=f, params=params, verdicts=VERDICTS,
            page=data["page"], total=data["total"], agents=data["agents"],
            next_link=_href("/calls", **params, cursor=data["page"]["next_cursor"]) if data["page"]["has_more"] else None,
            csv_link=_href("/calls.csv", **params),
        )

    @app.get("/calls.csv", include_in_schema=False)
    async def calls_csv(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)
        f = call_filters(request)
        conn_pool = pool

        def pages() -> Iterator[str]:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["call_id", "call_at", "agent_id", "verdict", "findings", "blocked_turns", "modified_turns",
                        "packs_enforced", "scored_at"])
            cursor, rows = None, 0
            while rows < CSV_ROWS:
                page = reads.list_calls(conn_pool.get(), who.tenant, **f, limit=1000, cursor=cursor)
                for c in page["data"]:
                    w.writerow([csv_cell(c["id"]), _iso(c["call_at"]), csv_cell(c["agent_id"]), c["verdict"], c["findings"],
                                c["blocked_turns"], c["modified_turns"], csv_cell(c["packs_enforced"]),
                                _iso(c["scored_at"])])
                rows += len(page["data"])
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
                if not page["has_more"]:
                    break
                cursor = page["next_cursor"]

        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return StreamingResponse(
            pages(), media_type="text/csv; charset=utf-8",
            headers={**_headers(), "Content-Disposition": f'attachment; filename="trace-calls-{stamp}.csv"'},
        )

    @app.get("/proofs/{call_id:path}", include_in_schema=False)
    async def call_proof(request: Request, call_id: str) -> Response:
        who = await run_in_threadpool(principal, request)
        proof = await run_in_threadpool(_proof, db_path, who.tenant, _text(call_id) or "")
        if proof is None:
            raise _PageError(404, "No proof", "No such call, or its record is not covered by a signed checkpoint.")
        return _json_download(proof, "proof", call_id)

    @app.get("/explain/{call_id:path}", include_in_schema=False)
    async def call_explain(request: Request, call_id: str) -> Response:
        """The API's explain view (``/v1/trace/interactions/{id}/explain``) for a signed-in reader: a page, turn by
        turn, of what the evaluator did and why; with ``?format=json``, the view itself as a file."""
        from trace_engine.api.views import explain_interaction

        who = await run_in_threadpool(principal, request)
        explained = await run_in_threadpool(lambda: explain_interaction(pool.get(), who.tenant, _text(call_id) or ""))
        if explained is None:
            raise _PageError(404, "No such call", "This tenant has no call with that id.")
        if request.query_params.get("format") == "json":
            return _json_download(explained, "explain", call_id)
        return render(request, "explain.html", who=who, nav="calls", x=explained)

    @app.get("/calls/{call_id:path}", include_in_schema=False)
    async def call_page(request: Request, call_id: str) -> Response:
        who = await run_in_threadpool(principal, request)
        cid = _text(call_id) or ""

        def build() -> dict[str, Any] | None:
            conn = pool.get()
            detail = reads.interaction_detail(conn, who.tenant, cid)
            if detail is None:
                return None
            sc = detail["scorecard"]
            keys = {(f["rule_id"], f.get("pack_id")) for f in sc.get("findings") or ()}
            keys |= {(s["rule_id"], s.get("pack_id")) for s in sc.get("satisfied") or () if s.get("rule_id")}
            keys |= {(s["rule_id"], s.get("pack_id")) for s in sc.get("not_evaluated") or () if s.get("rule_id")}
            info = rule_info(conn, who.tenant, sorted(keys, key=lambda k: (k[0], k[1] or "")))
            # the read checked the record against its leaf hash and its audit chain, and that the latest signed
            # checkpoint covers the log; the Merkle path itself is built on download (it reads every leaf)
            ck = reads.latest_checkpoint(conn, who.tenant)
            return {"detail": detail, "info": info, "ck": ck}

        data = await run_in_threadpool(build)
        if data is None:
            raise _PageError(404, "No such call", "This tenant has no call with that id.")
        detail = data["detail"]
        sc = detail["scorecard"]
        findings = []
        for i, f in enumerate(sc.get("findings") or ()):
            rule = data["info"].get((f["rule_id"], f.get("pack_id"))) or {}
            findings.append({**f, "n": i, "title": rule.get("title"), "remedy": rule.get("remedy"),
                             "mark": spans.locate(sc, f)})
        timeline = [_turn(e, findings) for e in sc.get("timeline") or ()]
        ck = data["ck"]
        return render(
            request, "call.html", who=who, nav="calls", d=detail, sc=sc, findings=findings, timeline=timeline,
            info=data["info"], ck=ck, covered=ck is not None and detail["seq"] < ck["size"],
            call_level=[f for f in findings if not isinstance(f.get("turn"), int)],
        )

    # ---------------------------------------------------------------------------------------- packs

    @app.get("/packs", include_in_schema=False)
    async def packs_page(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)

        def build() -> dict[str, Any]:
            conn = pool.get()
            cfg = resources.get_config(conn, who.tenant, None)
            in_force = {pid: (ref or {}) for pid, ref in (cfg.config.get("rule_packs") or {}).items()
                        if (ref or {}).get("enabled", True)}
            rows = []
            for rec in resources.list_packs(conn, who.tenant):
                rows.append({"rec": rec, "lint": _lint(rec), "in_force": rec.pack_id in in_force and
                             in_force[rec.pack_id].get("version") in (None, rec.version) and rec.status == "active"})
            return {"rows": rows, "config_source": cfg.source, "in_force": in_force}

        data = await run_in_threadpool(build)
        return render(request, "packs.html", who=who, nav="packs", **data)

    @app.get("/packs/{pack_id}", include_in_schema=False)
    async def pack_page(request: Request, pack_id: str) -> Response:
        who = await run_in_threadpool(principal, request)
        pid = _text(pack_id, 64) or ""
        version = _text(request.query_params.get("version"), 64)

        def build() -> dict[str, Any] | None:
            from trace_engine.docsgen import rule_blocks
            from trace_engine.dsl.printer import applies_to

            conn = pool.get()
            rec = resources.find_pack(conn, who.tenant, pid, version, with_spec=True)
            if rec is None:
                return None
            pack = damages.pack_from_spec(rec.etag, rec.spec_json)
            versions = [r for r in resources.list_packs(conn, who.tenant) if r.pack_id == pid]
            return {"rec": rec, "pack": pack, "blocks": rule_blocks(pack), "lint": _lint(rec), "versions": versions,
                    "scope": applies_to(pack.applies_to) if pack.applies_to else None,
                    "rule_scope": {r.id: applies_to(r.applies_to) for r in pack.rules if r.applies_to},
                    "describe": damages.describe}

        data = await run_in_threadpool(build)
        if data is None:
            raise _PageError(404, "No such pack", "This tenant has no rule pack by that id (and version).")
        return render(request, "pack.html", who=who, nav="packs", **data)

    # ------------------------------------------------------------------------------------- evidence

    @app.get("/evidence", include_in_schema=False)
    async def evidence_page(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)

        def build() -> dict[str, Any]:
            keys = reads._reader_keys(db_path)
            return {"ck": reads.latest_checkpoint(pool.get(), who.tenant),
                    "pubkey": keys[0].encode() if keys else None}

        data = await run_in_threadpool(build)
        return render(request, "evidence.html", who=who, nav="evidence", run=verify_runs.get(who.tenant), **data)

    @app.post("/evidence/verify", include_in_schema=False)
    async def evidence_verify(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)
        await form(request, 4 * 1024)

        def run() -> dict[str, Any]:
            from trace_engine.store.verify import verify_db

            started = time.perf_counter()
            report = verify_db(db_path, pubkeys=reads._reader_keys(db_path))
            mine = [t for t in report.tenants if t.get("tenant") == who.tenant]
            problems = [p.render() for p in report.problems if p.tenant == who.tenant]
            return {"ok": not problems, "tenant": mine[0] if mine else None, "problems": problems[:50],
                    "problem_count": len(problems), "key": report.key, "trusted": report.trusted,
                    "at_ms": int(time.time() * 1000), "seconds": time.perf_counter() - started}

        verify_runs[who.tenant] = await run_in_threadpool(one_at_a_time, "verify", run)
        return RedirectResponse("/evidence#verify", 303, headers=_headers())

    # ----------------------------------------------------------------------------------------- diff

    @app.get("/diff", include_in_schema=False)
    async def diff_form(request: Request) -> Response:
        who = await run_in_threadpool(principal, request)
        from trace_engine.web.diffjob import DEFAULT_CALLS, MAX_CALLS

        return render(request, "diff.html", who=who, nav="diff", draft="", calls=DEFAULT_CALLS, max_calls=MAX_CALLS,
                      report=None, problem=None, warnings=[])

    @app.post("/diff", include_in_schema=False)
    async def diff_run(request: Request) -> Response:
        from trace_engine.web import diffjob

        who = await run_in_threadpool(principal, request)
        fields = await form(request)
        draft = fields.get("draft") or ""
        calls = _int(fields.get("calls"), diffjob.DEFAULT_CALLS, 1, diffjob.MAX_CALLS)

        def build() -> dict[str, Any]:
            try:
                pack, warnings = diffjob.checked_draft(compilers, draft)
            except diffjob.DraftProblem as exc:
                return {"problem": exc, "report": None, "warnings": []}
            return {"problem": None, "report": diffjob.run(pool.get(), who.tenant, pack, calls or 1),
                    "warnings": warnings}

        data = await run_in_threadpool(one_at_a_time, "diff", build)
        status = 200 if data["problem"] is None else 422
        return render(request, "diff.html", status, who=who, nav="diff", draft=draft, calls=calls,
                      max_calls=diffjob.MAX_CALLS, **data)


# --------------------------------------------------------------------------------------------- helpers


def _cookie_can_stick(request: Request) -> bool:
    """Whether a browser will keep a ``Secure`` cookie from this request: over HTTPS, or on loopback."""
    if request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").strip("[]").lower()
    return host in ("localhost", "::1") or host.endswith(".localhost") or host.startswith("127.")


def _warm() -> None:
    """Off the request path, at start-up: the built-in packs' IR (the exposure page reads titles, citations and
    damages figures from it) and the modules a first read imports."""
    try:
        import trace_engine.evidence.signing  # noqa: F401
        import trace_engine.store.prove  # noqa: F401

        for recs in resources.builtin_packs().values():
            damages.pack_from_spec(recs[0].etag, recs[0].spec_json)
    except Exception:  # noqa: BLE001 - best effort: a first request does the same work
        pass


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def _json_download(body: Any, kind: str, call_id: str) -> Response:
    """``body`` as a JSON file named ``{kind}-{call id}.json`` (the id reduced to safe filename characters)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in call_id)[:80]
    return Response(json.dumps(body, indent=2), media_type="application/json",
                    headers={**_headers(), "Content-Disposition": f'attachment; filename="{kind}-{name}.json"'})


def _proof(db_path: str, tenant: str, call_id: str) -> dict[str, Any] | None:
    from trace_engine.store.prove import ProofError, make_proof

    keys = reads._reader_keys(db_path)
    try:
        return make_proof(db_path, tenant, call_id, keys[0] if keys else None)
    except ProofError:
        return None


_LINT: dict[str, dict[str, Any]] = {}


def _lint(rec: Any) -> dict[str, Any]:
    """The lint status of a stored pack (its JSON form), cached by etag: ``{"errors", "warnings", "items"}``."""
    hit = _LINT.get(rec.etag)
    if hit is not None:
        return hit
    from trace_engine.dsl.jsonform import load_json_pack
    from trace_engine.dsl.lint import lint_pack
    from trace_engine.errors import TraceError

    try:
        pack, source = load_json_pack(rec.spec_json, f"{rec.pack_id}@{rec.version}.json")
        found = lint_pack(pack, source)
    except TraceError as exc:
        found = list(exc.diagnostics)
    items = [{"code": d.code, "level": d.level, "message": d.message} for d in found[:50]]
    out = {"errors": sum(1 for d in found if d.level == "error"),
           "warnings": sum(1 for d in found if d.level != "error"), "diagnostics": items}
    if len(_LINT) > 256:
        _LINT.clear()
    _LINT[rec.etag] = out
    return out


def _turn(event: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """A timeline entry with its text cut into segments, each with the findings whose words it is."""
    seq = event.get("seq")
    text = event.get("text") if isinstance(event.get("text"), str) else ""
    here = [f for f in findings if f.get("turn") == seq and isinstance(seq, int)]
    marks = [(f["mark"][0], f["mark"][1], f["n"]) for f in here if f.get("mark")]
    cuts = sorted({0, len(text), *(m[0] for m in marks), *(m[1] for m in marks)})
    segments = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if a == b:
            continue
        segments.append({"text": text[a:b], "findings": [n for s, e, n in marks if s <= a and b <= e]})
    return {**event, "segments": segments, "findings": here}
