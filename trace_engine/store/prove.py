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
from pathlib import Path
from typing import Any

from trace_engine.evidence.merkle import inclusion_path, leaf_hash, root_from_inclusion
from trace_engine.evidence.signing import NoteError, SigningKey, VerifierKey, parse_checkpoint
from trace_engine.store.interfaces import Store

PROOF_OBJECT = "trace.inclusion_proof"


class ProofError(Exception):
    """A proof could not be produced (unknown call, or a log that does not match its signed checkpoint)."""


def make_proof(
    db_path: str | os.PathLike[str] | Store,
    tenant: str,
    call_id: str,
    key: SigningKey | VerifierKey | str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Build an inclusion proof for the call's latest record under the log's latest signed checkpoint.

    Nothing is signed here: every commit already carries its checkpoint, so a record that none covers was
    written without the key and is refused (:class:`ProofError`), as is a log whose records no longer give the
    checkpoint's root. ``key`` (the log's signing key, its verifier key, or a path to either) checks the
    checkpoint's signature and is embedded for convenience; without it ``trace.pub`` beside the DB is embedded.
    """
    from trace_engine.store import open_store

    store = open_store(db_path, create=False)
    try:
        with store.read() as session:
            return _prove(session, tenant, call_id, key)
    finally:
        if store is not db_path:
            store.close()


def _prove(session: Any, tenant: str, call_id: str, key: Any) -> dict[str, Any]:
    """The proof, from one snapshot (the record, the checkpoint and the tree agree)."""
    row = session.latest_scorecard(tenant, call_id)
    if row is None:
        raise ProofError(f"no interaction {call_id!r} for tenant {tenant!r}")
    seq, body, stored_leaf, audit = row[0], row[6], row[7], row[9]
    if not isinstance(body, str) or leaf_hash(body.encode("utf-8")).hex() != stored_leaf:
        raise ProofError(f"record {seq} (call {call_id}) does not match its hash: run `trace verify`")
    ck_row = session.latest_checkpoint(tenant)
    if ck_row is None or ck_row[0] <= seq:
        raise ProofError(
            f"record {seq} (call {call_id}) is not covered by any signed checkpoint: it was written without the "
            "signing key; run `trace verify`"
        )
    size, note = ck_row
    try:
        ck = parse_checkpoint(note)
    except NoteError as exc:
        raise ProofError(f"the latest checkpoint of tenant {tenant!r} is unreadable: {exc}") from None
    verifier = _verifier(key, session.store)
    if verifier is not None and ck.verify(verifier) is not None:
        raise ProofError(f"the latest checkpoint of tenant {tenant!r} is not signed by {verifier.encode()}")
    rows = session.leaf_hashes(tenant, size)
    try:
        if [r[0] for r in rows] != list(range(size)):
            raise ValueError
        hashes = [bytes.fromhex(r[1]) for r in rows]
    except (TypeError, ValueError):
        raise ProofError(f"log for tenant {tenant!r} does not hold records 0..{size - 1}: run `trace verify`") from None
    path = inclusion_path(hashes, seq)
    if root_from_inclusion(hashes[seq], seq, size, path) != ck.root:
        raise ProofError(f"the records of tenant {tenant!r} do not match its signed checkpoint: run `trace verify`")
    return {
        "object": PROOF_OBJECT,
        "version": 1,
        "tenant": tenant,
        "call_id": call_id,
        "leaf_index": seq,
        "tree_size": size,
        "leaf_body": body,
        "leaf_hash": stored_leaf,
        "audit_hash": audit,
        "audit_path": [h.hex() for h in path],
        "checkpoint": note,
        "pubkey": verifier.encode() if verifier is not None else None,
    }


def _verifier(key: SigningKey | VerifierKey | str | os.PathLike[str] | None, store: Store) -> VerifierKey | None:
    if isinstance(key, SigningKey):
        return key.verifier
    if isinstance(key, VerifierKey):
        return key
    if key is not None:
        text = Path(key).read_text(encoding="utf-8")
        return SigningKey.parse(text).verifier if text.startswith("PRIVATE+KEY+") else VerifierKey.parse(text)
    if store.key_dir is None:
        return None
    beside = store.key_dir / "trace.pub"
    try:
        return VerifierKey.parse(beside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
            if not proof.get("pubkey"):
                probs.append("the proof embeds no key: pass --pubkey")
                return res
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
