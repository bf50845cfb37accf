"""The service's errors: two shapes, chosen by status alone, exactly as seed 001 draws the line.

* **401, 403, 429** (the seed's "data plane" statuses): the ``Error`` envelope, ``application/json``::

      {"error": {"message": "...", "type": "authentication_error", "code": "unauthorized", "param": null}}

  ``code`` is one of the seed's ``ErrorCode`` values (``unauthorized``, ``forbidden``, ``rate_limit_exceeded``,
  ``concurrency_limit_exceeded``); 429s carry ``Retry-After`` (whole seconds).
* **every other 4xx and 5xx**: RFC 9457 problem details, ``application/problem+json``, one shape::

      {"type": "https://trace.dev/problems/<code>", "title": "Bad Request", "status": 400,
       "detail": "...", "code": "<code>", "request_id": "req_...", "param": "agent_id" | null,
       "errors": [...],               # only when there is a list of diagnostics (config / rule pack errors)
       "limit": {"name": ..., "max": ...}}   # only when a documented limit was exceeded

  The stable code is both ``code`` and the last path segment of ``type``. :data:`PROBLEM_CODES` is the complete
  list (``docs/api.md`` prints it); a test keeps the two in step.

No response ever carries a stack trace: unexpected exceptions become a bare 500 problem with the request id.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

PROBLEM_BASE = "https://trace.dev/problems/"
PROBLEM_MEDIA = "application/problem+json"

#: Error-envelope codes (401/403/429), all from the seed's ``ErrorCode`` enum.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "unauthorized": (401, "Missing or invalid API key."),
    "forbidden": (403, "The key lacks the scope the operation needs."),
    "rate_limit_exceeded": (429, "The key's request rate is over its limit; retry after `Retry-After` seconds."),
    "concurrency_limit_exceeded": (
        429,
        "The tenant already has the most rule-pack compilations in progress; retry after `Retry-After` seconds.",
    ),
}

#: Problem codes (every other status) -> (status, when).
PROBLEM_CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "A query or path parameter is missing, malformed or out of range (`param` names it)."),
    "invalid_agent_id": (400, "An `agent_id` is empty, longer than 256 characters or contains control characters."),
    "invalid_json": (400, "The body is not UTF-8 JSON (or holds a number JSON cannot represent, such as 1e999)."),
    "limit_exceeded": (400, "A documented limit was exceeded; `limit` names it and its maximum."),
    "invalid_config": (400, "The config does not follow `TraceConfigInput`; `errors` lists every problem."),
    "invalid_rule_pack": (400, "The rule pack does not parse, compile or lint clean; `errors` lists every diagnostic."),
    "pack_too_complex": (400, "Compiling the rule pack went over its time or memory budget, or crashed the compiler."),
    "invalid_cursor": (400, "The cursor is malformed, altered, or was issued for another list or other filters."),
    "not_found": (404, "No such resource for this tenant (another tenant's resources are not found either)."),
    "method_not_allowed": (405, "The path exists but not with this method (`Allow` lists the methods)."),
    "request_timeout": (408, "The request body did not arrive in time."),
    "rule_pack_exists": (409, "This tenant already has that `pack_id` and `version`; upload a new version."),
    "builtin_pack_id": (409, "The `pack_id` is a built-in pack's."),
    "unknown_rule_pack": (409, "The config names a rule pack (or version) this tenant does not have."),
    "precondition_failed": (412, "`If-Match` / `If-None-Match` did not hold; the config changed since it was read."),
    "payload_too_large": (413, "The body is larger than the operation accepts (`limit` names the maximum)."),
    "unsupported_media_type": (415, "The body is not sent as `application/json`."),
    "internal_error": (500, "An unexpected error (reported with the request id, never with a stack trace)."),
    "evidence_mismatch": (500, "A stored row does not match its signed evidence record (run `trace verify`)."),
    "compiler_busy": (503, "Every rule-pack compiler is busy and the queue is full; retry after `Retry-After`."),
    "not_ready": (503, "The service cannot serve yet (database unreachable, compilers not started)."),
    "evidence_integrity": (503, "The evidence log holds records the service's key did not sign; nothing is written."),
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_ENVELOPE_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
ENVELOPE_STATUSES = frozenset(_ENVELOPE_TYPES)


class ApiError(Exception):
    """Raised by handlers; rendered by the app's exception handler in the shape its status calls for."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}


def problem_error(code: str, detail: str, *, param: str | None = None, **extra: Any) -> ApiError:
    """An :class:`ApiError` for problem code ``code`` (its status comes from :data:`PROBLEM_CODES`)."""
    return ApiError(PROBLEM_CODES[code][0], code, detail, param=param, extra=extra)


def unauthorized(detail: str = "Missing or invalid API key.") -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="trace"'})


def forbidden(scope: str) -> ApiError:
    return ApiError(403, "forbidden", f"This API key lacks the `{scope}` scope.")


def too_many(code: str, detail: str, retry_after: float) -> ApiError:
    seconds = max(1, int(-(-retry_after // 1)))
    return ApiError(429, code, detail, headers={"Retry-After": str(seconds)})


def bad_request(detail: str, code: str = "invalid_request", *, param: str | None = None, **extra: Any) -> ApiError:
    return problem_error(code, detail, param=param, **extra)


def not_found(detail: str) -> ApiError:
    return problem_error("not_found", detail)


def limit_exceeded(name: str, maximum: int, detail: str, *, status: int = 400, **extra: Any) -> ApiError:
    code = "payload_too_large" if status == 413 else "limit_exceeded"
    return ApiError(status, code, detail, extra={"limit": {"name": name, "max": maximum}, **extra})


def error_envelope(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": _ENVELOPE_TYPES[status], "code": code, "param": param}}


def problem(
    status: int, code: str, detail: str, request_id: str | None, param: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id or "",
        "param": param,
    }
    body.update({k: v for k, v in extra.items() if k in ("errors", "limit")})
    return body


def render(exc: ApiError, request_id: str | None) -> JSONResponse:
    headers = dict(exc.headers)
    if request_id:
        headers["X-Request-Id"] = request_id
    if exc.status in ENVELOPE_STATUSES:
        return JSONResponse(error_envelope(exc.status, exc.code, exc.detail, exc.param), exc.status, headers=headers)
    return JSONResponse(
        problem(exc.status, exc.code, exc.detail, request_id, exc.param, **exc.extra),
        exc.status,
        headers=headers,
        media_type=PROBLEM_MEDIA,
    )


def echo(value: str, width: int = 80) -> str:
    """A user-supplied value quoted for a message: ``repr`` (control characters escaped), cut to ``width``."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"
