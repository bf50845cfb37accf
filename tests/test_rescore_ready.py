"""Ready records: re-scoring workers build each record's canonical bytes and hashes; the appending process only
links and writes them, and the log is exactly what appending the scorecards would have written."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

import trace_engine.rescore as rescore_module
import trace_engine.store.log as log_module
import trace_engine.transcripts as transcripts_module
from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.merkle import leaf_hash
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.rescore import rescore
from trace_engine.store import rollup
from trace_engine.store.log import EvidenceLog, ready_record, record_body
from trace_engine.store.verify import verify_db

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpora" / "outbound_calls.jsonl"
CONFIG = {"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}}}
AUDIT = "ab" * 32


def _bodies(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT tenant, seq, call_id, body, leaf_hash, prev_hash, audit_hash, supersedes FROM scorecards "
            "ORDER BY tenant, seq"
        ).fetchall()


@pytest.mark.parametrize("supersedes", [None, AUDIT])
def test_a_ready_record_is_the_canonical_record_body(supersedes):
    for i in range(30):
        sc = synthetic_scorecard(i, "acme")
        rec = ready_record(sc, supersedes)
        want = canonical_bytes(record_body(sc, supersedes)[0])
        assert rec.body == want and rec.leaf == leaf_hash(want)
        assert rec.body[len(b'{"scorecard":') : rec.scorecard_end] == canonical_bytes(sc.to_dict())
        assert (rec.tenant, rec.call_id, rec.findings, rec.turns) == ("acme", sc.call_id, len(sc.findings), len(sc.timeline))


def test_relinking_splices_the_bytes_of_a_fresh_record():
    sc = synthetic_scorecard(7, "acme")
    for built, wanted in [(None, AUDIT), (AUDIT, None), (AUDIT, "cd" * 32)]:
        relinked = ready_record(sc, built).relinked(wanted)
        fresh = ready_record(sc, wanted)
        assert (relinked.body, relinked.leaf, relinked.supersedes) == (fresh.body, fresh.leaf, wanted)


def test_appending_ready_records_writes_what_appending_scorecards_writes(tmp_path):
    key = SigningKey.generate()
    cards = [synthetic_scorecard(i, "acme") for i in range(12)]
    # the second run supersedes the first: another config etag for each call
    later = [dataclasses.replace(c, config_etag="etag-2") for c in cards]
    with EvidenceLog(tmp_path / "a.db", key, clock=lambda: 1.0) as log:
        log.append_many(cards)
        log.append_many(later)
    with EvidenceLog(tmp_path / "b.db", key, clock=lambda: 1.0) as log:
        log.append_many([ready_record(c) for c in cards])
        hints = log.latest_records("acme", [c.call_id for c in later])
        assert len(hints) == len(cards)
        assert [hints[c.call_id][1] for c in cards] == [rollup.contribution(c.to_dict()) for c in cards]
        log.append_many([ready_record(c, *hints[c.call_id]) for c in later])
        assert log.relinked == 0
    assert _bodies(tmp_path / "a.db") == _bodies(tmp_path / "b.db")
    assert verify_db(tmp_path / "b.db", pubkey=key.verifier).ok


def test_a_stale_supersedes_is_relinked_by_the_sequencer(tmp_path):
    key = SigningKey.generate()
    first = synthetic_scorecard(3, "acme")
    second = dataclasses.replace(first, config_etag="etag-2")
    with EvidenceLog(tmp_path / "t.db", key) as log:
        stale = ready_record(second, None)  # built before the first version was appended
        (a,) = log.append_many([first])
        (b,) = log.append_many([stale])
        (c,) = log.append_many([ready_record(dataclasses.replace(first, config_etag="etag-3"), "00" * 32)])
        assert log.relinked == 2
    assert (b.status, b.supersedes) == ("appended", a.audit_hash) and c.supersedes == b.audit_hash
    rows = _bodies(tmp_path / "t.db")
    assert [json.loads(r[3])["supersedes"] for r in rows] == [None, a.audit_hash, b.audit_hash]
    assert verify_db(tmp_path / "t.db", pubkey=key.verifier).ok


def test_a_duplicate_ready_record_writes_nothing(tmp_path):
    with EvidenceLog(tmp_path / "t.db", SigningKey.generate()) as log:
        (a,) = log.append_many([ready_record(synthetic_scorecard(1))])
        (b,) = log.append_many([ready_record(synthetic_scorecard(1), a.audit_hash)])
    assert (b.status, b.audit_hash) == ("duplicate", a.audit_hash) and len(_bodies(tmp_path / "t.db")) == 1


class _Counting:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


def test_with_workers_the_parent_only_appends(tmp_path, monkeypatch):
    """Workers parse, score, canonicalize and hash; the appending process parses no line, builds no record and hashes no body (counted in
    the parent; the forked workers count in their own memory)."""
    built = _Counting(rescore_module.ready_record)
    hashed = _Counting(log_module.leaf_hash)
    parsed = _Counting(transcripts_module._parse_line)
    old_bodies = _Counting(log_module._body_contribution)
    monkeypatch.setattr(log_module, "_body_contribution", old_bodies)
    monkeypatch.setattr(rescore_module, "ready_record", built)
    monkeypatch.setattr(transcripts_module, "_parse_line", parsed)
    monkeypatch.setattr(log_module, "leaf_hash", hashed)
    db = tmp_path / "t.db"
    first = rescore([str(CORPUS)], db=str(db), config=CONFIG, workers=2)
    changed = {**CONFIG, "guardrails": {"blocked_phrases": ["totally free"]}}
    second = rescore([str(CORPUS)], db=str(db), config=changed, workers=2)  # every call supersedes
    assert first.appended == second.superseded == second.appended > 0
    assert first.relinked == second.relinked == 0
    assert built.calls == 0
    assert parsed.calls == 0  # the workers parse the lines too: the parent only cuts the file into runs of lines
    assert old_bodies.calls == 0  # and read the superseded records' rollup contributions
    assert hashed.calls == 1  # the signed directory's entry for the new tenant, an event
    assert verify_db(str(db)).ok


def _scorecard(row: tuple) -> dict:
    """A stored scorecard without ``scored_at`` (the one field that differs between two runs)."""
    card = json.loads(row[3])["scorecard"]
    card.pop("scored_at")
    return card


def test_workers_and_one_process_write_the_same_log(tmp_path):
    for db, workers in (("one.db", 1), ("two.db", 2)):
        rescore([str(CORPUS)], db=str(tmp_path / db), config=CONFIG, workers=workers)
    one, two = _bodies(tmp_path / "one.db"), _bodies(tmp_path / "two.db")
    assert [r[2] for r in one] == [r[2] for r in two]
    assert [_scorecard(r) for r in one] == [_scorecard(r) for r in two]
    assert verify_db(str(tmp_path / "two.db")).ok


def test_a_second_version_in_the_same_run_is_relinked_and_verifies(tmp_path):
    record = json.loads(CORPUS.read_text().splitlines()[0])
    corrected = json.loads(json.dumps(record))
    corrected["transcript"]["turns"][-1]["text"] += " Thanks again."
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(corrected) + "\n")
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.db"
        summary = rescore([str(path)], db=str(db), config=CONFIG, workers=workers)
        assert (summary.appended, summary.superseded, summary.conflicts, summary.relinked) == (2, 1, 1, 1)
        rows = _bodies(db)
        assert json.loads(rows[1][3])["supersedes"] == rows[0][6]
        assert verify_db(str(db)).ok
