"""Dashboard sign-in: a signed session cookie that names an API key, and CSRF tokens for the pages' forms.

Signing in with an API key sets ``trace_session`` (``Secure; HttpOnly; SameSite=Strict; Path=/``) to
``payload.mac``: ``payload`` is base64url JSON ``{"h": sha256 of the key, "exp": unix seconds}`` and ``mac`` an
HMAC-SHA256 of it under a secret derived from the database's own secret (so sessions survive a restart and die
with the database). The key itself is never stored in the browser. Every request re-reads the key by its hash
(:func:`trace_engine.api.auth.authenticate_hash`), so a revoked key ends its sessions at once.

CSRF: every page sets ``trace_csrf`` (a random value, ``HttpOnly; SameSite=Strict``) when missing; each form
carries ``HMAC(secret, "csrf:" + that value)``, and a POST is refused unless the two agree (and an ``Origin``
header, when sent, is this host). SameSite alone already keeps other sites' forms out; the token also holds
against a cookie planted by a sibling subdomain, which cannot compute the HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

SESSION_COOKIE = "trace_session"
CSRF_COOKIE = "trace_csrf"
#: a session lasts a working day
SESSION_SECONDS = 8 * 3600
_LABEL = b"trace-web-session-v1"


def derive_secret(db_secret: bytes) -> bytes:
    """The dashboard's own secret, separate from the database secret it comes from (cursors use that one)."""
    return hmac.new(db_secret, _LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, what: str) -> str:
    return _b64(hmac.new(secret, what.encode("ascii"), hashlib.sha256).digest())


def issue(secret: bytes, key_hash: str, now: float | None = None) -> str:
    """A session cookie value for the key whose SHA-256 (hex) is ``key_hash``."""
    exp = int((time.time() if now is None else now) + SESSION_SECONDS)
    payload = _b64(json.dumps({"h": key_hash, "exp": exp}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def key_hash_of(secret: bytes, value: str | None, now: float | None = None) -> str | None:
    """The key hash a session cookie names, or ``None`` when it is missing, forged, malformed or expired."""
    if not value or len(value) > 512 or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    try:
        if not hmac.compare_digest(mac.encode("ascii"), _mac(secret, payload).encode("ascii")):
            return None
        doc = json.loads(_unb64(payload))
    except (ValueError, UnicodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("h"), str) or not isinstance(doc.get("exp"), int):
        return None
    if doc["exp"] < (time.time() if now is None else now):
        return None
    return doc["h"]


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret: bytes, cookie: str) -> str:
    """The form token that goes with a ``trace_csrf`` cookie value."""
    return _mac(secret, "csrf:" + cookie)


def csrf_ok(secret: bytes, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token or len(cookie) > 128 or len(token) > 128 or not cookie.isascii():
        return False
    return hmac.compare_digest(token.encode("ascii", "replace"), csrf_token(secret, cookie).encode("ascii"))


def cookie_args(secure: bool = True) -> dict[str, Any]:
    """What every dashboard cookie is set with."""
    return {"httponly": True, "secure": secure, "samesite": "strict", "path": "/"}
