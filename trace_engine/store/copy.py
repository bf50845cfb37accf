"""``trace store copy SRC DST``: move a database between backends (SQLite ↔ PostgreSQL, or to another file).

Every table is copied row for row through the storage interface (:meth:`LogStore.dump_table` /
:meth:`LogStore.load_rows`), in one write transaction on the destination that holds every log's lock, so the copy
appears whole or not at all and no writer extends it half-way. Records keep their bytes, so the copy verifies with
the same roots (``trace verify``); checkpoints keep their order. The cursor secret is copied too (cursors issued
by the source keep working); the destination keeps its own ``log_id`` (it is another database: writers' tree heads
for it start afresh). The source is read in one snapshot. The destination must hold no records.

After the copy, every log's size and latest checkpoint are read back from the destination and compared with the
source's (:class:`CopyError` if any differs).
"""

from __future__ import annotations

import os
from typing import Any

from trace_engine.store.interfaces import TABLES, Store, UnreadableDatabase

#: rows per insert batch
BATCH = 1000


class CopyError(Exception):
    """The destination is not empty, or the copy does not match its source."""


def copy_store(src: str | os.PathLike[str] | Store, dst: str | os.PathLike[str] | Store) -> dict[str, Any]:
    """Copy ``src`` into ``dst`` (migrated to the latest schema first, on either backend). Returns a
    report: rows copied per table, and every log's size and latest checkpoint size."""
    from trace_engine.store import open_store

    source = open_store(src, create=False)
    try:
        target = open_store(dst, create=True, migrate=True)  # an explicit admin step: bring DST to the latest schema
    except BaseException:
        if source is not src:
            source.close()
        raise
    try:
        if source.schema_version() != target.schema_version():
            raise UnreadableDatabase(
                f"schema versions differ: {source.url} is at {source.schema_version()}, {target.url} at "
                f"{target.schema_version()}; run `trace store migrate` on the older one first"
            )
        counts: dict[str, int] = {}
        with source.read() as s, target.transaction() as t:
            tenants = sorted(x for x in s.log_tenants() if isinstance(x, str))
            t.lock_all_logs()
            if t.has_records():
                raise CopyError(f"{target.url} already holds records: copy into an empty database")
            for table in TABLES:
                if not s.table_exists(table):  # a source from before the service tables
                    continue
                columns, rows = s.dump_table(table)
                n = 0
                batch: list[tuple] = []
                for row in rows:
                    batch.append(tuple(row))
                    if len(batch) >= BATCH:
                        t.load_rows(table, columns, batch)
                        n += len(batch)
                        batch = []
                if batch:
                    t.load_rows(table, columns, batch)
                    n += len(batch)
                counts[table] = n
            secret = s.meta("cursor_secret")
            if secret is not None:
                t.set_meta("cursor_secret", secret)
            want = _heads(s, tenants)
        with target.read() as r:
            have = _heads(r, tenants)
        if have != want:
            bad = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
            raise CopyError(f"the copy differs from its source for log(s) {', '.join(repr(b) for b in bad)}")
        return {
            "object": "trace.store.copy",
            "src": source.url,
            "dst": target.url,
            "rows": counts,
            "logs": [{"tenant": t, "size": want[t][0], "checkpoint_size": want[t][1]} for t in tenants],
        }
    finally:
        if source is not src:
            source.close()
        if target is not dst:
            target.close()


def _heads(session: Any, tenants: list[str]) -> dict[str, tuple[int, int | None, str | None]]:
    """Per log: size, latest checkpoint's size and note."""
    out = {}
    for t in tenants:
        ck = session.latest_checkpoint(t)
        out[t] = (session.log_tail(t)[0], ck[0] if ck else None, ck[1] if ck else None)
    return out
