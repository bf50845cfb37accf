"""The Trace HTTP service: ``create_app(db_path, settings)`` returns the FastAPI app behind ``trace serve``.

Operations (the seed spec's ``/v1/trace/*``; the served ``/openapi.json`` is :mod:`trace_engine.api.openapi`):

===============================================  ==================  ========================================
``GET  /v1/trace/config``                        trace:configure     agent or org-default config (ETag, 304)
``PUT  /v1/trace/config``                        trace:configure     upsert; raw or ``{agent_id, config}``; If-Match
``GET  /v1/trace/rule-packs``                    trace:configure     built-ins + this tenant's uploads (ETag)
``POST /v1/trace/rule-packs``                    trace:configure     upload, compiled in a compiler process; 201
``GET  /v1/trace/rule-packs/{id}``               trace:configure     latest active or ``?version=``; with spec
``GET  /v1/trace/interactions``                  trace:read          cursor-paginated scorecards
``GET  /v1/trace/interactions/{id}``             trace:read          the evidence view
``GET  /v1/trace/interactions/{id}/explain``     trace:read          the stored call replayed with the tracer
``GET  /v1/trace/violations``                    trace:read          cursor-paginated Tier-0 findings
``GET  /v1/trace/findings``                      trace:read          cursor-paginated Tier-2 findings (alerts feed)
``GET  /v1/trace/exposure``                      trace:read          the exposure summary
``GET  /healthz``, ``/readyz``                   (none)              liveness, readiness
``GET  /docs``, ``/openapi.json``                (none)              Swagger UI (offline), the OpenAPI 3.1 document
``GET  /``, ``/exposure``, ``/calls`` ...        trace:read          the dashboard (:mod:`trace_engine.web.pages`)
===============================================  ==================  ========================================

Every request goes through the same steps, in this order, so that no work is done for a caller who may not ask:
authenticate (401) -> rate limit by key (429) -> scope (403) -> parameters (400) -> body, read as a stream with
its size bounded while it arrives (413, 408, 415) -> the operation. Nothing reads a body before the key is known.

Every query is scoped to the key's tenant; an agent id is the tenant's own; another tenant's call, pack or cursor
is a 404. Errors: :mod:`trace_engine.api.errors`. Request lines are logged by ``trace.api.access`` as method, the
raw path with every byte outside printable ASCII escaped (so ``%0A`` cannot start a forged line), status, time and
``key_id``; no key, header or query string is ever logged.

The keyset-paginated reads are index lookups of about a millisecond and run on the event loop; everything that
writes or may scan runs in the thread pool; rule-pack compilation runs in compiler processes
(:mod:`trace_engine.api.compiler`). The database is a store (:mod:`trace_engine.store`): a SQLite file, where each
thread keeps its own connection (WAL mode, so reads never wait for writers), or PostgreSQL through a connection
pool (several API servers then share it with the gate hosts).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from trace_engine.api import docs, resources, views
from trace_engine.api.auth import Principal, authenticate, key_from_headers
from trace_engine.api.compiler import CompileFailed, CompilerBusy, CompilerPool
from trace_engine.api.errors import (
    ApiError,
    bad_request,
    echo,
    forbidden,
    limit_exceeded,
    not_found,
    problem_error,
    render,
    too_many,
    unauthorized,
)
from trace_engine.api.openapi import CURSOR_PATTERN, served_bytes
from trace_engine.api.ratelimit import TokenBuckets
from trace_engine.api.settings import ServerSettings
from trace_engine.api.tables import open_db
from trace_engine.compile.limits import LIMITS, has_non_finite, json_depth_exceeds, reject_constant
from trace_engine.store.interfaces import Store, StoreError
from trace_engine.store.log import LogIntegrityError
from trace_engine.store.reads import TamperedRecord

log = logging.getLogger("trace.api")


def _where(exc: BaseException) -> str:
    """Where an unhandled exception was raised: its frames as ``file:line in function``, innermost last. The
    exception's message is left out on purpose: it may quote a request body (a transcript, a phrase)."""
    frames = traceback.extract_tb(exc.__traceback__)[-8:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames)) or "-"
access_log = logging.getLogger("trace.api.access")

MAX_LIMIT = 100
MAX_ID = 256
CONFIGURE = "trace:configure"
READ = "trace:read"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CURSOR = re.compile(CURSOR_PATTERN)


