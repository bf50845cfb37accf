"""``trace verify``: recompute every hash, link, tree head and signature in an evidence DB.

What is checked, per tenant, in ``seq`` order:

* positions are contiguous from 0 (``chain broken: record 5 missing``);
* ``leaf_hash == SHA-256(0x00 || body)`` (``leaf hash mismatch``);
* the body's ``scorecard.tenant`` is the chain's tenant (``record belongs to tenant a but is in tenant b's chain``);
* the denormalized columns (verdict, call_id, ...) and the ``violations`` rows equal what the body says;
* ``prev_hash`` is the previous record's ``audit_hash`` (``records reordered`` when it names another record of
  the chain) and ``audit_hash`` recomputes;
* every stored checkpoint parses, is signed by the verifier key (``checkpoint signature invalid``,
  ``signed by an unknown key``), and its root equals the recomputed RFC 6962 root at its size; a checkpoint larger
  than the log means the tail was cut (``tail truncated: checkpoint has size 300, log has 250``);
* a trusted checkpoint (``--checkpoint``), kept outside the DB, is checked the same way.

The verifier key is, in order: ``--pubkey`` (trusted), ``trace.pub`` beside the DB, or the key recorded in the
DB's ``meta`` table. The last two are only as trustworthy as the directory; the report says which was used.
``gaps`` records (scorecards the inline writer lost) are reported but are not tampering.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trace_engine.evidence.merkle import Frontier, leaf_hash
from trace_engine.evidence.signing import NoteError, VerifierKey, parse_checkpoint
from trace_engine.store.db import connect, get_meta
from trace_engine.store.log import GENESIS, audit_link


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
        where = f"tenant {self.tenant}"
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
    tenants: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": "trace.verification",
            "ok": self.ok,
            "db": self.db,
            "key_source": self.key_source,
            "key": self.key,
            "tenants": self.tenants,
            "problems": [p.to_dict() for p in self.problems],
        }


def _pick_key(conn: sqlite3.Connection, db_path: str, pubkey: VerifierKey | None) -> tuple[VerifierKey | None, str | None]:
    if pubkey is not None:
        return pubkey, "trusted (--pubkey)"
    beside = Path(os.path.abspath(db_path)).parent / "trace.pub"
    if beside.is_file():
        try:
            return VerifierKey.parse(beside.read_text()), f"beside the database ({beside})"
        except ValueError:
            pass
    m = get_meta(conn, "log_pubkey")
    if m:
        try:
            return VerifierKey.parse(m), "self-attested (database meta)"
        except ValueError:
            pass
    return None, None


_COLS = (
    "seq, call_id, agent_id, product, config_etag, engine_version, verdict, scored_at, findings, blocked_turns, "
    "modified_turns, packs_enforced, body, leaf_hash, prev_hash, audit_hash, supersedes"
)


def verify_db(
    db_path: str | os.PathLike[str],
    *,
    pubkey: VerifierKey | None = None,
    trusted_checkpoint: str | None = None,
) -> VerifyReport:
    """Verify the whole DB. Raises :class:`~trace_engine.store.db.UnreadableDatabase` when it cannot be read."""
    path = str(db_path)
    conn = connect(path, create=False)
    try:
        key, source = _pick_key(conn, path, pubkey)
        report = VerifyReport(path, source, key.encode() if key else None)
        trusted = None
        if trusted_checkpoint is not None:
            try:
                trusted = parse_checkpoint(trusted_checkpoint)
            except NoteError as exc:
                report.problems.append(Problem("?", "trusted_checkpoint", f"trusted checkpoint unreadable: {exc}"))
        tenants = sorted(
            {r[0] for r in conn.execute("SELECT DISTINCT tenant FROM scorecards")}
            | {r[0] for r in conn.execute("SELECT DISTINCT tenant FROM checkpoints")}
            | ({trusted.tenant} if trusted else set())
        )
        for t in tenants:
            _verify_tenant(conn, t, key, trusted if trusted and trusted.tenant == t else None, report)
        return report
    finally:
        conn.close()


def _verify_tenant(conn: sqlite3.Connection, tenant: str, key: VerifierKey | None, trusted: Any, report: VerifyReport) -> None:
    problems = report.problems

    def add(kind: str, msg: str, seq: int | None = None, call_id: str | None = None) -> None:
        problems.append(Problem(tenant, kind, msg, seq, call_id))

    # Checkpoints first: which tree sizes must we capture roots at?
    cks: list[tuple[int, str, str, Any]] = []  # (size, root hex column, note, parsed)
    for rowid, size, root_hex, note, sig_col, kid_col in conn.execute(
        "SELECT rowid, size, root, note, signature, key_id FROM checkpoints WHERE tenant = ? ORDER BY size, rowid",
        (tenant,),
    ):
        try:
            ck = parse_checkpoint(note)
        except NoteError as exc:
            add("checkpoint", f"checkpoint {rowid} unreadable: {exc}")
            continue
        if ck.tenant != tenant:
            add("checkpoint", f"checkpoint {rowid} is for log {ck.origin!r}, stored under tenant {tenant}")
        blobs = {base64.b64encode(kid + sig).decode() for _n, kid, sig in ck.signatures}
        kids = {kid.hex() for _n, kid, _s in ck.signatures}
        if ck.size != size or ck.root.hex() != root_hex or sig_col not in blobs or (kid_col and kid_col not in kids):
            add("checkpoint", f"checkpoint {rowid}: size/root/signature columns differ from the signed note")
        if key is None:
            add("checkpoint", "no verifier key: checkpoint signatures cannot be checked (pass --pubkey)")
            key = VerifierKey("", b"")  # report once; later checks say "unknown key"
        else:
            bad = ck.verify(key)
            if bad:
                add("checkpoint", f"{bad} (checkpoint {rowid}, size {ck.size})")
        cks.append((ck.size, root_hex, note, ck))
    if trusted is not None and key is not None:
        bad = trusted.verify(key)
        if bad:
            add("trusted_checkpoint", f"trusted checkpoint: {bad}")
    sizes = {c[0] for c in cks} | ({trusted.size} if trusted is not None else set())
    roots: dict[int, bytes] = {}

    # Violations rows, for the consistency check against bodies.
    vrows: dict[int, list[tuple]] = {}
    for r in conn.execute(
        "SELECT seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, pack_id, severity, action_taken, "
        "citation, reason, at_t, scored_at FROM violations WHERE tenant = ? ORDER BY seq, idx",
        (tenant,),
    ):
        vrows.setdefault(r[0], []).append(r[1:])

    f = Frontier()
    if 0 in sizes:
        roots[0] = f.root()
    expected = 0
    link: bytes | None = GENESIS
    count = 0
    for row in conn.execute(f"SELECT {_COLS} FROM scorecards WHERE tenant = ? ORDER BY seq", (tenant,)):
        (seq, call_id, agent_id, product, etag, ev, verdict, scored_at, nfind, blocked, modified, packs,
         body, stored_leaf, stored_prev, stored_audit, supersedes) = row
        count += 1
        if seq != expected:
            if seq > expected:
                missing = f"record {expected} missing" if seq == expected + 1 else f"records {expected}-{seq - 1} missing"
                add("chain", f"chain broken: {missing}", expected)
            link = None
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        lh = leaf_hash(raw)
        if lh.hex() != stored_leaf:
            add("leaf", "leaf hash mismatch: the record's body was altered", seq, call_id)
        foreign = False
        try:
            doc = json.loads(raw)
            sc = doc["scorecard"]
            body_tenant = sc.get("tenant")
        except (ValueError, KeyError, TypeError, AttributeError):
            doc, sc, body_tenant = None, None, None
            add("body", "record body is not a scorecard record", seq, call_id)
        if sc is not None:
            if body_tenant != tenant:
                foreign = True
                add("tenant", f"record belongs to tenant {body_tenant} but is in tenant {tenant}'s chain", seq, call_id)
            cols = {
                "call_id": (call_id, sc.get("call_id")),
                "agent_id": (agent_id, sc.get("agent_id")),
                "product": (product, sc.get("product")),
                "config_etag": (etag, sc.get("config_etag")),
                "engine_version": (ev, sc.get("engine_version")),
                "verdict": (verdict, sc.get("verdict")),
                "scored_at": (scored_at, sc.get("scored_at")),
                "findings": (nfind, len(sc.get("findings") or [])),
                "blocked_turns": (blocked, sc.get("blocked_turns")),
                "modified_turns": (modified, sc.get("modified_turns")),
                "packs_enforced": (packs, ",".join(sc.get("packs_enforced") or [])),
                "supersedes": (supersedes, doc.get("supersedes")),
            }
            diff = sorted(k for k, (a, b) in cols.items() if a != b)
            if diff:
                add("columns", f"row columns differ from the signed body: {', '.join(diff)}", seq, call_id)
            want = [
                (
                    i, v.get("id"), stored_audit, v.get("interaction_id"), v.get("agent_id"), v.get("rule_id"),
                    v.get("pack_id"), v.get("severity"), v.get("action_taken"), v.get("citation"), v.get("reason"),
                    v.get("at_t"), sc.get("scored_at"),
                )
                for i, v in enumerate(doc.get("violations") or [])
            ]
            have = vrows.pop(seq, [])
            if [tuple(x) for x in have] != want:
                add("violations", "violation rows differ from the signed body", seq, call_id)
        if not foreign:
            if link is not None and stored_prev != link.hex():
                other = conn.execute(
                    "SELECT seq FROM scorecards WHERE tenant = ? AND audit_hash = ?", (tenant, stored_prev)
                ).fetchone()
                if other is not None and other[0] != seq - 1:
                    add("order", f"records reordered: record at seq {seq} follows the record now at seq {other[0]}", seq, call_id)
                else:
                    add("chain", f"chain broken: record {seq} does not link to record {seq - 1}", seq, call_id)
            else:
                try:
                    prev_b = bytes.fromhex(stored_prev)
                    want_audit = audit_link(prev_b, bytes.fromhex(stored_leaf), tenant, seq).hex()
                except ValueError:
                    want_audit = None
                if want_audit != stored_audit:
                    add("audit", "audit hash mismatch: the record was altered, moved or reordered", seq, call_id)
        try:
            link = bytes.fromhex(stored_audit)
        except ValueError:
            link = None
        expected = seq + 1
        f.append(lh)
        if f.size in sizes:
            roots[f.size] = f.root()

    for seq in sorted(vrows):
        add("violations", f"violation rows for seq {seq} have no scorecard record", seq)

    log_size = expected
    for size, _root_hex, _note, ck in cks:
        if size > log_size:
            add("truncated", f"tail truncated: checkpoint has size {size}, log has {log_size}")
        elif size in roots and roots[size] != ck.root:
            add("root", f"checkpoint root mismatch at size {size}: the log's records differ from the signed tree")
    if trusted is not None:
        if trusted.size > log_size:
            add("truncated", f"tail truncated: trusted checkpoint has size {trusted.size}, log has {log_size}")
        elif roots.get(trusted.size) != trusted.root:
            add("root", f"trusted checkpoint root mismatch at size {trusted.size}: the log was rewritten")
    lost = conn.execute("SELECT coalesce(sum(lost), 0), count(*) FROM gaps WHERE tenant = ?", (tenant,)).fetchone()
    latest = cks[-1][0] if cks else None
    report.tenants.append(
        {
            "tenant": tenant,
            "records": count,
            "size": log_size,
            "checkpoints": len(cks),
            "latest_checkpoint_size": latest,
            "root": f.root().hex(),
            "uncheckpointed": log_size - (latest or 0) if latest is not None and latest <= log_size else log_size,
            "gaps": lost[1],
            "lost": lost[0],
        }
    )
