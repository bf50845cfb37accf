"""The evidence database's shared names: the tables, the checkpoint interval, :class:`UnreadableDatabase`, and
:func:`connect` (:func:`trace_engine.store.open_store` under its older name).

Each tenant's log is one hash chain whose records live in two tables that share the position space ``seq``:
``scorecards`` (one per scored call, with its ``violations`` rows) and ``events`` (everything else a read reports:
gaps, Tier-2 findings, agents, configs, rule packs, API keys). The ``directory`` log (tenant ``""`` in ``events``
and ``checkpoints``) lists the tenants. ``gaps``, ``tier2_findings`` and ``agents`` are projections of records
(their ``seq`` names the record); ``rollup_*`` is a cache of exposure counts that ``trace verify`` rebuilds and
compares. ``meta`` holds per-database settings (the evidence format, the cursor HMAC secret, the log id) and is not
evidence. The schema is the migration files of each backend (:mod:`trace_engine.store.migrate`).
"""

from __future__ import annotations

import os

from trace_engine.store.interfaces import Store, UnreadableDatabase
from trace_engine.store.sql import CHECKPOINT_EVERY
from trace_engine.store.sqlite import EVIDENCE_FORMAT, EVIDENCE_TABLES, REQUIRED_TABLES, ROLLUP_TABLES

__all__ = [
    "CHECKPOINT_EVERY", "DEFAULT_DB", "EVIDENCE_TABLES", "REQUIRED_TABLES", "ROLLUP_TABLES", "SCHEMA_VERSION",
    "UnreadableDatabase", "connect",
]

DEFAULT_DB = "trace.db"
SCHEMA_VERSION = EVIDENCE_FORMAT


def connect(db: str | os.PathLike[str] | Store, *, create: bool = True, **options: object) -> Store:
    """Open (and with ``create`` initialise) the evidence database ``db`` (a path or a URL): see
    :func:`trace_engine.store.open_store`."""
    from trace_engine.store import open_store

    return open_store(db, create=create, **options)


def cursor_secret(db: str | os.PathLike[str] | Store) -> bytes:
    """The database's HMAC secret for the read views' cursors (:meth:`Store.cursor_secret`)."""
    if isinstance(db, Store):
        return db.cursor_secret()
    with connect(db, create=False) as store:
        return store.cursor_secret()
