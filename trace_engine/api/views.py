"""The read views behind ``/v1/trace/interactions``, ``/violations``, ``/findings`` and ``/exposure``, and the
explain view (``/v1/trace/interactions/{id}/explain``: :func:`explain_interaction`).

Interactions, violations, exposure and the detail view are :mod:`trace_engine.store.reads`; this module adds the
Tier-2 findings list (read from the store's ``tier2_findings`` table), maps cursor errors to API errors (a cursor
that does not verify for this tenant, list and filters is a 404) and memoizes the whole-hours part of the
exposure rollup (:mod:`trace_engine.store.rollup`, kept by the evidence writer, rebuilt by ``trace verify``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from trace_engine.api.errors import ApiError, not_found
from trace_engine.store import reads
from trace_engine.store.cursor import CursorError
from trace_engine.store.interfaces import Store


def cursor_error(exc: CursorError, cursor: str, tenant: str) -> ApiError:  # noqa: ARG001
    """A well-formed cursor that does not verify for this tenant, list and filters (altered, minted by another
    database, another tenant's, another list's): 404, as for any resource the tenant does not have. A cursor that
    is not even well-formed is a 400 before it gets here."""
    return not_found("No such cursor for this tenant, list and filters: start again without `cursor`.")


def list_interactions(store: Store, tenant: str, **kw: Any) -> dict[str, Any]:
    try:
        return reads.list_interactions(store, tenant, **kw)
    except CursorError as exc:
        raise cursor_error(exc, kw.get("cursor") or "", tenant) from None


def list_violations(store: Store, tenant: str, **kw: Any) -> dict[str, Any]:
    try:
        return reads.list_violations(store, tenant, **kw)
    except CursorError as exc:
        raise cursor_error(exc, kw.get("cursor") or "", tenant) from None




def list_findings(store: Store, tenant: str, *, cursor: str | None = None, **filters: Any) -> dict[str, Any]:
    """``GET /v1/trace/findings``: the Tier-2 store's list, with cursor errors as HTTP errors."""
    from trace_engine.tier2.store import list_findings as store_list_findings

    try:
        return store_list_findings(store, tenant, cursor=cursor, **filters)
    except CursorError as exc:
        raise cursor_error(exc, cursor or "", tenant) from None


class WholeHoursMemo:
    """Per-app memo of the whole-hours part of an exposure: keyed by (tenant, rollup watermark, first whole hour),
    which fully determines it (the rollup only changes when the watermark moves), so a hit is never stale."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._data: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: tuple, value: tuple) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


def exposure_rollup(
    store: Store,
    tenant: str,
    window_days: int = 30,
    *,
    now_ms: int | None = None,
    memo: WholeHoursMemo | None = None,
) -> dict[str, Any]:
    """``GET /v1/trace/exposure``: :func:`trace_engine.store.reads.exposure` (the store's hourly rollup, which its
    writer keeps in the same transaction as the records), with the whole-hours part memoized per rollup state."""
    return reads.exposure(store, tenant, window_days, now_ms=now_ms, memo=memo)


#: what the explain view says about the text it replays (docs/api.md says the same)
REDACTED_NOTE = (
    "Replayed from the stored timeline, in which PII is already redacted ([credit_card], [ssn], ...): detector rules "
    "cannot fire again and their candidates show only as placeholders, so this replay can differ from the stored "
    "verdict. The stored scorecard (GET /v1/trace/interactions/{id}) is the evidence."
)


def stored_call_engine(store: Store, tenant: str, sc: dict[str, Any]) -> tuple[Any, list[str]]:
    """The engine a stored scorecard is replayed with, and the ``pack@version`` refs it cannot have: ``warn`` mode
    (as re-scoring), the packs the call was scored under (each at its recorded version: the tenant's upload, else
    the built-in; the synthesized ``guardrails`` pack comes from the config) and the agent's effective config."""
    from trace_engine.api import resources
    from trace_engine.damages import tenant_pack
    from trace_engine.gate.config import load_config
    from trace_engine.gate.engine import Engine
    from trace_engine.rescore import offline_config

    agent_id = sc.get("agent_id") if isinstance(sc.get("agent_id"), str) else None
    cfg = dict(resources.get_config(store, tenant, agent_id).config)
    cfg["rule_packs"] = {}  # the packs are the call's own, below
    cfg.pop("enabled", None)
    packs, unavailable = [], []
    for ref in sc.get("packs_enforced") or ():
        pack_id, _, version = str(ref).partition("@")
        if pack_id == "guardrails":
            continue
        pack = tenant_pack(store, tenant, pack_id, version or None)
        (packs.append(pack) if pack is not None else unavailable.append(str(ref)))
    return Engine.from_config(offline_config(load_config(cfg)), packs=packs), unavailable


def explain_interaction(store: Store, tenant: str, call_id: str) -> dict[str, Any] | None:
    """The explain view of the tenant's call ``call_id`` (``None`` when it has none): its latest stored scorecard,
    checked like the detail view (signature, audit link), replayed by ``trace explain``'s own code path
    (:func:`trace_engine.replay.explain_transcript`) with :func:`stored_call_engine`."""
    from trace_engine.diff import transcript_from_scorecard
    from trace_engine.replay import explain_transcript

    detail = reads.interaction_detail(store, tenant, call_id)
    if detail is None:
        return None
    sc = detail["scorecard"]
    engine, unavailable = stored_call_engine(store, tenant, sc)
    explained = explain_transcript(engine, transcript_from_scorecard(sc)).to_dict()
    return {
        "id": call_id,
        "audit_hash": detail["audit_hash"],
        "stored_verdict": sc.get("verdict"),
        **explained,
        "redacted": True,
        "note": REDACTED_NOTE,
        "mode": "warn",
        "packs_unavailable": unavailable,
    }
