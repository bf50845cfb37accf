"""API keys: created once, stored only as a SHA-256 hash, presented as ``Authorization: Bearer <key>`` or
``x-api-key: <key>``.

Scopes: ``trace:configure`` (config and rule packs), ``trace:read`` (the evidence read views); the wildcards
``trace:*`` and ``*`` grant both. A key is ``trace_sk_`` + 43 URL-safe characters (256 random bits), so a plain
SHA-256 is enough to store it (no salt or stretching needed for a random secret). Log lines name a key by its
``key_id`` only.

Minting and revoking a key are signed ``api_key.created`` / ``api_key.revoked`` records of the tenant's evidence
log, written in the same transaction as the ``api_keys`` row; :func:`authenticate` accepts a key only when its
row matches its signed record (a key inserted into ``api_keys`` by hand is refused, and ``trace verify`` names it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from trace_engine.evidence.signing import TENANT_RE
from trace_engine.store.interfaces import Store

KEY_PREFIX = "trace_sk_"
SCOPES: tuple[str, ...] = ("trace:configure", "trace:read")
WILDCARDS: tuple[str, ...] = ("trace:*", "*")
MAX_KEY_LEN = 512


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's tenant, id and scopes."""

    tenant: str
    key_id: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return has_scope(self.scopes, scope)


def has_scope(granted: frozenset[str] | set[str], needed: str) -> bool:
    if needed in granted or "*" in granted:
        return True
    family = needed.split(":", 1)[0]
    return f"{family}:*" in granted


def parse_scopes(text: str) -> frozenset[str]:
    """``"trace:read,trace:configure"`` -> a set; raises ``ValueError`` on an unknown scope or an empty list."""
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    if not scopes:
        raise ValueError("at least one scope is required")
    bad = sorted(s for s in scopes if s not in SCOPES and s not in WILDCARDS)
    if bad:
        raise ValueError(f"unknown scope(s): {', '.join(bad)} (known: {', '.join(SCOPES + WILDCARDS)})")
    return scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    store: Store, tenant: str, scopes: frozenset[str] | set[str] | str, note: str | None = None
) -> tuple[str, str]:
    """Create a key for ``tenant``. Returns ``(key, key_id)``; the key is not recoverable afterwards."""
    if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
        raise ValueError(f"invalid tenant name {tenant!r}")
    if isinstance(scopes, str):
        scopes = parse_scopes(scopes)
    else:
        scopes = parse_scopes(",".join(scopes))
    from trace_engine.store.log import transaction

    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    row = (key_id, tenant, hash_key(key), ",".join(sorted(scopes)), int(time.time() * 1000), None, note)
    with transaction(store) as tx:
        tx.lock([tenant])
        tx.session.insert_api_key(row)
        tx.append_event(
            tenant,
            "api_key.created",
            {"key_id": key_id, "key_hash": row[2], "scopes": row[3], "created_at": row[4], "note": note},
        )
    return key, key_id


def revoke_key(store: Store, key_id: str) -> bool:
    from trace_engine.store.log import transaction

    with store.read() as s:
        tenant = s.active_key_tenant(key_id)
    if tenant is None:
        return False
    with transaction(store) as tx:
        tx.lock([tenant])
        if tx.session.active_key_tenant(key_id) != tenant:  # revoked meanwhile
            return False
        at = int(time.time() * 1000)
        tx.session.revoke_api_key(key_id, at)
        tx.append_event(tenant, "api_key.revoked", {"key_id": key_id, "revoked_at": at})
    return True


def authenticate(store: Store, key: str | None) -> Principal | None:
    """The principal for ``key``, or ``None`` when it is missing, unknown or revoked."""
    if not key or len(key) > MAX_KEY_LEN:
        return None
    return authenticate_hash(store, hash_key(key))


def authenticate_hash(store: Store, digest: str) -> Principal | None:
    """The principal of the key whose SHA-256 is ``digest`` (a dashboard session names its key so), or ``None``
    when it is unknown, revoked, or its row does not match its signed record."""
    from trace_engine.store.events import api_key_is_signed

    with store.read() as s:
        row = s.api_key_by_hash(digest)
        if row is None or not hmac.compare_digest(row[3], digest):
            return None
        if not api_key_is_signed(s, row[1], row[0], digest, row[2]):
            return None
    return Principal(row[1], row[0], frozenset(s for s in row[2].split(",") if s))


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The presented key: ``Authorization: Bearer <key>`` first, then ``x-api-key``."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None
