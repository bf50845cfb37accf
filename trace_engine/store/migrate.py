"""Schema migrations: versioned SQL files per backend, applied in order by ``trace store migrate``.

Each backend keeps its files in ``trace_engine/store/<backend>/migrations/NNNN_name.sql``; both backends have the
same versions with the same names (a test holds them to it), so "schema version 4" means the same tables on
either. A migration runs in one transaction together with the row that records it in ``schema_migrations``;
PostgreSQL also takes a lock, so two hosts migrating at once apply each file once.

A database made before migrations were files (``meta.schema_version`` 2, the API's ``meta.api_schema_version``)
is adopted in place: the versions its tables already match are recorded, the rest applied
(:meth:`trace_engine.store.sqlite.SQLiteStore._adopt_legacy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

#: created by the runner before the first migration (the same on every backend)
BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at BIGINT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@cache
def migrations(backend: str) -> tuple[Migration, ...]:
    """The backend's migrations, in version order (``backend``: ``sqlite`` or ``postgres``)."""
    folder = resources.files(f"trace_engine.store.{backend}") / "migrations"
    out = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    out.sort(key=lambda x: x.version)
    versions = [x.version for x in out]
    if versions != list(range(1, len(out) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 1..{len(out)}: {versions}")
    return tuple(out)


def latest(backend: str) -> int:
    return len(migrations(backend))
