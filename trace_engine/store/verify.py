"""``trace verify``: recompute every hash, link, tree head and signature in an evidence DB, and check that every
row a read reports is what a signed record says.

Keys: checkpoints must be signed by a **trusted** key: ``--pubkey`` (repeatable) or a trusted-keys file. Without
one, the ``trace.pub`` beside the database is used with a loud warning (whoever can write the directory can swap
it) and the report says the result is not trusted.

What is checked, per log (each tenant's, and the directory's), in ``seq`` order across ``scorecards`` and
``events``:

* positions are contiguous from 0 and unique (``chain broken: record 5 missing``);
* ``leaf_hash == SHA-256(0x00 || body)`` (``leaf hash mismatch``), the body names the log's tenant, and its
  index columns (verdict, call_id, call_at, ...) and ``violations`` rows equal what it says;
* ``prev_hash`` is the previous record's ``audit_hash`` and ``audit_hash`` recomputes;
* every stored checkpoint parses, is signed by a trusted key, and its root equals the recomputed RFC 6962 root
  at its size; one exists at every multiple of 256; **the latest covers the whole log**: a record beyond it was
  written without the key (``records 300..300 are not covered by a signed checkpoint``); a checkpoint larger
  than the log means the tail was cut;
* every trusted checkpoint (``--checkpoint``, kept outside the DB by a witness) is signed by a trusted key and
  its root matches the log at its size.

Then, across logs: every tenant with records is in the signed directory and every tenant in the directory has
records (a deleted tenant); the ``gaps``, ``tier2_findings`` and ``agents`` rows, and the service tables
(``api_keys``, ``trace_configs``, ``trace_rule_packs``), equal what the signed events say (a key minted, a
config edited, a finding changed outside the log); the exposure rollup equals the one rebuilt from the records.

Damaged files raise :class:`~trace_engine.store.db.UnreadableDatabase` (``trace verify`` exits 2).

Everything is read through the store's interface (:class:`~trace_engine.store.interfaces.LogStore`) in one read
snapshot, so the same records verify the same way, with the same roots, on every backend.
"""

from __future__ import annotations

import base64
import heapq
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trace_engine.evidence.merkle import Frontier, leaf_hash
from trace_engine.evidence.signing import DIRECTORY, Checkpoint, NoteError, VerifierKey, parse_checkpoint
from trace_engine.store import rollup
from trace_engine.store.interfaces import Session, Store, StoreError, UnreadableDatabase
from trace_engine.store.log import GENESIS, audit_link, key_dir_of
from trace_engine.store.sql import CHECKPOINT_EVERY

#: at most this many problems of one kind per log are listed (the count says how many there were)
MAX_PER_KIND = 50


class NoTrustedKey(Exception):
    """No key to check signatures against."""


@dataclass
class Problem:
    tenant: str
    kind: str
    message: str
    seq: int | None = None
    call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "seq": self.seq, "call_id": self.call_id, "kind": self.kind, "message": self.message}

    def render(self) -> str:
        where = "directory" if self.tenant == DIRECTORY else f"tenant {self.tenant}"
        if self.seq is not None:
            where += f" seq {self.seq}"
        if self.call_id is not None:
            where += f" (call {self.call_id})"
        return f"{where}: {self.message}"


@dataclass
class VerifyReport:
    db: str
    key_source: str | None
    key: str | None
    trusted: bool = True
    keys: list[str] = field(default_factory=list)
    tenants: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    omitted: int = 0
    #: tenants whose exposure rollup was rebuilt from the records
    rebuilt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": "trace.verification",
            "ok": self.ok,
            "trusted": self.trusted,
            "db": self.db,
            "key_source": self.key_source,
            "key": self.key,
            "keys": self.keys,
            "tenants": self.tenants,
            "problems": [p.to_dict() for p in self.problems],
            "problems_omitted": self.omitted,
            "warnings": self.warnings,
            "rollups_rebuilt": self.rebuilt,
        }


def beside_key(db: str | os.PathLike[str] | Store) -> Path | None:
    """``trace.pub`` beside a SQLite file (``TRACE_KEY_DIR`` for a server database), or ``None``."""
    folder = key_dir_of(db)
    return folder / "trace.pub" if folder is not None else None


