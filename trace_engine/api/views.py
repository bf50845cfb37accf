"""The read views behind ``/v1/trace/interactions``, ``/violations``, ``/findings`` and ``/exposure``.

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
