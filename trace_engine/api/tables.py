"""The service's own tables, in the evidence database (their schema is the store's migrations ``0003_service``
and ``0004_agents_per_tenant``; every row carries its tenant):

* ``api_keys``: ``key_id``, ``tenant``, ``key_hash`` (SHA-256 of the key; the key itself is never stored),
  ``scopes`` (comma-separated), ``created_at``, ``revoked_at``.
* ``trace_configs``: one row per ``(tenant, agent_id)``; ``agent_id`` is ``""`` for the org default. ``body`` is
  the stored ``TraceConfigInput`` (canonical JSON), ``etag`` its content hash, ``updated_at`` Unix ms.
* ``trace_rule_packs``: tenant uploads, append-only, one row per ``(tenant, pack_id, version)``. ``spec`` is the
  pack's canonical JSON form; the newest row of a ``pack_id`` is its latest active version.

Agents: the identity of an agent is ``(tenant, agent_id)`` everywhere (the evidence store's ``agents`` table,
``trace_configs``, the read views and their cursors). Each tenant has its own namespace of agent ids; there is no
global owner of an id (API schema 1 had one; migration 0004 dropped it, no row changes).

Every write to these tables (a key minted or revoked, a config stored, a pack uploaded, an agent claimed) is also a
signed record of the tenant's evidence log, in the same transaction (:func:`trace_engine.store.log.transaction`);
``trace verify`` checks the tables against those records. The rows are read and written through the store's
:class:`~trace_engine.store.interfaces.ServiceStore`.
"""

from __future__ import annotations

import os

from trace_engine.store.interfaces import Store


def open_db(db: str | os.PathLike[str] | Store, *, create: bool = True) -> Store:
    """Open the evidence database (a path or URL; a SQLite file is created when ``create``) with the service
    tables in place: a SQLite file is migrated to the latest schema; a PostgreSQL one must have been migrated
    (``trace store migrate``)."""
    from trace_engine.store import open_store

    return open_store(db, create=create, migrate=None if str(db).startswith(("postgresql:", "postgres:")) else True)