def log_safe(raw: bytes | str) -> str:
    """A request path for a log line: printable ASCII as is, every other byte (CR, LF, NUL, quotes, backslash,
    non-ASCII) as ``\\xNN``. A path can then never end a log line or imitate another field."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    return "".join(chr(b) if 0x20 < b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in data[:2048])


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

        request_headers = dict(scope.get("headers") or [])
        has_body = request_headers.get(b"content-length", b"0") not in (b"0", b"") or b"transfer-encoding" in request_headers

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                if has_body and not scope["state"].get("body_read"):
                    # the body was refused unread (401, 413, 415 ...): close the connection instead of letting the
                    # server read and discard the rest of it to keep the connection alive
                    headers.append((b"connection", b"close"))
                app_ms = (time.perf_counter() - start) * 1000
                headers.append((b"server-timing", f"app;dur={app_ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        path = log_safe(scope.get("raw_path") or scope.get("path", ""))
        try:
            await self.app(scope, receive, _send)
        except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
            log.error(
                "unhandled %s in %s %s (request %s) at %s", type(exc).__name__, scope.get("method"), path, rid,
                _where(exc),
            )
            if status["code"] == 0:
                resp = render(ApiError(500, "internal_error", "Internal error."), rid)
                await resp(scope, receive, _send)
        finally:
            state = scope.get("state") or {}
            access_log.info(
                "%s %s %s %.1fms key=%s",
                scope.get("method"),
                path,
                status["code"],
                (time.perf_counter() - start) * 1000,
                state.get("key_id", "-"),
            )


def _rid(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


# ------------------------------------------------------------------------------------------- parameters


def _text_param(name: str, value: str | None, *, code: str = "invalid_request", max_len: int = MAX_ID) -> str | None:
    if value is None:
        return None
    if not value or len(value) > max_len or _CONTROL.search(value):
        raise bad_request(
            f"`{name}` must be 1 to {max_len} characters without control characters.", code, param=name
        )
    return value


def _agent_param(value: str | None) -> str | None:
    return _text_param("agent_id", value, code="invalid_agent_id")


def _int_param(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        n = int(value.strip())
        if not value.strip().lstrip("-").isdigit():
            raise ValueError
    except ValueError:
        raise bad_request(f"`{name}` must be a whole number from {low} to {high}.", param=name) from None
    if not low <= n <= high:
        raise bad_request(f"`{name}` must be from {low} to {high} (got {n}).", param=name)
    return n


def _enum_param(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise bad_request(f"`{name}` must be one of {', '.join(allowed)}.", param=name)
    return value


def _bool_param(name: str, value: str | None) -> bool:
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise bad_request(f"`{name}` must be true or false.", param=name)


def _cursor_param(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 1024 or not _CURSOR.fullmatch(value):
        raise bad_request("Invalid cursor: pass back the `next_cursor` of a previous page.", "invalid_cursor", param="cursor")
    return value


def _query(request: Request, *allowed: str) -> dict[str, str | None]:
    """The query parameters an operation takes (a repeated one is a 400; unknown ones are ignored)."""
    out: dict[str, str | None] = {}
    params = request.query_params
    for name in allowed:
        values = params.getlist(name)
        if len(values) > 1:
            raise bad_request(f"`{name}` may be given once.", param=name)
        out[name] = values[0] if values else None
    return out


# ------------------------------------------------------------------------------------------------- app


def create_app(db_path: str | Path, settings: ServerSettings | None = None, *, key: Any = None) -> FastAPI:
    """The service over the evidence database ``db_path``: a SQLite path (created, with the service tables, when
    missing) or a ``postgresql://`` URL (migrated beforehand with ``trace store migrate``).

    ``settings``: the server settings (:mod:`trace_engine.api.settings`). ``key`` (a ``SigningKey`` or a
    ``trace.key`` path; default ``trace.key`` beside the database) signs the evidence records the service writes:
    keys, configs, rule packs, agents."""
    from trace_engine.store.log import resolve_signing_key, use_key

    settings = settings or ServerSettings()
    db_path = str(db_path)
    store = open_db(db_path, create=True)
    try:
        use_key(store, resolve_signing_key(key, store))
    except BaseException:
        store.close()
        raise
    exposure_memo = views.WholeHoursMemo()
    requests = TokenBuckets(settings.rate_limit, settings.rate_burst)
    uploads = TokenBuckets(settings.upload_rate, settings.upload_burst)
    compilers = CompilerPool(
        settings.compile_workers,
        settings.compile_seconds,
        settings.compile_memory_mb,
        settings.compile_queue,
        settings.compile_wall_seconds,
    )
    compiling: dict[str, int] = {}
    compiling_lock = threading.Lock()

    def _warm() -> None:
        # off the request path: load the built-in packs
        try:
            resources.builtin_packs()
        except Exception as exc:  # noqa: BLE001 - warming is best effort; requests do the same work lazily
            log.warning("warm-up skipped: %s", type(exc).__name__)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        compilers.start()
        threading.Thread(target=_warm, name="trace-api-warm", daemon=True).start()
        try:
            yield
        finally:
            compilers.close()
            store.close()

    app = FastAPI(lifespan=lifespan, title="Trace API", version="1.0.0", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db_path = db_path
    app.state.store = store
    app.state.pool = store  # the name earlier code used
    app.state.settings = settings
    app.state.compilers = compilers

    # ------------------------------------------------------------------------------------------ errors

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return render(exc, _rid(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:  # pragma: no cover
        return render(bad_request("Invalid request."), _rid(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            err = not_found("No such resource.")
        elif exc.status_code == 405:
            err = problem_error("method_not_allowed", f"{request.method} is not allowed here.")
        else:
            err = ApiError(exc.status_code, "internal_error" if exc.status_code >= 500 else "invalid_request", str(exc.detail))
        err.headers.update(exc.headers or {})
        if exc.status_code == 405:
            err.headers["Allow"] = _allowed_methods(app, request.scope)
        return render(err, _rid(request))

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
            "unhandled %s in %s %s (request %s) at %s",
            type(exc).__name__,
            request.method,
            log_safe(request.scope.get("raw_path") or request.url.path),
            _rid(request),
            _where(exc),
        )
        return render(ApiError(500, "internal_error", "Internal error."), _rid(request))

    # ------------------------------------------------------------------------------------ auth, limits

    def auth(request: Request, scope: str) -> tuple[Principal, Store]:
        """401, then 429, then 403: see the module docstring."""
        key = key_from_headers(request.headers.get("authorization"), request.headers.get("x-api-key"))
        if key is None:
            raise unauthorized("Missing API key: send `Authorization: Bearer <key>` or `x-api-key`.")
        who = authenticate(store, key)
        if who is None:
            raise unauthorized("Invalid API key.")
        request.scope.setdefault("state", {})["key_id"] = who.key_id
        wait = requests.take(who.key_id)
        if wait:
            raise too_many("rate_limit_exceeded", f"Rate limit of {settings.rate_limit:g} requests/s exceeded.", wait)
        if not who.allows(scope):
            raise forbidden(scope)
        return who, store

    async def read_body(request: Request, max_bytes: int) -> bytes:
        """The body, read as a stream and refused as soon as it passes ``max_bytes`` (413), or when it is slower
        than ``body_seconds`` (408); 415 unless it is sent as JSON."""
        ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json" and not (ctype.startswith("application/") and ctype.endswith("+json")):
            raise problem_error("unsupported_media_type", "Send the body as `Content-Type: application/json`.")
        too_big = limit_exceeded(
            "body_bytes", max_bytes, f"The body may be at most {max_bytes} bytes.", status=413
        )
        declared = request.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(settings.body_seconds):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_big
                    chunks.append(chunk)
        except TimeoutError:
            raise problem_error(
                "request_timeout", f"The body did not arrive within {settings.body_seconds:g} s."
            ) from None
        request.scope.setdefault("state", {})["body_read"] = True
        return b"".join(chunks)

    async def read_json(request: Request, max_bytes: int) -> tuple[Any, str]:
        """:func:`read_body`, parsed: 400 when it is not UTF-8 JSON or holds a non-finite number, 400
        ``limit_exceeded`` when it nests deeper than the compiler's ``nesting`` limit."""
        raw = await read_body(request, max_bytes)
        try:
            text = raw.decode("utf-8")
            if text.startswith("\ufeff"):
                text = " " + text[1:]
            data = json.loads(text, parse_constant=reject_constant)
        except RecursionError:
            raise limit_exceeded(
                "nesting", LIMITS.nesting, f"The body is nested more than {LIMITS.nesting} levels deep."
            ) from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad_request(f"The body is not valid UTF-8 JSON ({type(exc).__name__}).", "invalid_json") from None
        if json_depth_exceeds(data, LIMITS.nesting):
            raise limit_exceeded(
                "nesting", LIMITS.nesting, f"The body is nested more than {LIMITS.nesting} levels deep."
            )
        if has_non_finite(data):
            raise bad_request("The body holds a number JSON cannot represent (such as 1e999).", "invalid_json")
        return data, text

    def if_none_match(request: Request, etag: str) -> bool:
        inm = request.headers.get("if-none-match")
        if not inm:
            return False
        for tok in inm.split(","):
            tok = tok.strip()
            if tok == "*" or tok.removeprefix("W/").strip('"') == etag:
                return True
        return False

    def with_etag(request: Request, body: dict[str, Any] | bytes, etag: str, status: int = 200) -> Response:
        headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
        if status == 200 and if_none_match(request, etag):
            return Response(status_code=304, headers=headers)
        if isinstance(body, bytes):
            return Response(body, status, headers=headers, media_type="application/json")
        return JSONResponse(body, status, headers=headers)

    # ------------------------------------------------------------------------------------------ config

    @app.get("/v1/trace/config")
    async def get_trace_config(request: Request) -> Response:
        who, conn = await run_in_threadpool(auth, request, CONFIGURE)
        agent_id = _agent_param(_query(request, "agent_id")["agent_id"])
        cfg = await run_in_threadpool(resources.get_config, store, who.tenant, agent_id)
        return with_etag(request, cfg.to_api(), cfg.etag)

    @app.put("/v1/trace/config")
    async def set_trace_config(request: Request) -> Response:
        who, _ = await run_in_threadpool(auth, request, CONFIGURE)  # before a byte of the body is read
        if "agent_id" in request.query_params:
            raise bad_request(
                "Name the agent in the body (`agent_id`), not in the query: a PUT without it sets the org default.",
                "invalid_agent_id",
                param="agent_id",
            )
        body, _ = await read_json(request, settings.config_body_bytes)

        def _put() -> resources.StoredConfig:
            return resources.put_config(
                store,
                who.tenant,
                body,
                if_match=request.headers.get("if-match"),
                if_none_match=request.headers.get("if-none-match"),
            )

        cfg = await run_in_threadpool(_put)
        return JSONResponse(cfg.to_api(), headers={"ETag": f'"{cfg.etag}"', "Cache-Control": "no-cache"})

    # -------------------------------------------------------------------------------------- rule packs

    @app.get("/v1/trace/rule-packs")
    async def list_trace_rule_packs(request: Request) -> Response:
        who, conn = await run_in_threadpool(auth, request, CONFIGURE)
        data = [p.to_api() for p in await run_in_threadpool(resources.list_packs, store, who.tenant)]
        body = {"object": "list", "data": data}
        etag = hashlib.sha256(resources.canonical_json(body).encode()).hexdigest()[:32]
        return with_etag(request, body, etag)

    @app.post("/v1/trace/rule-packs", status_code=201)
    async def create_trace_rule_pack(request: Request) -> Response:
        who, _ = await run_in_threadpool(auth, request, CONFIGURE)  # before a byte of the body is read
        wait = uploads.take(who.key_id)
        if wait:
            raise too_many(
                "rate_limit_exceeded", f"Upload rate limit of {settings.upload_rate:g} packs/s exceeded.", wait
            )
        with compiling_lock:
            if compiling.get(who.tenant, 0) >= settings.tenant_compiles:
                raise too_many(
                    "concurrency_limit_exceeded",
                    f"This tenant already has {settings.tenant_compiles} rule packs compiling.",
                    min(settings.compile_seconds, 5.0),
                )
            compiling[who.tenant] = compiling.get(who.tenant, 0) + 1
        try:
            raw = await read_body(request, settings.pack_body_bytes)  # parsed in the compiler process

            def decide(header: dict[str, Any]) -> None:
                resources.check_upload_identity(store, who.tenant, header["pack_id"], header["version"])

            try:
                outcome = await run_in_threadpool(compilers.compile, raw, decide)
            except CompilerBusy:
                raise ApiError(
                    503,
                    "compiler_busy",
                    "Every rule-pack compiler is busy; retry later.",
                    headers={"Retry-After": str(max(1, int(settings.compile_seconds // 2)))},
                ) from None
            except CompileFailed as exc:
                raise bad_request(f"The rule pack is too complex to compile: {exc}.", "pack_too_complex") from None
        finally:
            with compiling_lock:
                compiling[who.tenant] -= 1
                if not compiling[who.tenant]:
                    del compiling[who.tenant]
        if outcome["status"] != "ok":
            errors = outcome["errors"]
            lines = [
                (f"{e['location']['line']}:{e['location']['col']} " if "location" in e else f"{e.get('pointer', '/')} ")
                + f"{e['code']} {e['message']}"
                for e in errors[:20]
            ]
            more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
            detail = {
                "structure": "The rule pack does not follow TraceRulePackSpec",
                "parse": "The rule pack does not parse",
                "limits": "The rule pack exceeds the compiler's limits",
                "compile": "The rule pack does not compile",
                "lint": "The rule pack has lint errors",
            }[outcome["stage"]]
            detail = f"{detail}: {len(errors)} error(s): " + "; ".join(lines) + more
            if outcome.get("limit"):
                raise limit_exceeded(outcome["limit"]["name"], outcome["limit"]["max"], detail, errors=errors)
            if outcome["stage"] == "structure" and errors and errors[0]["code"] == "TJ001":
                raise bad_request(detail, "invalid_json", errors=errors)
            raise bad_request(detail, "invalid_rule_pack", errors=errors)
        rec = await run_in_threadpool(resources.store_upload, store, who.tenant, outcome)
        return Response(
            rec.to_json(warnings=outcome["warnings"]),
            201,
            media_type="application/json",
            headers={
                "ETag": f'"{rec.etag}"',
                "Location": f"/v1/trace/rule-packs/{rec.pack_id}?version={_quote(rec.version)}",
            },
        )

    @app.get("/v1/trace/rule-packs/{id}")
    async def get_trace_rule_pack(request: Request, id: str) -> Response:  # noqa: A002
        who, conn = await run_in_threadpool(auth, request, CONFIGURE)
        pack_id = _text_param("id", id)
        version = _text_param("version", _query(request, "version")["version"])
        assert pack_id is not None
        rec = await run_in_threadpool(resources.find_pack, store, who.tenant, pack_id, version, with_spec=True)
        if rec is None:
            want = f"{echo(pack_id)} version {echo(version)}" if version is not None else echo(pack_id)
            raise not_found(f"No rule pack {want} for this tenant.")
        return with_etag(request, rec.to_json(), rec.etag)

    # ------------------------------------------------------------------------------------------- reads

    @app.get("/v1/trace/interactions")
    async def list_trace_interactions(request: Request) -> Response:
        who, conn = auth(request, READ)
        q = _query(request, "verdict", "agent_id", "limit", "cursor")
        page = views.list_interactions(
            conn,
            who.tenant,
            verdict=_enum_param("verdict", q["verdict"], ("PASS", "WARN", "FAIL")),
            agent_id=_agent_param(q["agent_id"]),
            limit=_int_param("limit", q["limit"], 20, 1, MAX_LIMIT),
            cursor=_cursor_param(q["cursor"]),
        )
        return JSONResponse(page)

    @app.get("/v1/trace/interactions/{id}")
    async def get_trace_interaction(request: Request, id: str) -> Response:  # noqa: A002
        from trace_engine.store.reads import interaction_detail

        who, conn = auth(request, READ)
        call_id = _text_param("id", id)
        assert call_id is not None
        detail = interaction_detail(conn, who.tenant, call_id)
        if detail is None:
            raise not_found(f"No interaction {echo(call_id)} for this tenant.")
        return JSONResponse(detail)

    @app.get("/v1/trace/interactions/{id}/explain")
    async def explain_trace_interaction(request: Request, id: str) -> Response:  # noqa: A002
        who, conn = auth(request, READ)
        call_id = _text_param("id", id)
        assert call_id is not None
        # a replay of the whole call: CPU work of milliseconds, off the event loop
        explained = await run_in_threadpool(views.explain_interaction, conn, who.tenant, call_id)
        if explained is None:
            raise not_found(f"No interaction {echo(call_id)} for this tenant.")
        return JSONResponse(explained)

    severities = ("low", "medium", "high", "critical")

    @app.get("/v1/trace/violations")
    async def list_trace_violations(request: Request) -> Response:
        who, conn = auth(request, READ)
        q = _query(request, "rule_id", "severity", "interaction_id", "agent_id", "limit", "cursor")
        page = views.list_violations(
            conn,
            who.tenant,
            rule_id=_text_param("rule_id", q["rule_id"]),
            severity=_enum_param("severity", q["severity"], severities),
            interaction_id=_text_param("interaction_id", q["interaction_id"]),
            agent_id=_agent_param(q["agent_id"]),
            limit=_int_param("limit", q["limit"], 20, 1, MAX_LIMIT),
            cursor=_cursor_param(q["cursor"]),
        )
        return JSONResponse(page)

    @app.get("/v1/trace/findings")
    async def list_trace_findings(request: Request) -> Response:
        who, conn = auth(request, READ)
        q = _query(request, "check_id", "action", "severity", "interaction_id", "alerts", "limit", "cursor")
        page = views.list_findings(
            conn,
            who.tenant,
            check_id=_text_param("check_id", q["check_id"]),
            action=_enum_param("action", q["action"], ("flag", "preempt_next", "escalate")),
            severity=_enum_param("severity", q["severity"], severities),
            interaction_id=_text_param("interaction_id", q["interaction_id"]),
            alerts=_bool_param("alerts", q["alerts"]),
            limit=_int_param("limit", q["limit"], 20, 1, MAX_LIMIT),
            cursor=_cursor_param(q["cursor"]),
        )
        return JSONResponse(page)

    @app.get("/v1/trace/exposure")
    async def get_trace_exposure(request: Request) -> Response:
        who, _ = await run_in_threadpool(auth, request, READ)
        q = _query(request, "window_days", "agent_id")
        window_days = _int_param("window_days", q["window_days"], 30, 1, 365)
        agent_id = _agent_param(q["agent_id"])

        def _exposure() -> dict[str, Any]:
            from trace_engine.damages import exposure_with_estimate
            from trace_engine.store.reads import exposure, window_start

            now = int(time.time() * 1000)
            if agent_id is not None:
                exp = exposure(store, who.tenant, window_days=window_days, agent_id=agent_id, now_ms=now)
            else:
                exp = views.exposure_rollup(store, who.tenant, window_days, now_ms=now, memo=exposure_memo)
            return exposure_with_estimate(
                store, who.tenant, exp, since_ms=window_start(window_days, now), agent_id=agent_id
            )

        return JSONResponse(await run_in_threadpool(_exposure))

    # ---------------------------------------------------------------------------------- service, docs

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        def _db() -> bool:
            try:
                with store.read() as s:
                    s.ping()
                return True
            except StoreError:
                return False

        ok = await run_in_threadpool(_db)
        up = compilers.alive()
        if not ok or up == 0:
            why = "the database does not answer" if not ok else "no rule-pack compiler is running yet"
            raise ApiError(503, "not_ready", f"Not ready: {why}.", headers={"Retry-After": "1"})
        return JSONResponse({"status": "ready", "compilers": up})

    @app.get("/openapi.json")
    async def openapi_json() -> Response:
        return Response(served_bytes(), media_type="application/json")

    @app.get("/docs")
    async def swagger_page() -> Response:
        return Response(docs.PAGE, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": docs.CSP})

    @app.get("/docs/{name}")
    async def swagger_asset(name: str) -> Response:
        data = docs.asset(name)
        if data is None:
            raise not_found("No such resource.")
        media = docs.ASSETS.get(name, "application/javascript")
        return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})

    # ---------------------------------------------------------------------------------------- dashboard

    from trace_engine.web.pages import mount

    mount(app, pool=_StorePool(store), limiter=requests.take, compilers=compilers, exposure_memo=exposure_memo)

    app.add_middleware(_AccessLog)
    return app


class _StorePool:
    """What the dashboard asks of a connection pool: ``get()`` gives the store (sessions are per thread)."""

    def __init__(self, store: Any):
        self.store = store

    def get(self) -> Any:
        return self.store


def _allowed_methods(app: FastAPI, scope: dict) -> str:
    """Every method any route of the app serves at this path (Starlette's own 405 names only one route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match == Match.FULL:
            methods |= set(getattr(route, "methods", None) or ())
        else:
            for method in ("PUT", "POST"):
                if route.matches({**scope, "method": method})[0] == Match.FULL:
                    methods.add(method)
    return ", ".join(sorted(methods))


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
