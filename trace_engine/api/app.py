"""The Trace HTTP service: ``create_app(db_path)`` returns the FastAPI app behind ``trace serve``.

Operations (the seed spec's ``/v1/trace/*``; its OpenAPI document is what ``/openapi.json`` serves):

=========================================  ==================  ========================================
``GET  /v1/trace/config``                  trace:configure     agent or org-default config (ETag, 304)
``PUT  /v1/trace/config``                  trace:configure     upsert; raw or ``{agent_id, config}``
``GET  /v1/trace/rule-packs``              trace:configure     built-ins + this tenant's uploads
``POST /v1/trace/rule-packs``              trace:configure     upload (compiled + linted first); 201
``GET  /v1/trace/rule-packs/{id}``         trace:configure     latest active or ``?version=``; with spec
``GET  /v1/trace/interactions``            trace:read          cursor-paginated scorecards
``GET  /v1/trace/interactions/{id}``       trace:read          the evidence view
``GET  /v1/trace/violations``              trace:read          cursor-paginated Tier-0 findings
``GET  /v1/trace/findings``                trace:read          cursor-paginated Tier-2 findings
``GET  /v1/trace/exposure``                trace:read          the exposure summary
=========================================  ==================  ========================================

Every query is scoped to the key's tenant; another tenant's call, pack, agent or cursor is a 404. Errors: 401/403
in the ``Error`` envelope, everything else ``application/problem+json`` (:mod:`trace_engine.api.errors`). Request
lines are logged by ``trace.api.access`` as method, path (never the query string), status, time and ``key_id``;
no key, header or query string is ever logged.

The keyset-paginated reads (interactions, detail, violations, findings) are index lookups of about a millisecond
and run on the event loop; everything that writes or may scan (config, rule packs, exposure catch-up) runs in the
thread pool. Each thread keeps its own SQLite connection (WAL mode, so reads never wait for writers).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from trace_engine.api import resources, views
from trace_engine.api.auth import Principal, authenticate, key_from_headers
from trace_engine.api.errors import ApiError, bad_request, forbidden, not_found, render, unauthorized
from trace_engine.api.schemas import openapi_document
from trace_engine.api.tables import open_db
from trace_engine.store.log import LogIntegrityError
from trace_engine.store.reads import TamperedRecord

log = logging.getLogger("trace.api")
access_log = logging.getLogger("trace.api.access")

MAX_LIMIT = 100
MAX_BODY_BYTES = 1_000_000
CONFIGURE = "trace:configure"
READ = "trace:read"


class _Connections:
    """One SQLite connection per thread, all on the same file."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from trace_engine.store.db import connect

            conn = connect(self.path, create=False)
            conn.execute("PRAGMA cache_size = -32000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()


class _AccessLog:
    """Pure ASGI middleware: a request id on every response and one access line per request (no query string,
    no headers), plus a last-resort 500 problem if anything escapes the app."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = {"code": 0}

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                app_ms = (time.perf_counter() - start) * 1000
                headers.append((b"server-timing", f"app;dur={app_ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
            log.error(
                "unhandled %s in %s %s (request %s)",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                rid,
            )
            if status["code"] == 0:
                resp = render(ApiError(500, "internal_error", "Internal error."), rid)
                await resp(scope, receive, _send)
        finally:
            state = scope.get("state") or {}
            access_log.info(
                "%s %s %s %.1fms key=%s",
                scope.get("method"),
                scope.get("path"),
                status["code"],
                (time.perf_counter() - start) * 1000,
                state.get("key_id", "-"),
            )


def _rid(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def create_app(db_path: str | Path, key: Any = None) -> FastAPI:
    """The service over the evidence database at ``db_path`` (created, with the service tables, when missing).

    ``key`` (a ``SigningKey`` or a ``trace.key`` path; default ``trace.key`` beside the database) signs the
    evidence records the service writes: keys, configs, rule packs, agents."""
    from trace_engine.store.log import resolve_signing_key, use_key

    db_path = str(db_path)
    use_key(db_path, resolve_signing_key(key, db_path))
    init = open_db(db_path, create=True)
    init.close()
    pool = _Connections(db_path)
    exposure_memo = views.WholeHoursMemo()

    def _warm() -> None:
        # off the request path: load the built-in packs
        try:
            resources.builtin_packs()
        except Exception as exc:  # noqa: BLE001 - warming is best effort; requests do the same work lazily
            log.warning("warm-up skipped: %s", type(exc).__name__)

    threading.Thread(target=_warm, name="trace-api-warm", daemon=True).start()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        pool.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Trace API",
        version="1.0.0",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.openapi = openapi_document  # type: ignore[method-assign]
    app.state.db_path = db_path
    app.state.pool = pool

    # ------------------------------------------------------------------------------------------ errors

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return render(exc, _rid(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # 401/403 come before parameter errors, as for every other request
        needed = CONFIGURE if "/config" in request.url.path or "/rule-packs" in request.url.path else READ
        try:
            auth(request, needed)
        except ApiError as auth_exc:
            return render(auth_exc, _rid(request))
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path", "body", "header")]
        param = loc[0] if loc else None
        msg = first.get("msg", "invalid request")
        detail = f"{param}: {msg}" if param else msg
        return render(bad_request(f"Invalid request: {detail}.", param=param), _rid(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = "No such resource." if exc.status_code == 404 else str(exc.detail)
        err = ApiError(exc.status_code, code, detail)
        resp = render(err, _rid(request))
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(LogIntegrityError)
    async def _integrity(request: Request, exc: LogIntegrityError) -> JSONResponse:
        # the log holds records the service's key did not sign: it writes nothing over them
        log.critical("ALERT %s (request %s)", exc, _rid(request))
        return render(
            ApiError(503, "evidence_integrity", "The evidence log cannot be extended: run `trace verify`."), _rid(request)
        )

    @app.exception_handler(TamperedRecord)
    async def _tampered(request: Request, exc: TamperedRecord) -> JSONResponse:
        log.critical("ALERT %s (request %s)", exc, _rid(request))
        return render(
            ApiError(500, "evidence_mismatch", "A stored record does not match its signature: run `trace verify`."),
            _rid(request),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled %s in %s %s (request %s)",
            type(exc).__name__,
            request.method,
            request.url.path,
            _rid(request),
        )
        return render(ApiError(500, "internal_error", "Internal error."), _rid(request))

    # -------------------------------------------------------------------------------------------- auth

    def auth(request: Request, scope: str) -> tuple[Principal, sqlite3.Connection]:
        conn = pool.get()
        key = key_from_headers(request.headers.get("authorization"), request.headers.get("x-api-key"))
        if key is None:
            raise unauthorized("Missing API key: send `Authorization: Bearer <key>` or `x-api-key`.")
        who = authenticate(conn, key)
        if who is None:
            raise unauthorized("Invalid API key.")
        request.scope.setdefault("state", {})["key_id"] = who.key_id
        if not who.allows(scope):
            raise forbidden(scope)
        return who, conn

    def page_size(limit: int) -> int:
        if limit < 1:
            raise bad_request("Invalid request: limit must be at least 1.", param="limit")
        return min(limit, MAX_LIMIT)

    def etag_matches(request: Request, etag: str) -> bool:
        inm = request.headers.get("if-none-match")
        if not inm:
            return False
        for tok in inm.split(","):
            tok = tok.strip()
            if tok == "*":
                return True
            if tok.startswith("W/"):
                tok = tok[2:]
            if tok.strip('"') == etag:
                return True
        return False

    def with_etag(request: Request, body: dict[str, Any], etag: str, status: int = 200) -> Response:
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if status == 200 and etag_matches(request, etag):
            return Response(status_code=304, headers=headers)
        return JSONResponse(body, status, headers=headers)

    # ------------------------------------------------------------------------------------------ config

    @app.get("/v1/trace/config", operation_id="getTraceConfig", tags=["Trace"])
    def get_trace_config(request: Request, agent_id: str | None = Query(None)) -> Response:
        who, conn = auth(request, CONFIGURE)
        if agent_id is not None:
            resources.require_agent(conn, who.tenant, agent_id, must_exist=False)
        cfg = resources.get_config(conn, who.tenant, agent_id)
        return with_etag(request, cfg.to_api(), cfg.etag)

    @app.put("/v1/trace/config", operation_id="setTraceConfig", tags=["Trace"])
    async def set_trace_config(request: Request, agent_id: str | None = Query(None)) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", f"A config may be at most {MAX_BODY_BYTES} bytes.")
        # authenticate before looking at the body
        from starlette.concurrency import run_in_threadpool

        who, conn = await run_in_threadpool(auth, request, CONFIGURE)
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            raise bad_request("The request body is not valid JSON.", "invalid_config") from None
        if body is None:
            raise bad_request("A config body is required.", "invalid_config")

        def _put() -> resources.StoredConfig:
            return resources.put_config(pool.get(), who.tenant, body, agent_id)

        cfg = await run_in_threadpool(_put)
        return JSONResponse(cfg.to_api(), headers={"ETag": f'"{cfg.etag}"'})

    # -------------------------------------------------------------------------------------- rule packs

    @app.get("/v1/trace/rule-packs", operation_id="listTraceRulePacks", tags=["Trace"])
    def list_trace_rule_packs(request: Request) -> Response:
        who, conn = auth(request, CONFIGURE)
        data = [p.to_api() for p in resources.list_packs(conn, who.tenant)]
        return JSONResponse({"object": "list", "data": data})

    @app.post("/v1/trace/rule-packs", operation_id="createTraceRulePack", tags=["Trace"], status_code=201)
    async def create_trace_rule_pack(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        raw = await request.body()
        who, _ = await run_in_threadpool(auth, request, CONFIGURE)

        def _create() -> tuple[resources.PackRecord, list]:
            return resources.create_pack(pool.get(), who.tenant, raw)

        rec, warnings = await run_in_threadpool(_create)
        body = rec.to_api(with_spec=True)
        body["warnings"] = warnings
        return JSONResponse(
            body,
            201,
            headers={
                "ETag": f'"{rec.etag}"',
                "Location": f"/v1/trace/rule-packs/{rec.pack_id}?version={rec.version}",
            },
        )

    @app.get("/v1/trace/rule-packs/{id}", operation_id="getTraceRulePack", tags=["Trace"])
    def get_trace_rule_pack(request: Request, id: str, version: str | None = Query(None)) -> Response:  # noqa: A002
        who, conn = auth(request, CONFIGURE)
        rec = resources.find_pack(conn, who.tenant, id, version)
        if rec is None:
            want = f"{id!r} version {version!r}" if version is not None else repr(id)
            raise not_found(f"No rule pack {want} for this tenant.")
        return with_etag(request, rec.to_api(with_spec=True), rec.etag)

    # ------------------------------------------------------------------------------------------- reads

    @app.get("/v1/trace/interactions", operation_id="listTraceInteractions", tags=["Trace"])
    async def list_trace_interactions(
        request: Request,
        verdict: str | None = Query(None, pattern="^(PASS|WARN|FAIL)$"),
        agent_id: str | None = Query(None),
        limit: int = Query(20),
        cursor: str | None = Query(None),
    ) -> Response:
        who, conn = auth(request, READ)
        n = page_size(limit)
        if agent_id is not None:
            resources.require_agent(conn, who.tenant, agent_id)
        page = views.list_interactions(
            conn, who.tenant, verdict=verdict, agent_id=agent_id, limit=n, cursor=cursor or None
        )
        return JSONResponse(page)

    @app.get("/v1/trace/interactions/{id}", operation_id="getTraceInteraction", tags=["Trace"])
    async def get_trace_interaction(request: Request, id: str) -> Response:  # noqa: A002
        from trace_engine.store.reads import interaction_detail

        who, conn = auth(request, READ)
        detail = interaction_detail(conn, who.tenant, id)
        if detail is None:
            raise not_found(f"No interaction {id!r} for this tenant.")
        return JSONResponse(detail)

    @app.get("/v1/trace/violations", operation_id="listTraceViolations", tags=["Trace"])
    async def list_trace_violations(
        request: Request,
        rule_id: str | None = Query(None),
        severity: str | None = Query(None, pattern="^(low|medium|high|critical)$"),
        interaction_id: str | None = Query(None),
        agent_id: str | None = Query(None),
        limit: int = Query(20),
        cursor: str | None = Query(None),
    ) -> Response:
        who, conn = auth(request, READ)
        n = page_size(limit)
        if agent_id is not None:
            resources.require_agent(conn, who.tenant, agent_id)
        page = views.list_violations(
            conn,
            who.tenant,
            rule_id=rule_id,
            severity=severity,
            interaction_id=interaction_id,
            agent_id=agent_id,
            limit=n,
            cursor=cursor or None,
        )
        return JSONResponse(page)

    @app.get("/v1/trace/findings", operation_id="listTraceFindings", tags=["Trace"])
    async def list_trace_findings(
        request: Request,
        check_id: str | None = Query(None),
        action: str | None = Query(None, pattern="^(flag|preempt_next|escalate)$"),
        severity: str | None = Query(None, pattern="^(low|medium|high|critical)$"),
        interaction_id: str | None = Query(None),
        limit: int = Query(20),
        cursor: str | None = Query(None),
    ) -> Response:
        who, conn = auth(request, READ)
        n = page_size(limit)
        page = views.list_findings(
            conn,
            who.tenant,
            check_id=check_id,
            action=action,
            severity=severity,
            interaction_id=interaction_id,
            limit=n,
            cursor=cursor or None,
        )
        return JSONResponse(page)

    @app.get("/v1/trace/exposure", operation_id="getTraceExposure", tags=["Trace"])
    def get_trace_exposure(
        request: Request,
        window_days: int = Query(30, ge=1, le=365),
        agent_id: str | None = Query(None),
    ) -> Response:
        who, conn = auth(request, READ)
        if agent_id is not None:
            resources.require_agent(conn, who.tenant, agent_id)
        if agent_id is not None:
            from trace_engine.store.reads import exposure

            return JSONResponse(exposure(conn, who.tenant, window_days=window_days, agent_id=agent_id))
        return JSONResponse(views.exposure_rollup(conn, who.tenant, window_days, memo=exposure_memo))

    return _wrap(app)


def _wrap(app: FastAPI) -> FastAPI:
    app.add_middleware(_AccessLog)
    return app
