"""The SQL both backends share: one :class:`SqlSession` implements every storage interface
(:mod:`trace_engine.store.interfaces`) in the SQL that SQLite and PostgreSQL both speak, written with ``?``
placeholders. A backend subclasses it for what differs: placeholders (PostgreSQL's ``%s``), reading a JSON path,
a body's exact bytes, whether a table exists, per-log locks, and streaming large scans.

Statements are written once, here; the backend packages (:mod:`trace_engine.store.sqlite`,
:mod:`trace_engine.store.postgres`) hold connections, transactions and migrations.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from trace_engine.store.interfaces import StoreError

#: chunk size of ``IN (...)`` lists
_CHUNK = 500
#: a checkpoint at a multiple of this size is kept for ever; others are replaced by the next commit's
CHECKPOINT_EVERY = 256

_SC_COLS = (
    "tenant, seq, call_id, agent_id, product, config_etag, engine_version, verdict, scored_at, call_at, findings, "
    "blocked_turns, modified_turns, packs_enforced, body, leaf_hash, prev_hash, audit_hash, supersedes, input_sha256"
)
_V_COLS = (
    "tenant, seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, pack_id, severity, action_taken, citation, "
    "reason, at_t, scored_at, call_at"
)
_EV_COLS = "tenant, seq, kind, ref, body, leaf_hash, prev_hash, audit_hash"
_CK_COLS = "tenant, size, root, note, signature, key_id, created_at"
#: what the read views select of a scorecard (``interfaces.IndexRow``)
INDEX_COLS = "s.seq, s.call_id, s.agent_id, s.verdict, s.call_at, s.supersedes, s.body, s.leaf_hash"
_LATEST = "NOT EXISTS (SELECT 1 FROM scorecards n WHERE n.tenant = {a}.tenant AND n.supersedes = {a}.audit_hash)"

#: every table's columns as ``store copy`` moves them, and the order that keeps their meaning (insertion order
#: where reads depend on it)
TABLE_COLUMNS: dict[str, tuple[str, str]] = {
    "scorecards": (_SC_COLS, "tenant, seq"),
    "violations": (_V_COLS, "tenant, seq, idx"),
    "events": (_EV_COLS, "tenant, seq"),
    "checkpoints": (_CK_COLS, "rowid"),
    "gaps": ("tenant, lost, reason, at, seq", "tenant, seq"),
    "tier2_findings": ("tenant, id, interaction_id, audit_hash, body, created_at, seq", "tenant, seq"),
    "agents": ("tenant, agent_id, first_seen, seq", "tenant, agent_id"),
    "rollup_state": ("tenant, size", "tenant"),
    "rollup_verdicts": ("tenant, hour, agent, verdict, n", "tenant, hour, agent, verdict"),
    "rollup_rules": ("tenant, hour, agent, rule_id, pack, n", "tenant, hour, agent, rule_id, pack"),
    "api_keys": ("key_id, tenant, key_hash, scopes, created_at, revoked_at, note", "created_at, key_id"),
    "trace_configs": ("tenant, agent_id, body, etag, updated_at", "tenant, agent_id"),
    "trace_rule_packs": (
        "tenant, pack_id, version, id, spec, etag, jurisdiction, legal_status, created_at", "rowid",
    ),
}

#: the projections ``trace verify`` compares with the signed events, in its column order
_PROJECTIONS: dict[str, str] = {
    "gaps": "SELECT tenant, lost, reason, at, seq FROM gaps",
    "tier2_findings": "SELECT tenant, id, interaction_id, audit_hash, body, created_at, seq FROM tier2_findings",
    "agents": "SELECT tenant, agent_id, first_seen, seq FROM agents",
    "api_keys": "SELECT key_id, tenant, key_hash, scopes, created_at, revoked_at, note FROM api_keys",
    "trace_configs": "SELECT tenant, agent_id, body, etag, updated_at FROM trace_configs",
    "trace_rule_packs": (
        "SELECT tenant, pack_id, version, id, spec, etag, jurisdiction, legal_status, created_at FROM trace_rule_packs"
    ),
}

#: the Tier-2 finding fields a list may filter on (read from the stored finding's body)
FINDING_FILTERS = ("check_id", "action", "severity")


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqlSession:
    """A transaction (or read snapshot) on one connection; see :class:`trace_engine.store.interfaces.Session`."""

    #: the SQL expression giving a record's body as the exact bytes stored
    BODY_BYTES = "CAST(body AS BLOB)"
    #: the SQL expression storing a bound body (its UTF-8 bytes, as hashed) in a text column: the bytes are bound as
    #: they are, not decoded to a str in Python and encoded again by the driver
    BODY_PARAM = "CAST(? AS TEXT)"

    def __init__(self, store: Any, conn: Any):
        self.store = store
        self.conn = conn

    # ---------------------------------------------------------------------------------- dialect hooks

    def json_text(self, column: str, *path: str) -> str:
        """SQL for the JSON value at ``path`` inside the text ``column`` (``NULL`` when absent)."""
        return f"json_extract({column}, '$.{'.'.join(path)}')"

    def identity_sha(self) -> str:
        """SQL for a scorecard row's input sha256: the ``input_sha256`` column (migration 0006)."""
        return "input_sha256"

    def contains(self, column: str) -> str:
        """SQL true when the text ``column`` contains the bound ``?`` as a substring (case-sensitive, no wildcards:
        a ``%`` or ``_`` in the search is itself)."""
        return f"instr({column}, ?) > 0"

    def sql(self, statement: str) -> str:
        """A ``?``-placeholder statement in the driver's paramstyle."""
        return statement

    def table_exists(self, table: str) -> bool:
        raise NotImplementedError

    def _scan(self, statement: str, args: Sequence[Any] = ()) -> Iterator[tuple]:
        """Rows of a possibly large result, streamed."""
        try:
            yield from self.conn.execute(self.sql(statement), args)
        except self.store.driver_errors as exc:
            raise StoreError(f"{self.store.url}: {exc}", exc) from exc

    # --------------------------------------------------------------------------------------- execution

    #: a session is one transaction (read code written against a raw connection asks)
    in_transaction = True

    def execute(self, statement: str, args: Sequence[Any] = ()) -> Any:
        """``statement`` (``?`` placeholders) on this session's connection, for the read modules not yet moved
        behind the interfaces (the dashboard's lists, damages, reports): their SQL is SQLite's, so on PostgreSQL
        they work only as far as it agrees."""
        return self._run(statement, args)

    def _run(self, statement: str, args: Sequence[Any] = ()) -> Any:
        try:
            return self.conn.execute(self.sql(statement), args)
        except self.store.driver_errors as exc:
            raise StoreError(f"{self.store.url}: {exc}", exc) from exc

    def _one(self, statement: str, args: Sequence[Any] = ()) -> tuple | None:
        try:
            return self.conn.execute(self.sql(statement), args).fetchone()
        except self.store.driver_errors as exc:
            raise StoreError(f"{self.store.url}: {exc}", exc) from exc

    def _all(self, statement: str, args: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self.conn.execute(self.sql(statement), args).fetchall()
        except self.store.driver_errors as exc:
            raise StoreError(f"{self.store.url}: {exc}", exc) from exc

    def _many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            self.conn.cursor().executemany(self.sql(statement), rows)
        except self.store.driver_errors as exc:
            raise StoreError(f"{self.store.url}: {exc}", exc) from exc

    def _chunked(self, statement: str, head: Sequence[Any], keys: Sequence[Any]) -> Iterator[tuple]:
        """``statement`` with ``{marks}`` filled for each chunk of ``keys`` (after the ``head`` arguments)."""
        for i in range(0, len(keys), _CHUNK):
            chunk = list(keys[i : i + _CHUNK])
            yield from self._all(statement.format(marks=_marks(len(chunk))), [*head, *chunk])

    # -------------------------------------------------------------------------------------------- meta

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str, *, replace: bool = True) -> None:
        action = "UPDATE SET value = excluded.value" if replace else "NOTHING"
        self._run(f"INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO {action}", (key, value))

    def ping(self) -> None:
        self._one("SELECT 1 FROM meta LIMIT 1")

    # ------------------------------------------------------------------------------------ the log: locks

    def lock_logs(self, tenants: Sequence[str]) -> None:
        """Nothing to do where the write transaction holds the whole database (SQLite)."""

    def lock_all_logs(self) -> None:
        """Nothing to do where the write transaction holds the whole database (SQLite)."""

    # ---------------------------------------------------------------------------------- the log: tails

    def log_tail(self, tenant: str) -> tuple[int, str | None]:
        best: tuple[int, str | None] = (-1, None)
        for table in ("scorecards", "events"):
            row = self._one(f"SELECT seq, audit_hash FROM {table} WHERE tenant = ? ORDER BY seq DESC LIMIT 1", (tenant,))
            if row is not None and isinstance(row[0], int) and row[0] > best[0]:
                best = (row[0], row[1])
        return best[0] + 1, best[1]

    def chain_rows(self, tenant: str, start: int, *, bodies: bool) -> Iterator[tuple]:
        sc = self._scan(
            "SELECT seq, leaf_hash, prev_hash, audit_hash, NULL, NULL FROM scorecards WHERE tenant = ? AND seq >= ? "
            "ORDER BY seq",
            (tenant, start),
        )
        body = "body" if bodies else "NULL"
        ev = self._all(
            f"SELECT seq, leaf_hash, prev_hash, audit_hash, kind, {body} FROM events WHERE tenant = ? AND seq >= ? "
            "ORDER BY seq",
            (tenant, start),
        )
        return heapq.merge(sc, ev, key=lambda r: r[0] if isinstance(r[0], int) else -1)

    def audit_hash_at(self, tenant: str, seq: int) -> str | None:
        for table in ("scorecards", "events"):
            row = self._one(f"SELECT audit_hash FROM {table} WHERE tenant = ? AND seq = ?", (tenant, seq))
            if row is not None:
                return row[0]
        return None

    def call_id_at(self, tenant: str, seq: int) -> str | None:
        row = self._one("SELECT call_id FROM scorecards WHERE tenant = ? AND seq = ?", (tenant, seq))
        return row[0] if row and isinstance(row[0], str) else None

    def seq_of_audit_hash(self, tenant: str, audit_hash: Any) -> int | None:
        for table in ("scorecards", "events"):
            row = self._one(f"SELECT seq FROM {table} WHERE tenant = ? AND audit_hash = ?", (tenant, audit_hash))
            if row is not None:
                return row[0]
        return None

    # ---------------------------------------------------------------------------- the log: checkpoints

    def checkpoints_at(self, tenant: str, size: int) -> list[str]:
        return [r[0] for r in self._all("SELECT note FROM checkpoints WHERE tenant = ? AND size = ?", (tenant, size))]

    def checkpoints_up_to(self, tenant: str, size: int) -> list[tuple[int, str]]:
        return self._all(
            "SELECT size, note FROM checkpoints WHERE tenant = ? AND size <= ? ORDER BY size DESC", (tenant, size)
        )

    def latest_checkpoint(self, tenant: str) -> tuple[int, str] | None:
        return self._one(
            "SELECT size, note FROM checkpoints WHERE tenant = ? ORDER BY size DESC, rowid DESC LIMIT 1", (tenant,)
        )

    def latest_checkpoints(self, tenant: str | None = None) -> list[tuple[str, str]]:
        sql = "SELECT tenant, note FROM checkpoints c WHERE size = (SELECT max(size) FROM checkpoints d WHERE d.tenant = c.tenant)"
        args: list[Any] = []
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        out: dict[str, str] = {}
        for t, note in self._all(sql + " ORDER BY tenant, rowid", args):
            out.setdefault(t, note)
        return list(out.items())

    def insert_checkpoints(self, rows: Sequence[tuple]) -> None:
        self._many(f"INSERT INTO checkpoints({_CK_COLS}) VALUES ({_marks(7)})", rows)

    def drop_head_checkpoints(self, tenant: str, below: int, *, at: int | None = None) -> None:
        if at is not None:
            self._run(
                "DELETE FROM checkpoints WHERE tenant = ? AND size = ? AND size % ? != 0", (tenant, at, CHECKPOINT_EVERY)
            )
        else:
            self._run(
                "DELETE FROM checkpoints WHERE tenant = ? AND size < ? AND size % ? != 0", (tenant, below, CHECKPOINT_EVERY)
            )

    # ------------------------------------------------------------------------------- the log: records

    def call_history(self, tenant: str, call_ids: Sequence[str]) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {c: [] for c in call_ids}
        for call_id, *rest in self._chunked(
            "SELECT call_id, config_etag, engine_version, input_sha256, audit_hash, seq FROM scorecards "
            "WHERE tenant = ? AND call_id IN ({marks}) ORDER BY +seq",
            [tenant],
            list(out),
        ):
            out[call_id].append(tuple(rest))
        return out

    def latest_bodies(self, tenant: str, call_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for call_id, audit_hash, body in self._chunked(
            "SELECT call_id, audit_hash, body FROM scorecards WHERE tenant = ? AND seq IN (SELECT max(seq) FROM "
            "scorecards WHERE tenant = ? AND call_id IN ({marks}) GROUP BY call_id)",
            [tenant, tenant],
            list(dict.fromkeys(call_ids)),
        ):
            out[call_id] = (audit_hash, body)
        return out

    def scorecard_body(self, tenant: str, seq: int) -> str | None:
        row = self._one("SELECT body FROM scorecards WHERE tenant = ? AND seq = ?", (tenant, seq))
        return row[0] if row else None

    def latest_audit_hash(self, tenant: str, call_id: str) -> str | None:
        row = self._one(
            "SELECT audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? ORDER BY +seq DESC LIMIT 1",
            (tenant, call_id),
        )
        return row[0] if row else None

    def insert_scorecards(self, rows: Sequence[tuple]) -> None:
        self._many(f"INSERT INTO scorecards({_SC_COLS}) VALUES ({_marks(14)}, {self.BODY_PARAM}, {_marks(5)})", rows)

    def insert_violations(self, rows: Sequence[tuple]) -> None:
        self._many(f"INSERT INTO violations({_V_COLS}) VALUES ({_marks(16)})", rows)

    def insert_event(self, row: tuple) -> None:
        self._run(f"INSERT INTO events({_EV_COLS}) VALUES ({_marks(8)})", row)

    def insert_gap(self, row: tuple) -> None:
        self._run("INSERT INTO gaps(tenant, lost, reason, at, seq) VALUES (?,?,?,?,?)", row)

    def tier2_finding_exists(self, tenant: str, finding_id: str) -> bool:
        return self._one("SELECT 1 FROM tier2_findings WHERE tenant = ? AND id = ?", (tenant, finding_id)) is not None

    def insert_tier2_finding(self, row: tuple) -> None:
        self._run(
            "INSERT INTO tier2_findings(tenant, id, interaction_id, audit_hash, body, created_at, seq) "
            "VALUES (?,?,?,?,?,?,?)",
            row,
        )

    def agent_exists(self, tenant: str, agent_id: str) -> bool:
        return self._one("SELECT 1 FROM agents WHERE tenant = ? AND agent_id = ?", (tenant, agent_id)) is not None

    def insert_agents(self, rows: Sequence[tuple], *, ignore_known: bool = False) -> None:
        tail = " ON CONFLICT DO NOTHING" if ignore_known else ""
        self._many("INSERT INTO agents(tenant, agent_id, first_seen, seq) VALUES (?,?,?,?)" + tail, rows)

    # -------------------------------------------------------------------------------- the log: rollup

    #: how a rollup key's "none" (:data:`trace_engine.store.rollup.NONE`) is stored: as is here; a backend whose
    #: text cannot hold it stores ``NULL`` (:meth:`_rollup_row` / :meth:`_rollup_key` translate)
    ROLLUP_NONE: Any = "\x00"

    def _rollup_row(self, row: Sequence[Any]) -> tuple:
        none = self.ROLLUP_NONE
        return tuple(none if v == "\x00" else v for v in row)

    def _rollup_key(self, row: Sequence[Any]) -> tuple:
        none = self.ROLLUP_NONE
        return tuple("\x00" if v is none or v == none else v for v in row)

    def apply_rollup(
        self, verdicts: dict[tuple, int], rules: dict[tuple, int], sizes: Iterable[tuple[str, int]]
    ) -> None:
        self._many(
            "INSERT INTO rollup_verdicts(tenant, hour, agent, verdict, n) VALUES (?,?,?,?,?) "
            "ON CONFLICT(tenant, hour, agent, verdict) DO UPDATE SET n = rollup_verdicts.n + excluded.n",
            [self._rollup_row((*k, n)) for k, n in verdicts.items() if n],
        )
        self._many(
            "INSERT INTO rollup_rules(tenant, hour, agent, rule_id, pack, n) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(tenant, hour, agent, rule_id, pack) DO UPDATE SET n = rollup_rules.n + excluded.n",
            [self._rollup_row((*k, n)) for k, n in rules.items() if n],
        )
        self._many(
            "INSERT INTO rollup_state(tenant, size) VALUES (?, ?) ON CONFLICT(tenant) DO UPDATE SET size = excluded.size",
            list(sizes),
        )

    def replace_rollup(self, tenant: str, verdicts: dict[tuple, int], rules: dict[tuple, int], size: int) -> None:
        self._run("DELETE FROM rollup_verdicts WHERE tenant = ?", (tenant,))
        self._run("DELETE FROM rollup_rules WHERE tenant = ?", (tenant,))
        self.apply_rollup(verdicts, rules, [(tenant, size)])

    def stored_rollup(self, tenant: str) -> tuple[dict[tuple, int], dict[tuple, int]]:
        verdicts = {
            self._rollup_key((tenant, h, a, v)): int(n)
            for h, a, v, n in self._all(
                "SELECT hour, agent, verdict, n FROM rollup_verdicts WHERE tenant = ? AND n != 0", (tenant,)
            )
        }
        rules = {
            self._rollup_key((tenant, h, a, r, p)): int(n)
            for h, a, r, p, n in self._all(
                "SELECT hour, agent, rule_id, pack, n FROM rollup_rules WHERE tenant = ? AND n != 0", (tenant,)
            )
        }
        return verdicts, rules

    def rollup_tenants(self) -> set[Any]:
        return {
            r[0]
            for r in self._all(
                "SELECT tenant FROM rollup_verdicts UNION SELECT tenant FROM rollup_rules UNION SELECT tenant FROM rollup_state"
            )
        }

    # ---------------------------------------------------------------------- the log: whole-log iteration

    def log_tenants(self) -> set[Any]:
        tenants: set[Any] = set()
        for table in ("scorecards", "events", "checkpoints", "gaps", "tier2_findings", "agents", "violations"):
            tenants |= {r[0] for r in self._all(f"SELECT DISTINCT tenant FROM {table}")}
        return tenants

    def has_records(self) -> bool:
        return any(self._one(f"SELECT 1 FROM {t} LIMIT 1") for t in ("scorecards", "events", "checkpoints"))

    def checkpoint_rows(self, tenant: str) -> list[tuple]:
        return self._all(
            "SELECT rowid, size, root, note, signature, key_id FROM checkpoints WHERE tenant = ? ORDER BY size, rowid",
            (tenant,),
        )

    def checkpoint_sizes(self, tenant: str) -> set[Any]:
        return {r[0] for r in self._all("SELECT size FROM checkpoints WHERE tenant = ?", (tenant,))}

    def scorecard_rows(self, tenant: str) -> Iterator[tuple]:
        return self._scan(
            "SELECT seq, 's', call_id, agent_id, product, config_etag, engine_version, verdict, scored_at, call_at, "
            f"findings, blocked_turns, modified_turns, packs_enforced, {self.BODY_BYTES}, leaf_hash, prev_hash, "
            f"audit_hash, supersedes, {self.identity_sha()} FROM scorecards WHERE tenant = ? ORDER BY seq",
            (tenant,),
        )

    def event_rows(self, tenant: str) -> list[tuple]:
        return self._all(
            f"SELECT seq, 'e', kind, ref, {self.BODY_BYTES}, leaf_hash, prev_hash, audit_hash FROM events "
            "WHERE tenant = ? ORDER BY seq",
            (tenant,),
        )

    def violation_rows(self, tenant: str) -> Iterator[tuple]:
        return self._scan(
            "SELECT seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, pack_id, severity, action_taken, "
            "citation, reason, at_t, scored_at, call_at FROM violations WHERE tenant = ? ORDER BY seq, idx",
            (tenant,),
        )

    def leaf_hashes(self, tenant: str, below: int) -> list[tuple[Any, Any]]:
        rows = [
            r
            for table in ("scorecards", "events")
            for r in self._all(f"SELECT seq, leaf_hash FROM {table} WHERE tenant = ? AND seq < ?", (tenant, below))
        ]
        rows.sort(key=lambda r: r[0] if type(r[0]) is int else -1)
        return rows

    def gap_totals(self, tenant: str) -> tuple[int, int]:
        row = self._one("SELECT coalesce(sum(lost), 0), count(*) FROM gaps WHERE tenant = ?", (tenant,))
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def projection_rows(self, table: str) -> list[tuple] | None:
        if not self.table_exists(table):
            return None
        return self._all(_PROJECTIONS[table])

    def dump_table(self, table: str) -> tuple[list[str], Iterator[tuple]]:
        columns, order = TABLE_COLUMNS[table]
        rows = self._scan(f"SELECT {columns} FROM {table} ORDER BY {order}")
        if table in ("rollup_verdicts", "rollup_rules"):
            rows = (self._rollup_key(r) for r in rows)
        return [c.strip() for c in columns.split(",")], rows

    def load_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
        if table not in TABLE_COLUMNS or any(c not in TABLE_COLUMNS[table][0].split(", ") for c in columns):
            raise ValueError(f"unknown table or column: {table}({', '.join(columns)})")
        if table in ("rollup_verdicts", "rollup_rules"):
            rows = [self._rollup_row(r) for r in rows]
        self._many(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({_marks(len(columns))})", rows)

    # ------------------------------------------------------------------------------------ the read model

    def has_superseding(self, tenant: str) -> bool:
        return self._one("SELECT 1 FROM scorecards WHERE tenant = ? AND supersedes IS NOT NULL LIMIT 1", (tenant,)) is not None

    def _latest(self, alias: str, latest_only: bool) -> str:
        return _LATEST.format(a=alias) if latest_only else "1 = 1"

    def interaction_rows(
        self, tenant: str, verdict: str | None, agent_id: str | None, before: Sequence[int] | None, limit: int,
        latest_only: bool,
    ) -> list[tuple]:
        where = ["s.tenant = ?"]
        args: list[Any] = [tenant]
        if verdict is not None:
            where.append("s.verdict = ?")
            args.append(verdict)
        if agent_id is not None:
            where.append("s.agent_id = ?")
            args.append(agent_id)
        if before is not None:
            where.append("(s.call_at, s.seq) < (?, ?)")
            args.extend(before)
        where.append(self._latest("s", latest_only))
        return self._all(
            f"SELECT {INDEX_COLS} FROM scorecards s WHERE " + " AND ".join(where)
            + " ORDER BY s.call_at DESC, s.seq DESC LIMIT ?",
            [*args, limit],
        )

    def violation_page(
        self, tenant: str, filters: dict[str, Any], before: Sequence[int] | None, limit: int, latest_only: bool
    ) -> list[tuple]:
        where = ["v.tenant = ?"]
        args: list[Any] = [tenant]
        for col in ("rule_id", "severity", "agent_id", "interaction_id"):
            if filters.get(col) is not None:
                where.append(f"v.{col} = ?")
                args.append(filters[col])
        if before is not None:
            where.append("(v.call_at, v.seq, v.idx) < (?, ?, ?)")
            args.extend(before)
        where.append(self._latest("v", latest_only))
        return self._all(
            "SELECT v.seq, v.idx, v.call_at, v.id, v.interaction_id, v.agent_id, v.rule_id, v.pack_id, v.severity, "
            "v.action_taken, v.citation, v.reason, v.at_t FROM violations v WHERE " + " AND ".join(where)
            + " ORDER BY v.call_at DESC, v.seq DESC, v.idx DESC LIMIT ?",
            [*args, limit],
        )

    def scorecards_at(self, tenant: str, seqs: Sequence[int]) -> list[tuple]:
        return list(
            self._chunked(f"SELECT {INDEX_COLS} FROM scorecards s WHERE s.tenant = ? AND s.seq IN ({{marks}})", [tenant], seqs)
        )

    def scorecards_between(
        self, tenant: str, since: int, until: int, agent_id: str | None, latest_only: bool
    ) -> list[tuple]:
        agent_sql = " AND s.agent_id = ?" if agent_id is not None else ""
        return self._all(
            f"SELECT {INDEX_COLS} FROM scorecards s WHERE s.tenant = ? AND s.call_at >= ? AND s.call_at < ?"
            + agent_sql + " AND " + self._latest("s", latest_only),
            [tenant, since, until] + ([agent_id] if agent_id is not None else []),
        )

    def latest_scorecard(self, tenant: str, call_id: str) -> tuple | None:
        return self._one(
            f"SELECT {INDEX_COLS}, s.prev_hash, s.audit_hash FROM scorecards s WHERE s.tenant = ? AND s.call_id = ? "
            "ORDER BY +s.seq DESC LIMIT 1",
            (tenant, call_id),
        )

    def rollup_size(self, tenant: str) -> int:
        row = self._one("SELECT size FROM rollup_state WHERE tenant = ?", (tenant,))
        return int(row[0]) if row else 0

    def rollup_whole_hours(
        self, tenant: str, edge: int, agent: str | None
    ) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
        agent_sql, args = ("", [tenant, edge]) if agent is None else (" AND agent = ?", [tenant, edge, agent])
        verdicts = [
            (v, int(c))
            for v, c in self._all(
                "SELECT verdict, sum(n) FROM rollup_verdicts WHERE tenant = ? AND hour >= ?" + agent_sql
                + " GROUP BY verdict",
                args,
            )
        ]
        rules = [
            (*self._rollup_key((r, p)), int(c))
            for r, p, c in self._all(
                "SELECT rule_id, pack, sum(n) FROM rollup_rules WHERE tenant = ? AND hour >= ?" + agent_sql
                + " GROUP BY rule_id, pack",
                args,
            )
        ]
        return verdicts, rules

    def tier2_rows(self, tenant: str, interaction_id: str) -> list[tuple[Any, str]]:
        return self._all(
            "SELECT seq, body FROM tier2_findings WHERE tenant = ? AND interaction_id = ? ORDER BY seq",
            (tenant, interaction_id),
        )

    def finding_rows(
        self, tenant: str, filters: dict[str, Any], alerts: bool, before: int | None, limit: int
    ) -> list[tuple[Any, str]]:
        where = ["tenant = ?"]
        args: list[Any] = [tenant]
        for name in FINDING_FILTERS:
            if filters.get(name) is not None:
                where.append(f"{self.json_text('body', name)} = ?")
                args.append(filters[name])
        if filters.get("interaction_id") is not None:
            where.append("interaction_id = ?")
            args.append(filters["interaction_id"])
        if alerts:
            where.append(
                f"({self.json_text('body', 'action')} = 'escalate' OR {self.json_text('body', 'severity')} = 'critical')"
            )
        if before is not None:
            where.append("seq < ?")
            args.append(before)
        return self._all(
            "SELECT seq, body FROM tier2_findings WHERE " + " AND ".join(where) + " ORDER BY seq DESC LIMIT ?",
            [*args, limit],
        )

    def event_at(self, tenant: str, seq: int, kind: str) -> tuple[str, str] | None:
        return self._one(
            "SELECT body, leaf_hash FROM events WHERE tenant = ? AND seq = ? AND kind = ?", (tenant, seq, kind)
        )

    def events_by_ref(self, tenant: str, kinds: Sequence[str], ref: str) -> list[tuple[Any, Any]]:
        return self._all(
            f"SELECT body, leaf_hash FROM events WHERE tenant = ? AND kind IN ({_marks(len(kinds))}) AND ref = ? "
            "ORDER BY seq",
            (tenant, *kinds, ref),
        )

    # -------------------------------------------------------------------------------- the service store

    def insert_api_key(self, row: tuple) -> None:
        self._run(
            "INSERT INTO api_keys(key_id, tenant, key_hash, scopes, created_at, revoked_at, note) VALUES (?,?,?,?,?,?,?)",
            row,
        )

    def active_key_tenant(self, key_id: str) -> str | None:
        row = self._one("SELECT tenant FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", (key_id,))
        return row[0] if row else None

    def revoke_api_key(self, key_id: str, at: int) -> None:
        self._run("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (at, key_id))

    def api_key_by_hash(self, key_hash: str) -> tuple | None:
        return self._one(
            "SELECT key_id, tenant, scopes, key_hash FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
        )

    def api_keys(self, tenant: str | None) -> list[tuple]:
        sql = "SELECT key_id, tenant, scopes, created_at, revoked_at, note FROM api_keys"
        args: list[Any] = []
        if tenant:
            sql += " WHERE tenant = ?"
            args.append(tenant)
        return self._all(sql + " ORDER BY created_at", args)

    def config_row(self, tenant: str, agent_id: str) -> tuple | None:
        return self._one(
            "SELECT body, etag, updated_at FROM trace_configs WHERE tenant = ? AND agent_id = ?", (tenant, agent_id)
        )

    def upsert_config(self, row: tuple) -> None:
        self._run(
            "INSERT INTO trace_configs(tenant, agent_id, body, etag, updated_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(tenant, agent_id) DO UPDATE SET body = excluded.body, etag = excluded.etag, "
            "updated_at = excluded.updated_at",
            row,
        )

    def pack_rows(self, tenant: str, pack_id: str | None) -> list[tuple]:
        sql = (
            "SELECT id, pack_id, version, jurisdiction, legal_status, etag, created_at, spec FROM trace_rule_packs "
            "WHERE tenant = ?"
        )
        args: list[Any] = [tenant]
        if pack_id is not None:
            sql += " AND pack_id = ?"
            args.append(pack_id)
        return self._all(sql + " ORDER BY pack_id, created_at DESC, rowid DESC", args)

    def pack_exists(self, tenant: str, pack_id: str, version: str) -> bool:
        return self._one(
            "SELECT 1 FROM trace_rule_packs WHERE tenant = ? AND pack_id = ? AND version = ?", (tenant, pack_id, version)
        ) is not None

    def last_pack_upload(self, tenant: str, pack_id: str) -> int | None:
        row = self._one("SELECT max(created_at) FROM trace_rule_packs WHERE tenant = ? AND pack_id = ?", (tenant, pack_id))
        return None if row is None or row[0] is None else int(row[0])

    def insert_pack(self, row: tuple) -> None:
        self._run(
            "INSERT INTO trace_rule_packs(tenant, pack_id, version, id, spec, etag, jurisdiction, legal_status, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            row,
        )

    def agent_tenants(self, agent_id: str) -> list[str]:
        return [
            r[0]
            for r in self._all(
                "SELECT tenant FROM agents WHERE agent_id = ? UNION SELECT tenant FROM trace_configs WHERE agent_id = ? "
                "ORDER BY 1",
                (agent_id, agent_id),
            )
        ]
