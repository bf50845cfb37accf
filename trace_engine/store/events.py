"""Checks of service rows against their signed event records, for reads that cannot wait for ``trace verify``.

A row is trusted only when a record of the tenant's log, whose body matches its leaf hash, says the same thing.
This stops the cheap attack (a row inserted or edited by hand) at read time; a rewrite that also recomputes the
record's hashes is caught by ``trace verify`` (the signed tree no longer matches). ``session`` is an open
:class:`~trace_engine.store.interfaces.Session` (a read model).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from trace_engine.evidence.merkle import leaf_hash

log = logging.getLogger("trace.evidence")


def _signed_events(session: Any, tenant: str, kinds: tuple[str, ...], ref: str) -> list[dict]:
    out = []
    for body, leaf in session.events_by_ref(tenant, kinds, ref):
        raw = body.encode("utf-8") if isinstance(body, str) else b""
        if leaf_hash(raw).hex() != leaf:
            continue
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("tenant") == tenant:
            out.append(doc)
    return out


def api_key_is_signed(session: Any, tenant: str, key_id: str, key_hash: str, scopes: str) -> bool:
    """``True`` when the tenant's log holds a signed ``api_key.created`` record for exactly this key and scopes,
    and no ``api_key.revoked`` record for it."""
    docs = _signed_events(session, tenant, ("api_key.created", "api_key.revoked"), key_id)
    created = any(
        d.get("event") == "api_key.created" and d.get("key_hash") == key_hash and d.get("scopes") == scopes
        for d in docs
    )
    revoked = any(d.get("event") == "api_key.revoked" for d in docs)
    if not created:
        log.critical("ALERT api key %s (tenant %s) has no signed record: refused; run `trace verify`", key_id, tenant)
    return created and not revoked


def config_is_signed(session: Any, tenant: str, agent_id: str, body: str, etag: str, updated_at: int) -> bool:
    """``True`` when the latest signed ``config`` record of ``(tenant, agent_id)`` says exactly this."""
    docs = [d for d in _signed_events(session, tenant, ("config",), agent_id) if d.get("agent_id") == agent_id]
    ok = bool(docs) and (docs[-1].get("body"), docs[-1].get("etag"), docs[-1].get("updated_at")) == (body, etag, updated_at)
    if not ok:
        log.critical("ALERT config of %r (tenant %s) differs from its signed record; run `trace verify`", agent_id, tenant)
    return ok


def pack_is_signed(session: Any, tenant: str, pack_id: str, version: str, spec: str, etag: str) -> bool:
    """``True`` when a signed ``rule_pack`` record of the tenant uploaded exactly this pack version."""
    ok = any(
        (d.get("version"), d.get("spec"), d.get("etag")) == (version, spec, etag)
        for d in _signed_events(session, tenant, ("rule_pack",), pack_id)
    )
    if not ok:
        log.critical("ALERT rule pack %s@%s (tenant %s) has no matching signed record; run `trace verify`",
                     pack_id, version, tenant)
    return ok
