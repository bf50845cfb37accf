"""Storage: the evidence log, the read model and the service store behind one interface
(:mod:`trace_engine.store.interfaces`), with an embedded backend (:mod:`trace_engine.store.sqlite`, the default)
and a server one (:mod:`trace_engine.store.postgres`). Nothing outside this package writes SQL.

``--db`` everywhere takes a path (SQLite; ``sqlite:///path`` too) or a ``postgresql://`` URL: :func:`open_store`.
"""

from __future__ import annotations

import os
from typing import Any

from trace_engine.store.interfaces import Store, StoreError, UnreadableDatabase

__all__ = ["DEFAULT_DB", "Store", "StoreError", "UnreadableDatabase", "open_store", "store_name"]

DEFAULT_DB = "trace.db"


def store_name(db: str | os.PathLike[str]) -> str:
    """What ``db`` names, for messages: a path as given, a URL without its password."""
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        from trace_engine.store.postgres import redact

        return redact(text)
    return text


def open_store(
    db: str | os.PathLike[str] | Store,
    *,
    create: bool = True,
    migrate: bool | None = None,
    connect_hook: Any = None,
    **options: Any,
) -> Store:
    """The store ``db`` names: a :class:`Store` as it is, a ``postgresql://`` (or ``postgres://``) URL, a
    ``sqlite:///path`` URL, or a file path (``:memory:`` too).

    ``create``: a SQLite file is created (0600) when missing. ``migrate``: apply pending migrations (default: when
    creating a SQLite file; never implicitly on PostgreSQL, where ``trace store migrate`` does it once for every
    host). Raises :class:`UnreadableDatabase` when it cannot be opened as a Trace database of this version."""
    if isinstance(db, Store):
        return db
    text = os.fspath(db)
    if text.startswith(("postgresql://", "postgres://")):
        from trace_engine.store.postgres import PostgresStore

        return PostgresStore(text, create=create, migrate=migrate, connect_hook=connect_hook, **options)
    if text.startswith("sqlite://"):
        text = text.removeprefix("sqlite://")
        if text.startswith("/") and not text.startswith("//"):
            text = text[1:] or ":memory:"  # sqlite:///rel/path -> rel/path; sqlite:////abs -> /abs
        elif text.startswith("//"):
            text = text[1:]
    from trace_engine.store.sqlite import SQLiteStore

    return SQLiteStore(text, create=create, migrate=migrate, connect_hook=connect_hook, **options)
