"""The service's errors, in the seed spec's two shapes.

* 401 / 403: the OpenAI-style ``Error`` envelope (``application/json``)::

      {"error": {"message": "...", "type": "authentication_error", "code": "unauthorized", "param": null}}

  with the stable ``ErrorCode`` values ``unauthorized`` and ``forbidden``.
* 400 / 404 / 405 / 409 / 500: RFC 7807 ``Problem`` (``application/problem+json``); the stable code is the last path
  segment of ``type`` (``.../problems/not_found``). Compile and lint errors of a rule pack upload are listed in
  ``errors`` (one entry per diagnostic, with its location).

No response ever carries a stack trace: unexpected exceptions become a bare 500 problem with the request id.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_BASE = "https://trace.dev/problems/"
PROBLEM_MEDIA = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


class ApiError(Exception):
    """Raised by handlers; rendered by the app's exception handler."""

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


def unauthorized(detail: str = "Missing or invalid API key.") -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="trace"'})


def forbidden(scope: str) -> ApiError:
    return ApiError(403, "forbidden", f"This API key lacks the `{scope}` scope.")


def bad_request(
    detail: str, code: str = "invalid_request", *, param: str | None = None, **extra: Any
) -> ApiError:
    return ApiError(400, code, detail, param=param, extra=extra)


def not_found(detail: str) -> ApiError:
    return ApiError(404, "not_found", detail)


def conflict(detail: str, **extra: Any) -> ApiError:
    return ApiError(409, "conflict", detail, extra=extra)


def error_envelope(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    etype = (
        "authentication_error"
        if status == 401
        else "permission_error"
        if status == 403
        else "invalid_request_error"
    )
    return {"error": {"message": message, "type": etype, "code": code, "param": param}}


def problem(status: int, code: str, detail: str, request_id: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def render(exc: ApiError, request_id: str | None) -> JSONResponse:
    headers = dict(exc.headers)
    if request_id:
        headers["X-Request-Id"] = request_id
    if exc.status in (401, 403):
        return JSONResponse(
            error_envelope(exc.status, exc.code, exc.detail, exc.param), exc.status, headers=headers
        )
    extra = dict(exc.extra)
    if exc.param is not None:
        extra.setdefault("param", exc.param)
    return JSONResponse(
        problem(exc.status, exc.code, exc.detail, request_id, **extra),
        exc.status,
        headers=headers,
        media_type=PROBLEM_MEDIA,
    )
