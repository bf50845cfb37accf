"""Re-scoring writes the same evidence whatever the worker count and shard size: byte for byte the same records,
hashes, violations, rollup and signed checkpoints for the same inputs (the clock and the key held fixed), including
a call id given twice (the second version supersedes the first, relinked when a worker built it too early), a
malformed line, a failed call, a blank line, a JSON document and a directory."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

import trace_engine.gate.scoring as scoring_module
import trace_engine.rescore as rescore_module
import trace_engine.store.log as log_module
from trace_engine.rescore import Lines, rescore, shard_records
from trace_engine.store.verify import verify_db
from trace_engine.transcripts import Record, TranscriptError, iter_lines, iter_records

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpora" / "outbound_calls.jsonl"
CONFIG = {"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}}}
NOW = 1_790_000_000.0

#: every evidence table, in a fixed order (a checkpoint's creation time is the clock's, not the log's)
TABLES = {
    "scorecards": "SELECT * FROM scorecards ORDER BY tenant, seq",
    "violations": "SELECT * FROM violations ORDER BY tenant, seq, idx",
    "events": "SELECT * FROM events ORDER BY tenant, seq",
    "tier2_findings": "SELECT * FROM tier2_findings ORDER BY tenant, seq",
    "checkpoints": "SELECT tenant, size, root, note, signature, key_id FROM checkpoints ORDER BY tenant, size",
    "rollup_verdicts": "SELECT * FROM rollup_verdicts ORDER BY 1, 2, 3, 4",
    "rollup_rules": "SELECT * FROM rollup_rules ORDER BY 1, 2, 3, 4, 5",
}


def _inputs(tmp_path: Path) -> list[str]:
    lines = CORPUS.read_text().splitlines()
    corrected = json.loads(lines[2])
    corrected["transcript"]["turns"][-1]["text"] += " Thanks again."
    failed = {"call_id": "failed-1", "status": "failed", "transcript": None}
    first = tmp_path / "a.jsonl"
    first.write_text("\n".join([*lines[:9], "", "{not json", json.dumps(failed)]) + "\n")
    calls = tmp_path / "calls"
    calls.mkdir()
    (calls / "b.jsonl").write_text("\n".join([*lines[9:], json.dumps(corrected)]))  # no newline at the end
    (calls / "c.json").write_text(json.dumps([json.loads(lines[0]) | {"call_id": "doc-1"}]))
    return [str(first), str(calls)]


def _key(record: Record) -> object:
    """A record as a comparable value (an error compares by identity)."""
    return (record.file, record.line, record.message) if isinstance(record, TranscriptError) else record


def _evidence(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in TABLES.items()}


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # the forked workers inherit the patched module
    monkeypatch.setattr(scoring_module, "time", SimpleNamespace(time=lambda: NOW))


def test_the_evidence_is_the_same_whatever_the_workers_and_shards(tmp_path, monkeypatch, fixed_clock):
    inputs = _inputs(tmp_path)  # the databases share one directory, so one key: the trace.key beside them
    runs: dict[tuple[int, int], dict[str, list[tuple]]] = {}
    summaries = {}
    for workers, batch in ((1, 256), (2, 256), (1, 3), (2, 4), (2, 1)):
        monkeypatch.setattr(rescore_module, "BATCH", batch)
        db = tmp_path / f"w{workers}-b{batch}.db"
        lines: list[dict] = []
        summary = rescore(inputs, db=str(db), config=CONFIG, workers=workers, on_result=lines.append)
        assert verify_db(str(db)).ok
        runs[(workers, batch)] = _evidence(db)
        summaries[(workers, batch)] = (summary.scored, summary.appended, summary.superseded, summary.conflicts,
                                       len(summary.skipped), len(summary.not_scored), [x["audit_hash"] for x in lines])
    reference = runs[(1, 256)]
    assert len(reference["scorecards"]) == 19 + 2 and reference["checkpoints"]
    assert summaries[(1, 256)][:6] == (21, 21, 1, 1, 1, 1)
    for params, evidence in runs.items():
        assert evidence == reference, params
        assert summaries[params] == summaries[(1, 256)], params


def test_tier2_writes_the_same_evidence_whatever_the_workers(tmp_path, monkeypatch, fixed_clock):
    """With ``tier2`` the transcripts travel back from the workers with their records (pickled inside the marshalled
    outcomes) and the model-judged findings are the same, byte for byte, as in one process."""
    monkeypatch.setattr(log_module, "time", SimpleNamespace(time=lambda: NOW))  # a finding's event records when
    runs = {}
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.db"
        summary = rescore([str(CORPUS)], db=str(db), config=CONFIG, workers=workers, tier2=True)
        assert summary.scored == 19 and verify_db(str(db)).ok
        runs[workers] = _evidence(db)
    assert runs[1]["tier2_findings"]
    assert runs[2] == runs[1]


def test_a_shard_holds_whole_lines_numbered_as_in_the_file(tmp_path, monkeypatch):
    """The reader cuts a file into runs of whole lines without parsing them; the records a worker parses from the
    runs are exactly the file's, with the file's line numbers (blank lines, a line without a newline at the end)."""
    inputs = _inputs(tmp_path)
    monkeypatch.setattr(rescore_module, "BATCH", 4)
    skipped: list[str] = []
    shards = list(rescore_module._shards(inputs, rescore_module.RescoreSummary(), lambda s, r: skipped.append(s)))
    assert not skipped and all(sum(p.data.count(b"\n") + (not p.data.endswith(b"\n")) if isinstance(p, Lines) else 1
                                   for p in shard) <= 4 for shard in shards)
    assert [_key(r) for s in shards for r in shard_records(s)] == [_key(r) for p in inputs for r in iter_records(p)]


def test_iter_lines_reads_lines_as_iter_records_does(tmp_path):
    data = b'\xef\xbb\xbf{"call_id": "x", "transcript": "hello"}\r\n\n  \n{"call_id": 1}\n[1, 2\n\xff\n'
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    records = list(iter_lines(data, str(path)))
    assert [_key(r) for r in records] == [_key(r) for r in iter_records(str(path))]
    assert records[0].source == f"{path}:1" and [r.line for r in records[1:]] == [4, 5, 6]
    tail = list(iter_lines(data[data.index(b"\n") + 1 :], str(path), 2))
    assert [_key(r) for r in tail] == [_key(r) for r in records[1:]]
