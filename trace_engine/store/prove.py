"""Inclusion proofs: show that one call's scorecard is in the signed log, checkable offline without the DB.

A proof (JSON, ``object: "trace.inclusion_proof"``) carries the leaf's canonical body (the exact bytes that were
hashed, as a UTF-8 string), its index (the record's ``seq``), the RFC 6962 audit path (hex, leaf to root), the
signed checkpoint note of a tree that contains the leaf, and the log's verifier key. :func:`verify_proof` checks:
the note's signature (against a trusted key when given, else the embedded one, which the result marks
self-attested), that the note is for the body's tenant, and that the body's leaf hash and the path give the
note's root.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from trace_engine.evidence.merkle import inclusion_path, leaf_hash, root_from_inclusion
from trace_engine.evidence.signing import NoteError, SigningKey, VerifierKey, parse_checkpoint
from trace_engine.store.log import EvidenceLog

PROOF_OBJECT = "trace.inclusion_proof"


class ProofError(Exception):
    """A proof could not be produced (unknown call, no key to sign a covering checkpoint)."""


def make_proof(
    db_path: str | os.PathLike[str],
    tenant: str,
    call_id: str,
    key: SigningKey | str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Build an inclusion proof for the call's latest record, checkpointing first if no checkpoint covers it."""
    log = EvidenceLog(db_path, key)
    try:
        conn = log.conn
        row = conn.execute(
            "SELECT seq, body, leaf_hash, audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? "
            "ORDER BY +seq DESC LIMIT 1",
            (tenant, call_id),
        ).fetchone()
        if row is None:
            raise ProofError(f"no interaction {call_id!r} for tenant {tenant!r}")
        seq, body, _lh, audit = row
        ck = conn.execute(
            "SELECT size, note FROM checkpoints WHERE tenant = ? ORDER BY size DESC, rowid DESC LIMIT 1", (tenant,)
        ).fetchone()
        if ck is None or ck[0] <= seq:
            log.checkpoint(tenant)
            ck = conn.execute(
                "SELECT size, note FROM checkpoints WHERE tenant = ? ORDER BY size DESC, rowid DESC LIMIT 1",
                (tenant,),
            ).fetchone()
        size, note = ck
        leaves = [
            bytes.fromhex(h)
            for (h,) in conn.execute(
                "SELECT leaf_hash FROM scorecards WHERE tenant = ? AND seq < ? ORDER BY seq", (tenant, size)
            )
        ]
        if len(leaves) != size:
            raise ProofError(f"log for tenant {tenant!r} has {len(leaves)} records below checkpoint size {size}")
        path = inclusion_path(leaves, seq)
        pub = log.conn.execute("SELECT value FROM meta WHERE key = 'log_pubkey'").fetchone()
        return {
            "object": PROOF_OBJECT,
            "version": 1,
            "tenant": tenant,
            "call_id": call_id,
            "leaf_index": seq,
            "tree_size": size,
            "leaf_body": body,
            "leaf_hash": leaf_hash(body.encode("utf-8")).hex(),
            "audit_hash": audit,
            "audit_path": [h.hex() for h in path],
            "checkpoint": note,
            "pubkey": pub[0] if pub else log.key.verifier.encode(),
        }
    finally:
        log.conn.close()


@dataclass
class ProofResult:
    ok: bool
    problems: list[str] = field(default_factory=list)
    key_source: str = ""
    tenant: str | None = None
    call_id: str | None = None
    leaf_index: int | None = None
    tree_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": "trace.proof_verification",
            "ok": self.ok,
            "tenant": self.tenant,
            "call_id": self.call_id,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "key_source": self.key_source,
            "problems": self.problems,
        }


def verify_proof(proof: dict[str, Any], pubkey: VerifierKey | None = None) -> ProofResult:
    """Check a proof offline. Never raises on bad input: problems are listed in the result."""
    res = ProofResult(False)
    probs = res.problems
    try:
        if proof.get("object") != PROOF_OBJECT:
            probs.append("not a Trace inclusion proof")
            return res
        body = proof["leaf_body"]
        index = int(proof["leaf_index"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        ck = parse_checkpoint(proof["checkpoint"])
        res.tenant, res.call_id, res.leaf_index, res.tree_size = proof.get("tenant"), proof.get("call_id"), index, ck.size
        if pubkey is None:
            key = VerifierKey.parse(proof["pubkey"])
            res.key_source = "self-attested (embedded in the proof; pass --pubkey to check against a trusted key)"
        else:
            key = pubkey
            res.key_source = "trusted (--pubkey)"
    except (KeyError, TypeError, ValueError, NoteError) as exc:
        probs.append(f"malformed proof: {exc}")
        return res
    bad = ck.verify(key)
    if bad:
        probs.append(bad)
    try:
        sc = json.loads(body)["scorecard"]
        if sc.get("tenant") != ck.tenant:
            probs.append(f"record belongs to tenant {sc.get('tenant')} but the checkpoint is for tenant {ck.tenant}")
        if proof.get("call_id") is not None and sc.get("call_id") != proof.get("call_id"):
            probs.append("the proof's call_id is not the leaf's call_id")
    except (ValueError, KeyError, TypeError, AttributeError):
        probs.append("leaf body is not a scorecard record")
    if int(proof.get("tree_size", ck.size)) != ck.size:
        probs.append("the proof's tree_size is not the checkpoint's size")
    try:
        root = root_from_inclusion(leaf_hash(body.encode("utf-8")), index, ck.size, path)
        if root != ck.root:
            probs.append("inclusion proof does not match the checkpoint root")
    except ValueError as exc:
        probs.append(f"inclusion proof invalid: {exc}")
    res.ok = not probs
    return res