def _pick_keys(db: str | Store, keys: list[VerifierKey], report: VerifyReport) -> list[VerifierKey]:
    if keys:
        report.key_source = "trusted (given)"
        return keys
    beside = beside_key(db)
    if beside is not None and beside.is_file():
        try:
            k = VerifierKey.parse(beside.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise NoTrustedKey(f"no trusted key given, and {beside} is not a verifier key ({exc})") from None
        report.trusted = False
        report.key_source = f"UNTRUSTED: {beside}, beside the database"
        report.warnings.append(
            f"no trusted key given: using {beside}, which anyone who can write the database's directory can "
            "replace together with the log. Pass the key you were given out of band with --pubkey (or "
            "--trusted-keys) for a result you can rely on."
        )
        return [k]
    raise NoTrustedKey("no trusted key: pass --pubkey KEY (or --trusted-keys FILE); no trace.pub beside the database")


class _Context:
    """What the logs say the side tables and the rollup must hold, gathered while walking them."""

    def __init__(self) -> None:
        self.names: dict[str, int] = {}  # directory: tenant -> entry seq
        self.sizes: dict[str, int] = {}
        self.gaps: list[tuple] = []
        self.tier2: list[tuple] = []
        self.agents: dict[tuple[str, str], tuple[int, int]] = {}
        self.keys: dict[str, tuple] = {}  # key_id -> (tenant, key_hash, scopes, created_at, revoked_at, note)
        self.configs: dict[tuple[str, str], tuple] = {}
        self.packs: dict[tuple[str, str, str], tuple] = {}
        self.rollups: dict[str, tuple[dict, dict]] = {}
        self.rollup_sizes: dict[str, int] = {}


class _Verifier:
    def __init__(self, session: Session, keys: list[VerifierKey], report: VerifyReport):
        self.session = session
        self.keys = keys
        self.report = report
        self.ctx = _Context()
        self.kind_counts: dict[tuple[str, str], int] = {}
        self.used_keys: set[str] = set()

    def add(self, tenant: str, kind: str, message: str, seq: int | None = None, call_id: str | None = None) -> None:
        k = (tenant, kind)
        n = self.kind_counts.get(k, 0) + 1
        self.kind_counts[k] = n
        if n > MAX_PER_KIND:
            self.report.omitted += 1
            return
        self.report.problems.append(Problem(tenant, kind, message, seq, call_id))

    # -------------------------------------------------------------------------------------- checkpoints

    def _checkpoints(self, tenant: str) -> list[tuple[int, Checkpoint]]:
        out = []
        for rowid, size, root_hex, note, sig_col, kid_col in self.session.checkpoint_rows(tenant):
            try:
                ck = parse_checkpoint(note)
            except NoteError as exc:
                self.add(tenant, "checkpoint", f"checkpoint (row {rowid}) unreadable: {exc}")
                continue
            if ck.tenant != tenant:
                self.add(tenant, "checkpoint", f"checkpoint at size {ck.size} is for log {ck.origin!r}")
                continue
            blobs = {base64.b64encode(kid + sig).decode() for _n, kid, sig in ck.signatures}
            if ck.size != size or ck.root.hex() != root_hex or sig_col not in blobs or (kid_col and kid_col not in ck.key_ids):
                self.add(tenant, "checkpoint", f"checkpoint at size {ck.size}: its columns differ from the signed note")
            key, bad = ck.verify_any(self.keys)
            if key is None:
                self.add(tenant, "checkpoint", f"checkpoint at size {ck.size}: {bad} (key ids {', '.join(ck.key_ids)})")
                continue
            self.used_keys.add(key.encode())
            out.append((ck.size, ck))
        return out

    # --------------------------------------------------------------------------------------------- logs

    def verify_log(self, tenant: str, trusted: list[Checkpoint]) -> None:
        add = self.add
        session = self.session
        cks = self._checkpoints(tenant)
        sizes = {s for s, _ in cks} | {c.size for c in trusted}
        roots: dict[int, bytes] = {}
        vrows: dict[int, list[tuple]] = {}
        for r in session.violation_rows(tenant):
            vrows.setdefault(r[0], []).append(r[1:])
        sc_rows = session.scorecard_rows(tenant)
        ev_list = session.event_rows(tenant)

        def by_seq(r: tuple) -> float:
            return r[0] if type(r[0]) is int else float("inf")

        f = Frontier()
        if 0 in sizes:
            roots[0] = f.root()
        expected = 0
        link: bytes | None = GENESIS
        count = 0
        contrib: dict[str, rollup.Contribution] = {}
        interned: dict[rollup.Contribution, rollup.Contribution] = {}
        delta = rollup.RollupDelta()
        has_scorecards = False
        # events are few next to scorecards: merge only when there are any
        rows = heapq.merge(sc_rows, ev_list, key=by_seq) if ev_list else sc_rows
        for row in rows:
            seq = row[0]
            if type(seq) is not int:
                add(tenant, "chain", f"a record's position is not an integer ({seq!r})")
                continue
            count += 1
            if seq != expected:
                if seq > expected:
                    missing = f"record {expected} missing" if seq == expected + 1 else f"records {expected}-{seq - 1} missing"
                    add(tenant, "chain", f"chain broken: {missing}", expected)
                else:
                    add(tenant, "chain", "two records at the same position", seq)
                    continue
                link = None
            is_sc = row[1] == "s"
            body, stored_leaf, stored_prev, stored_audit = (row[14:18] if is_sc else row[4:8])
            call_id = row[2] if is_sc and isinstance(row[2], str) else None
            # the exact bytes stored, even if not valid UTF-8
            raw = bytes(body) if isinstance(body, (bytes, bytearray, memoryview)) else b""
            lh = leaf_hash(raw)
            if lh.hex() != stored_leaf:
                add(tenant, "leaf", "leaf hash mismatch: the record's body was altered", seq, call_id)
            try:
                doc = json.loads(raw)
                if not isinstance(doc, dict):
                    raise ValueError("not an object")
            except (ValueError, RecursionError, UnicodeDecodeError):
                doc = None
                add(tenant, "body", "record body is not JSON", seq, call_id)
            foreign = False
            if doc is not None:
                try:
                    if is_sc:
                        has_scorecards = True
                        foreign = self._scorecard(tenant, seq, row, doc, vrows.pop(seq, []), stored_audit, contrib,
                                                  interned, delta)
                    else:
                        foreign = self._event(tenant, seq, row, doc)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    add(tenant, "body", f"record body is malformed ({type(exc).__name__}: {exc})", seq, call_id)
            if not foreign:
                if link is not None and stored_prev != link.hex():
                    other = self._seq_of(tenant, stored_prev)
                    if other is not None and other != seq - 1:
                        add(tenant, "order", f"records reordered: record at seq {seq} follows the record now at seq {other}",
                            seq, call_id)
                    else:
                        add(tenant, "chain", f"chain broken: record {seq} does not link to record {seq - 1}", seq, call_id)
                else:
                    try:
                        want = audit_link(bytes.fromhex(stored_prev), bytes.fromhex(stored_leaf), tenant, seq).hex()
                    except (TypeError, ValueError):
                        want = None
                    if want != stored_audit:
                        add(tenant, "audit", "audit hash mismatch: the record was altered, moved or reordered", seq, call_id)
            try:
                link = bytes.fromhex(stored_audit)
            except (TypeError, ValueError):
                link = None
            expected = seq + 1
            f.append(lh)
            if f.size in sizes:
                roots[f.size] = f.root()

        for seq in sorted(vrows):
            add(tenant, "violations", f"violation rows for seq {seq} have no scorecard record", seq)

        log_size = expected
        self.ctx.sizes[tenant] = log_size
        if has_scorecards or tenant != DIRECTORY:
            self.ctx.rollups[tenant] = delta.nonzero()
        signed = 0
        for size, ck in cks:
            if size > log_size:
                add(tenant, "truncated", f"tail truncated: checkpoint has size {size}, log has {log_size}")
            elif roots.get(size) != ck.root:
                add(tenant, "root", f"checkpoint root mismatch at size {size}: the log's records differ from the signed tree")
            else:
                signed = max(signed, size)
        have = {x for x in session.checkpoint_sizes(tenant) if type(x) is int}
        missing = [k for k in range(CHECKPOINT_EVERY, min(log_size, max(have, default=0)) + 1, CHECKPOINT_EVERY) if k not in have]
        for k in missing[:5]:
            add(tenant, "checkpoint", f"the signed checkpoint at size {k} is missing (deleted)", k - 1)
        if log_size > signed:
            cid = self._call_at(tenant, signed)
            add(
                tenant,
                "uncovered",
                f"records {signed}..{log_size - 1} are not covered by a signed checkpoint (the latest valid one has "
                f"size {signed}): appended without the signing key, or its checkpoints were deleted",
                signed,
                cid,
            )
        for ck in trusted:
            key, bad = ck.verify_any(self.keys)
            if key is None:
                add(tenant, "trusted_checkpoint", f"trusted checkpoint at size {ck.size}: {bad}")
            elif ck.size > log_size:
                add(tenant, "truncated", f"tail truncated: trusted checkpoint has size {ck.size}, log has {log_size}")
            elif roots.get(ck.size) != ck.root:
                add(tenant, "root", f"trusted checkpoint root mismatch at size {ck.size}: the log was rewritten")
        gaps = session.gap_totals(tenant)
        latest = max(have, default=None)
        self.report.tenants.append(
            {
                "tenant": tenant,
                "records": count,
                "size": log_size,
                "checkpoints": len(cks),
                "latest_checkpoint_size": latest,
                "root": f.root().hex(),
                "uncheckpointed": max(0, log_size - signed),
                "gaps": gaps[1],
                "lost": gaps[0],
            }
        )

    def _seq_of(self, tenant: str, audit: Any) -> int | None:
        return self.session.seq_of_audit_hash(tenant, audit)

    def _call_at(self, tenant: str, seq: int) -> str | None:
        return self.session.call_id_at(tenant, seq)

    def _scorecard(
        self,
        tenant: str,
        seq: int,
        row: tuple,
        doc: dict[str, Any],
        have: list[tuple],
        stored_audit: Any,
        contrib: dict[str, rollup.Contribution],
        interned: dict[rollup.Contribution, rollup.Contribution],
        delta: rollup.RollupDelta,
    ) -> bool:
        (_seq, _t, call_id, agent_id, product, etag, ev, verdict, scored_at, call_at, nfind, blocked, modified, packs,
         _body, _leaf, _prev, _audit, supersedes, input_sha256) = row
        if tenant == DIRECTORY:
            self.add(tenant, "body", "the directory holds a scorecard", seq, call_id)
            return False
        sc = doc["scorecard"]
        if sc.get("tenant") != tenant:
            self.add(tenant, "tenant", f"record belongs to tenant {sc.get('tenant')} but is in tenant {tenant}'s chain",
                     seq, call_id)
            return True
        cols = {
            "call_id": (call_id, sc.get("call_id")),
            "agent_id": (agent_id, sc.get("agent_id")),
            "product": (product, sc.get("product")),
            "config_etag": (etag, sc.get("config_etag")),
            "engine_version": (ev, sc.get("engine_version")),
            "verdict": (verdict, sc.get("verdict")),
            "scored_at": (scored_at, sc.get("scored_at")),
            "call_at": (call_at, rollup.call_at(sc)),
            "findings": (nfind, len(sc.get("findings") or [])),
            "blocked_turns": (blocked, sc.get("blocked_turns")),
            "modified_turns": (modified, sc.get("modified_turns")),
            "packs_enforced": (packs, ",".join(sc.get("packs_enforced") or [])),
            "supersedes": (supersedes, doc.get("supersedes")),
            "input_sha256": (input_sha256, scored.get("sha256") if isinstance(scored := sc.get("input"), dict) else None),
        }
        diff = sorted(k for k, (a, b) in cols.items() if a != b)
        if diff:
            self.add(tenant, "columns", f"row columns differ from the signed body: {', '.join(diff)}", seq, call_id)
        want = [
            (
                i, v.get("id"), stored_audit, v.get("interaction_id"), v.get("agent_id"), v.get("rule_id"),
                v.get("pack_id"), v.get("severity"), v.get("action_taken"), v.get("citation"), v.get("reason"),
                v.get("at_t"), sc.get("scored_at"), cols["call_at"][1],
            )
            for i, v in enumerate(doc.get("violations") or [])
        ]
        if [tuple(x) for x in have] != want:
            self.add(tenant, "violations", "violation rows differ from the signed body", seq, call_id)
        a = sc.get("agent_id")
        if isinstance(a, str) and (tenant, a) not in self.ctx.agents:
            self.ctx.agents[(tenant, a)] = (sc.get("scored_at"), seq)
        # the rollup, rebuilt as the writer builds it
        c = rollup.contribution(sc)
        c = interned.setdefault(c, c)
        old = doc.get("supersedes")
        if old is not None and old in contrib:
            delta.add(tenant, contrib[old], -1)
        delta.add(tenant, c, 1)
        if isinstance(stored_audit, str):
            contrib[stored_audit] = c
        return False

    def _event(self, tenant: str, seq: int, row: tuple, doc: dict[str, Any]) -> bool:
        _seq, _e, kind, ref, _body, _leaf, _prev, _audit = row
        ctx = self.ctx
        if doc.get("tenant") != tenant:
            self.add(tenant, "tenant", f"record belongs to tenant {doc.get('tenant')} but is in tenant {tenant}'s chain", seq)
            return True
        ev = doc.get("event")
        if ev != kind:
            self.add(tenant, "columns", f"event row kind {kind!r} differs from the signed body ({ev!r})", seq)
        from trace_engine.store.log import EVENT_REFS

        ref_field = EVENT_REFS.get(ev) if isinstance(ev, str) else None
        want_ref = doc.get(ref_field) if ref_field else None
        if (None if want_ref is None else str(want_ref)) != ref:
            self.add(tenant, "columns", "event row ref differs from the signed body", seq)
        from trace_engine.store.log import DIRECTORY_KINDS

        if (tenant == DIRECTORY) != (ev in DIRECTORY_KINDS):
            self.add(tenant, "body", f"a {ev!r} record does not belong in this log", seq)
            return False
        if ev == "tenant":
            name = doc["name"]
            if name in ctx.names:
                self.add(tenant, "directory", f"tenant {name} is listed twice (entries {ctx.names[name]} and {seq}): "
                         "its log was deleted and started again", seq)
            else:
                ctx.names[name] = seq
        elif ev == "gap":
            ctx.gaps.append((tenant, doc["lost"], doc["reason"], doc["at"], seq))
        elif ev == "tier2_finding":
            ctx.tier2.append(
                (tenant, doc["finding"].get("id"), doc["interaction_id"], doc["audit_hash"],
                 json.dumps(doc["finding"], sort_keys=True), doc["at"], seq)
            )
        elif ev == "agent":
            ctx.agents.setdefault((tenant, doc["agent_id"]), (doc["at"], seq))
        elif ev == "api_key.created":
            ctx.keys[doc["key_id"]] = (tenant, doc["key_hash"], doc["scopes"], doc["created_at"], None, doc.get("note"))
        elif ev == "api_key.revoked":
            k = ctx.keys.get(doc["key_id"])
            if k is None or k[0] != tenant:
                self.add(tenant, "body", f"revocation of unknown key {doc['key_id']}", seq)
            else:
                ctx.keys[doc["key_id"]] = (*k[:4], doc["revoked_at"], k[5])
        elif ev == "config":
            ctx.configs[(tenant, doc["agent_id"])] = (doc["body"], doc["etag"], doc["updated_at"])
        elif ev == "rule_pack":
            ctx.packs[(tenant, doc["pack_id"], doc["version"])] = (
                doc["id"], doc["spec"], doc["etag"], doc.get("jurisdiction"), doc.get("legal_status"), doc["created_at"]
            )
        return False

    # --------------------------------------------------------------------------------- across the logs

    def directory(self) -> None:
        ctx = self.ctx
        for t, size in sorted(ctx.sizes.items()):
            if t == DIRECTORY:
                continue
            if size and t not in ctx.names:
                self.add(t, "directory", "the tenant has records but is not in the signed directory", 0)
        for name, entry in sorted(ctx.names.items()):
            if not ctx.sizes.get(name):
                self.add(name, "deleted", f"the tenant is in the signed directory (entry {entry}) but has no records: "
                         "its log was deleted")

    def _compare(self, table: str, label: str, want: dict[Any, tuple], have: dict[Any, tuple], fmt: Any) -> None:
        for k in sorted(set(want) | set(have), key=repr):
            w, h = want.get(k), have.get(k)
            if w == h:
                continue
            tenant, seq, what = fmt(k, w, h)
            if h is None:
                self.add(tenant, table, f"the signed {label} has no {table} row (deleted)", seq)
            elif w is None:
                self.add(tenant, table, f"{table} row {what} has no signed record: written outside the log", seq)
            else:
                self.add(tenant, table, f"{table} row {what} differs from its signed record", seq)

    def side_tables(self) -> None:
        ctx, session = self.ctx, self.session

        def rows(table: str) -> list[tuple]:
            return session.projection_rows(table) or []

        want = {g: g for g in ctx.gaps}
        have = {r: r for r in rows("gaps")}
        self._compare("gaps", "gap record", want, have, lambda k, w, h: (k[0], k[4], f"at seq {k[4]}"))

        def norm_finding(r: tuple) -> tuple:
            try:
                body = json.dumps(json.loads(r[4]), sort_keys=True)
            except (TypeError, ValueError):
                body = r[4]
            return (r[0], r[1], r[2], r[3], body, r[5], r[6])

        want = {(t[0], t[6]): t for t in ctx.tier2}
        have = {(r[0], r[6]): norm_finding(r) for r in rows("tier2_findings")}
        self._compare("tier2_findings", "Tier-2 finding", want, have, lambda k, w, h: (k[0], k[1], (w or h)[1]))

        want = {k: v for k, v in ctx.agents.items()}
        have = {(r[0], r[1]): (r[2], r[3]) for r in rows("agents")}
        self._compare("agents", "agent record", want, have, lambda k, w, h: (k[0], (w or h)[1], repr(k[1])))

        keys = session.projection_rows("api_keys")
        if keys is not None:
            have = {r[0]: tuple(r[1:]) for r in keys}
            self._compare("api_keys", "API key", ctx.keys, have,
                          lambda k, w, h: ((w or h)[0], None, k))
        configs = session.projection_rows("trace_configs")
        if configs is not None:
            have = {(r[0], r[1]): tuple(r[2:]) for r in configs}
            self._compare("trace_configs", "config", ctx.configs, have,
                          lambda k, w, h: (k[0], None, f"for agent {k[1]!r}" if k[1] else "for the org default"))
        packs = session.projection_rows("trace_rule_packs")
        if packs is not None:
            have = {(r[0], r[1], r[2]): tuple(r[3:]) for r in packs}
            self._compare("trace_rule_packs", "rule pack", ctx.packs, have,
                          lambda k, w, h: (k[0], None, f"{k[1]}@{k[2]}"))

    def stale_rollups(self) -> list[str]:
        """The tenants whose records verified but whose rollup differs from them (a cache to rebuild)."""
        bad_logs = {p.tenant for p in self.report.problems if p.kind != "rollup"}
        return sorted({p.tenant for p in self.report.problems if p.kind == "rollup"} - bad_logs)

    def rebuild_rollups(self, store: Store, stale: list[str]) -> None:
        """Rewrite those tenants' rollups from the records just verified (a write transaction of its own)."""
        with store.transaction() as w:
            for t in stale:
                want_v, want_r = self.ctx.rollups.get(t, ({}, {}))
                w.replace_rollup(t, dict(want_v), dict(want_r), self.ctx.sizes.get(t, 0))

    def rollups(self) -> None:
        session = self.session
        tenants = set(self.ctx.rollups) | session.rollup_tenants()
        for t in sorted(tenants, key=str):
            want_v, want_r = self.ctx.rollups.get(t, ({}, {}))
            have_v, have_r = session.stored_rollup(t)
            bad = [k for k in set(want_v) | set(have_v) if want_v.get(k, 0) != have_v.get(k, 0)]
            bad += [k for k in set(want_r) | set(have_r) if want_r.get(k, 0) != have_r.get(k, 0)]
            for k in sorted(bad, key=repr)[:5]:
                hour = datetime.fromtimestamp(k[1] / 1000, tz=UTC).strftime("%Y-%m-%dT%H:00Z")
                what = f"verdict {k[3]}" if len(k) == 4 else f"rule {k[3]}"
                want = (want_v if len(k) == 4 else want_r).get(k, 0)
                have = (have_v if len(k) == 4 else have_r).get(k, 0)
                agent = "no agent" if k[2] == rollup.NONE else f"agent {k[2]}"
                self.add(t, "rollup", f"exposure rollup differs from the signed records: hour {hour}, {agent}, {what}: "
                         f"stored {have}, records say {want}")
            if len(bad) > 5:
                self.add(t, "rollup", f"{len(bad) - 5} more exposure rollup cells differ from the signed records")


def verify_db(
    db_path: str | os.PathLike[str] | Store,
    *,
    pubkeys: list[VerifierKey] | tuple[VerifierKey, ...] = (),
    trusted_checkpoints: list[str] | tuple[str, ...] = (),
    pubkey: VerifierKey | None = None,
    trusted_checkpoint: str | None = None,
    rebuild_rollups: bool = False,
) -> VerifyReport:
    """Verify the whole database (a path, a URL or an open store) against ``pubkeys`` (trusted; without any, the
    ``trace.pub`` beside the DB, flagged untrusted) and the witnessed ``trusted_checkpoints`` (note texts, each may
    hold several notes). With ``rebuild_rollups`` an exposure rollup that differs from its tenant's (otherwise
    intact) records is rewritten from them; the difference is still reported.

    Raises :class:`~trace_engine.store.db.UnreadableDatabase` when the database cannot be read (damaged,
    truncated, not a Trace DB), :class:`NoTrustedKey` when there is no key at all, and
    :class:`~trace_engine.evidence.signing.NoteError` for a trusted checkpoint that does not parse."""
    from trace_engine.evidence.signing import parse_checkpoints
    from trace_engine.store import open_store

    keys = [*pubkeys, *([pubkey] if pubkey is not None else [])]
    witnessed = [c for text in [*trusted_checkpoints, *([trusted_checkpoint] if trusted_checkpoint else [])]
                 for c in parse_checkpoints(text)]
    store = open_store(db_path, create=False)
    report = VerifyReport(store.url, None, None)
    try:
        with store.read() as session:
            beside = beside_key(store)
            if not witnessed and not session.has_records() and not keys and not (beside and beside.is_file()):
                report.key_source = "none needed: the log is empty"
                return report
            keys = _pick_keys(store, keys, report)
            report.key = keys[0].encode()
            v = _Verifier(session, keys, report)
            tenants = session.log_tenants() | {c.tenant for c in witnessed}
            tenants.add(DIRECTORY)
            for t in sorted(tenants, key=lambda x: (x != DIRECTORY, str(x))):
                if not isinstance(t, str):
                    v.add(str(t), "tenant", f"rows with a non-text tenant ({t!r})")
                    continue
                v.verify_log(t, [c for c in witnessed if c.tenant == t])
            v.directory()
            v.side_tables()
            v.rollups()
        if rebuild_rollups:
            stale = v.stale_rollups()
            if stale:
                v.rebuild_rollups(store, stale)
            report.rebuilt = stale
        report.keys = sorted(v.used_keys)
        report.tenants = [t for t in report.tenants if t["tenant"] != DIRECTORY or t["records"]]
        return report
    except StoreError as exc:
        raise UnreadableDatabase(f"{store.url}: the database is damaged ({exc.cause or exc})") from exc
    except (MemoryError, RecursionError, UnicodeError) as exc:
        raise UnreadableDatabase(f"{store.url}: the database cannot be read ({type(exc).__name__})") from exc
    finally:
        if store is not db_path:
            store.close()
