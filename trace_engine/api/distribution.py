"""Config distribution, the server's half: the gate pulls its config and the packs it enforces.

The client, ``engine_from_service`` (ETag cache, ``If-None-Match`` revalidation, last good config on an outage, the
safe default with nothing cached), lives beside the gate in :mod:`trace_engine.gate.remote`, so the gate never
imports the web API; it is re-exported here. The endpoints it calls are the app's (``GET /v1/trace/config``,
``GET /v1/trace/rule-packs/{id}``).

``engine_from_store(db, agent_id, tenant=None)`` builds the same engine straight from the database. Agents are per
tenant, so the tenant names the agent; without one, the only tenant that has ``agent_id`` is used (several is a
:class:`DistributionError`: say which).

The engine gets every pack from the service (or store), never from local files, so a tenant's uploads and the
server's built-in versions are what the gate enforces. ``engine.distribution`` records where the config came
from (``service``, ``cache``, ``store`` or ``default``), its ETag and the pack versions.
"""

from __future__ import annotations

import os
from typing import Any

from trace_engine.gate.remote import _MEMORY, DistributionError, build_engine, engine_from_service
from trace_engine.gate.remote import enabled_refs as _enabled_refs
from trace_engine.store.interfaces import Store

__all__ = ["DistributionError", "build_engine", "engine_from_service", "engine_from_store", "_MEMORY"]


def engine_from_store(
    db: str | os.PathLike[str] | Store,
    agent_id: str | None,
    tenant: str | None = None,
    **engine_kw: Any,
):
    """The same engine as :func:`engine_from_service`, read straight from the database at ``db``."""
    from trace_engine.api import resources
    from trace_engine.api.tables import open_db

    own = not isinstance(db, Store)
    conn = open_db(db, create=False) if own else db
    try:
        if tenant is None:
            tenants = resources.agent_tenants(conn, agent_id) if agent_id else []
            if len(tenants) > 1:
                raise DistributionError(400, f"agent {agent_id!r} exists in several tenants; pass the tenant")
            tenant = tenants[0] if tenants else "default"
        stored = resources.get_config(conn, tenant, agent_id)
        specs = []
        for pack_id, version in _enabled_refs(stored.config):
            rec = resources.find_pack(conn, tenant, pack_id, version, with_spec=True)
            if rec is None:
                raise DistributionError(
                    404, f"no rule pack {pack_id!r}{' version ' + repr(version) if version else ''}"
                )
            specs.append(rec.spec)
        config = stored.to_api()["config"]  # exactly what GET /v1/trace/config returns
        return build_engine(config, specs, source="store", etag=stored.etag, **engine_kw)
    finally:
        if own:
            conn.close()
