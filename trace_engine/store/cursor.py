"""Opaque, signed keyset cursors.

A cursor is ``base64url(json payload) + "." + base64url(HMAC-SHA256(secret, payload)[:16])``. The payload holds
the view (``interactions`` / ``violations``), the tenant, a hash of the filters, and the keyset position
(``scored_at``, ``seq`` and for violations the finding index) of the last row returned. The secret is per DB
(``meta.cursor_secret``). A cursor that was altered, minted by another DB, or used for another tenant, view or
filter set raises :class:`CursorError`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class CursorError(ValueError):
    """A cursor that is malformed, forged, or bound to another tenant / view / filter set."""


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def filters_digest(filters: dict[str, Any]) -> str:
    canon = json.dumps({k: v for k, v in filters.items() if v is not None}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def encode_cursor(secret: bytes, view: str, tenant: str, filters: dict[str, Any], key: list[int]) -> str:
    payload = json.dumps(
        {"v": view, "t": tenant, "f": filters_digest(filters), "k": key}, separators=(",", ":"), sort_keys=True
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_cursor(secret: bytes, cursor: str, view: str, tenant: str, filters: dict[str, Any]) -> list[int]:
    try:
        p64, m64 = cursor.split(".", 1)
        payload, mac = _unb64(p64), _unb64(m64)
    except (ValueError, AttributeError):
        raise CursorError("malformed cursor") from None
    want = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, want):
        raise CursorError("invalid cursor: signature does not match (altered, or from another database)")
    try:
        data = json.loads(payload)
    except ValueError:
        raise CursorError("malformed cursor") from None
    if data.get("t") != tenant:
        raise CursorError("cursor belongs to another tenant")
    if data.get("v") != view:
        raise CursorError(f"cursor is for the {data.get('v')} list, not {view}")
    if data.get("f") != filters_digest(filters):
        raise CursorError("cursor was issued for different filters")
    key = data.get("k")
    if not isinstance(key, list) or not all(isinstance(x, int) for x in key):
        raise CursorError("malformed cursor")
    return key
