"""Re-scoring survives any input: a bad record is reported (file, line, reason) and skipped, the good records around
it are scored and committed, and nothing the log cannot verify is ever written. Also: transcripts as users have
them (system/tool turns, plain strings without speakers, failed calls, call start) and idempotence by content."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine.evidence.scorecard import Scorecard
from trace_engine.rescore import DUPLICATE_POLICIES, SPEAKERS_UNKNOWN, rescore
from trace_engine.store.log import EvidenceLog
from trace_engine.store.reads import interaction_detail as get_interaction
from trace_engine.store.verify import verify_db
from trace_engine.transcripts import NotScored, Transcript, TranscriptError, iter_records, parse_record

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}, "brand_voice": {"enabled": True}}}
GOOD = [json.loads(line) for line in (REPO / "corpora" / "outbound_calls.jsonl").read_text().splitlines()]


def _good(n: int) -> list[str]:
    """``n`` well-formed records with distinct call ids."""
    out = []
    for i in range(n):
        record = dict(GOOD[i % len(GOOD)])
        record["call_id"] = f"{record['call_id']}-{i}"
        out.append(json.dumps(record))
    return out


def _turns(*turns: tuple[str, str]) -> dict:
    return {"turns": [{"role": r, "text": t, "start_ms": 1000 * i} for i, (r, t) in enumerate(turns)]}


def _record(call_id: str = "bad", **fields) -> str:
    base = {"object": "omni.call.transcript", "call_id": call_id, "transcript": _turns(("assistant", "hello"))}
    base.update(fields)
    return json.dumps(base)


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT call_id, agent_id FROM scorecards ORDER BY seq").fetchall()


def trace(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trace_engine", *args], capture_output=True, text=True, cwd=cwd)


# ----------------------------------------------------------------------------------------------- hostile records

BIG = 2**53 + 1
HOSTILE: dict[str, tuple[bytes, str]] = {
    "nan": (b'{"call_id": "b", "transcript": {"turns": [{"role": "assistant", "text": "hi", "start_ms": NaN}]}}', "NaN is not valid JSON"),
    "infinity": (b'{"call_id": "b", "transcript": {"turns": []}, "metadata": {"x": Infinity}}', "Infinity is not valid JSON"),
    "neg-infinity": (b'{"call_id": "b", "transcript": {"turns": []}, "metadata": {"x": -Infinity}}', "-Infinity is not valid JSON"),
    "overflowing float": (_record(transcript={"turns": [{"role": "assistant", "text": "hi", "end_ms": 1}]}).replace('"end_ms": 1', '"end_ms": 1e400').encode(), "turn 0.end_ms: number is not finite"),
    "int above 2^53 in start_ms": (_record(transcript={"turns": [{"role": "assistant", "text": "hi", "start_ms": BIG}]}).encode(), "beyond 2^53"),
    "int above 2^53 in metadata": (_record(metadata={"n": BIG}).encode(), "metadata.n: integer"),
    "int above 2^53 in ttfb": (_record(transcript={"turns": [{"role": "assistant", "text": "hi", "ttfb_ms": -BIG}]}).encode(), "turn 0.ttfb_ms"),
    "invalid utf-8": (_record().replace("hello", "h\udcffllo").encode("utf-8", "surrogateescape"), "invalid UTF-8"),
    "lone surrogate": (_record().replace("hello", "h\\ud800llo").encode(), "lone surrogate"),
    "deep nesting (parser)": (b'{"call_id": "b", "transcript": {"turns": []}, "metadata": {"x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}", "nested too deeply"),
    "deep nesting (metadata)": (_record(metadata=json.loads('{"a":' * 60 + "1" + "}" * 60)).encode(), "nested deeper than 32"),
    "object agent_id": (_record(agent_id={"id": 7}).encode(), "agent_id must be a string, got an object"),
    "integer agent_id": (_record(agent_id=7).encode(), "agent_id must be a string, got an integer"),
    "integer session_label": (_record(session_label=7).encode(), "agent_id must be a string"),
    "array call_id": (_record(call_id=["x"]).encode(), "call_id must be a string"),
    "empty call_id": (_record(call_id=" ").encode(), "call_id is empty"),
    "metadata array": (_record(metadata=[1]).encode(), "metadata must be an object"),
    "unknown role": (_record(transcript={"turns": [{"role": "narrator", "text": "hi"}]}).encode(), "unknown role 'narrator'"),
    "number text": (_record(transcript={"turns": [{"role": "assistant", "text": 5}]}).encode(), "expected a text string, got an integer"),
    "string start_ms": (_record(transcript={"turns": [{"role": "user", "text": "x", "start_ms": "10"}]}).encode(), "start_ms: expected a number"),
    "negative start_ms": (_record(transcript={"turns": [{"role": "user", "text": "x", "start_ms": -5}]}).encode(), "must be >= 0"),
    "boolean start_ms": (_record(transcript={"turns": [{"role": "user", "text": "x", "start_ms": True}]}).encode(), "got a boolean"),
    "turns not a list": (_record(transcript={"turns": {"0": 1}}).encode(), "turns array"),
    "turn not an object": (_record(transcript={"turns": ["hi"]}).encode(), "turn 0: expected an object"),
    "transcript number": (_record(transcript=5).encode(), "got an integer"),
    "tool_calls not a list": (_record(transcript={"turns": [{"role": "assistant", "text": "x", "tool_calls": {"a": 1}}]}).encode(), "tool_calls must be an array"),
    "barge recovered string": (_record(transcript={"turns": [{"role": "assistant", "text": "x", "barge": {"recovered": "yes"}}]}).encode(), "barge.recovered"),
    "naive started_at": (_record(started_at="2026-01-05T10:00:00").encode(), "has no time zone"),
    "boolean started_at": (_record(started_at=True).encode(), "started_at must be"),
    "duplicate keys": (b'{"call_id": "b", "call_id": "c", "transcript": {"turns": []}}', "duplicate key 'call_id'"),
    "not an object": (b"[1, 2]", "expected a JSON object"),
    "truncated": (b'{"call_id": "b", "transcript": {"tu', "invalid JSON"),
    "offloaded": (_record(transcript=None, transcript_url="https://x/y", status="completed").encode(), "download it"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_record_is_reported_and_skipped_good_records_kept(tmp_path: Path, name: str) -> None:
    bad, reason = HOSTILE[name]
    good = _good(300)  # more than one batch: the bad record sits in the first one
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join([*(g.encode() for g in good[:100]), bad, *(g.encode() for g in good[100:])]) + b"\n")
    db = tmp_path / "t.db"
    skipped: list[str] = []
    summary = rescore([str(path)], db=str(db), config=CONFIG, on_skip=skipped.append)
    assert len(skipped) == 1 and skipped[0].startswith(f"{path}:101: "), skipped
    assert reason in skipped[0]
    assert summary.scored == 300 and summary.appended == 300
    assert len(_rows(db)) == 300  # no rollback of the good records around it
    assert verify_db(str(db)).ok


def test_cli_exit_3_and_file_line_reason(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"\n".join([_good(1)[0].encode(), HOSTILE["nan"][0], HOSTILE["integer agent_id"][0]]) + b"\n")
    result = trace("rescore", str(path), "--db", str(tmp_path / "t.db"))
    assert result.returncode == 3, result.stderr
    assert f"skipped {path}:2: invalid JSON: NaN is not valid JSON" in result.stderr
    assert f"skipped {path}:3: agent_id must be a string, got an integer" in result.stderr
    assert "Traceback" not in result.stderr
    assert "scored 1 calls" in result.stdout
    assert trace("verify", "--db", str(tmp_path / "t.db")).returncode == 0


def test_integer_agent_id_is_never_written(tmp_path: Path) -> None:
    """Defence in depth: even a scorecard built by hand with agent_id 7 never reaches the log."""
    db = tmp_path / "t.db"
    log = EvidenceLog(str(db))
    card = Scorecard("c1", "default", "PASS", [], "etag", "0", 1, agent_id=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="agent_id must be a string"):
        log.append(card)
    (result,) = log.append_many([card], skip_invalid=True)
    assert result.status == "invalid"
    log.close()
    assert _rows(db) == [] and verify_db(str(db)).ok


def test_missing_input_creates_no_database(tmp_path: Path) -> None:
    result = trace("rescore", "nope.jsonl", "--db", "t.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.jsonl: no such file or directory" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no DB, no key pair


def test_missing_input_among_good_ones_is_partial(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(_good(1)[0] + "\n")
    result = trace("rescore", str(good), str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "t.db"))
    assert result.returncode == 3 and "scored 1 calls" in result.stdout


def test_only_bad_records_create_no_database(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(HOSTILE["nan"][0] + b"\n")
    summary = rescore([str(path)], db=str(tmp_path / "t.db"), config=CONFIG)
    assert len(summary.skipped) == 1 and not (tmp_path / "t.db").exists()


def test_array_document_reports_items_by_line(tmp_path: Path) -> None:
    good = _good(3)
    text = "[\n" + ",\n".join([good[0], '{"call_id": "n", "transcript": {"turns": []}, "metadata": {"x": NaN}}', good[1], good[2]]) + "\n]\n"
    path = tmp_path / "calls.json"
    path.write_text(text)
    items = list(iter_records(str(path)))
    assert [type(i).__name__ for i in items] == ["Transcript", "TranscriptError", "Transcript", "Transcript"]
    assert str(items[1]) == f"{path}:3: invalid JSON: NaN is not valid JSON"
    assert [i.source for i in items if isinstance(i, Transcript)] == [f"{path}:2", f"{path}:4", f"{path}:5"]


def test_invalid_utf8_in_a_json_document_is_reported_by_item(tmp_path: Path) -> None:
    good = _good(2)
    path = tmp_path / "calls.json"
    path.write_bytes(b"[" + good[0].encode() + b",\n" + good[1].encode().replace(b"Hi", b"H\xff") + b"]")
    items = list(iter_records(str(path)))
    assert isinstance(items[0], Transcript)
    assert isinstance(items[1], TranscriptError) and "invalid UTF-8" in str(items[1]) and items[1].line == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["call_id", "transcript", "turns", "role", "text", "start_ms", "metadata", "agent_id", "status", "started_at", "x"]), children, max_size=5),
    max_leaves=20,
))
def test_any_json_value_is_a_transcript_a_failed_call_or_a_clear_error(value) -> None:
    try:
        result = parse_record(value, "f.jsonl", 7)
    except TranscriptError as exc:
        assert str(exc).startswith("f.jsonl:7: ")
        return
    assert isinstance(result, (Transcript, NotScored))
    if isinstance(result, Transcript):
        assert len(result.content_hash) == 64
        assert result.agent_id is None or isinstance(result.agent_id, str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_are_a_clear_error_or_records(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("b") / "x.jsonl"
    path.write_bytes(data)
    for item in iter_records(str(path)):
        assert isinstance(item, (Transcript, NotScored, TranscriptError))


# ------------------------------------------------------------------------------------------- idempotence by content


def test_changed_content_supersedes_and_unchanged_is_unchanged(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    path = tmp_path / "calls.jsonl"
    record = dict(GOOD[0])  # a compliant call
    path.write_text(json.dumps(record) + "\n")
    lines: list[dict] = []
    rescore([str(path)], db=db, config=CONFIG, on_result=lines.append)
    assert lines[-1]["rescore"] == "appended" and lines[-1]["verdict"] == "PASS"
    first_hash = lines[-1]["audit_hash"]

    corrected = json.loads(json.dumps(record))
    corrected["transcript"]["turns"][2]["text"] = "Trust me, this is a guaranteed return, you cannot lose."
    path.write_text(json.dumps(corrected) + "\n")
    summary = rescore([str(path)], db=db, config=CONFIG, on_result=lines.append)
    assert lines[-1]["rescore"] == "supersedes" and lines[-1]["supersedes"] == first_hash
    assert summary.superseded == 1 and summary.duplicates == 0
    assert get_interaction(db, "default", record["call_id"])["verdict"] != "PASS"  # reads show the correction

    rescore([str(path)], db=db, config=CONFIG, on_result=lines.append)
    assert lines[-1]["rescore"] == "unchanged"
    # formatting is not content: the same transcript re-serialized is unchanged
    path.write_text(json.dumps(corrected, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    rescore([str(path)], db=db, config=CONFIG, on_result=lines.append)
    assert lines[-1]["rescore"] == "unchanged"
    assert len(_rows(tmp_path / "t.db")) == 2 and verify_db(db).ok


def _dupes_file(tmp_path: Path) -> Path:
    a, b = dict(GOOD[0]), dict(GOOD[1])
    b["call_id"] = a["call_id"]  # other content, same id
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (a, GOOD[2], b, a)) + "\n")
    return path


def test_duplicate_ids_in_one_run_are_reported_and_the_later_supersedes(tmp_path: Path) -> None:
    path = _dupes_file(tmp_path)
    notices: list[dict] = []
    summary = rescore([str(path)], db=str(tmp_path / "t.db"), config=CONFIG, on_report=notices.append)
    assert summary.conflicts == 1 and summary.repeats == 1 and summary.partial
    conflict, repeat = notices
    assert (conflict["source"], conflict["first_source"], conflict["identical"]) == (f"{path}:3", f"{path}:1", False)
    assert conflict["resolution"] == f"supersedes the transcript at {path}:1"
    assert (repeat["source"], repeat["first_source"], repeat["identical"]) == (f"{path}:4", f"{path}:1", True)
    rows = [r[0] for r in _rows(tmp_path / "t.db")]
    assert rows.count(GOOD[0]["call_id"]) == 2  # both versions in the history, the later one current
    result = trace("rescore", str(path), "--db", str(tmp_path / "t.db"))
    assert result.returncode == 3
    assert f"duplicate call id '{GOOD[0]['call_id']}' at {path}:3 (first at {path}:1)" in result.stderr


def test_duplicate_ids_with_suffix_score_every_transcript(tmp_path: Path) -> None:
    path = _dupes_file(tmp_path)
    db = str(tmp_path / "t.db")
    result = trace("rescore", str(path), "--db", db, "--duplicate-ids", "suffix", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    ids = [o["id"] for o in map(json.loads, result.stdout.splitlines()) if o["object"] == "trace.interaction"]
    assert ids == [GOOD[0]["call_id"], GOOD[2]["call_id"], GOOD[0]["call_id"] + "#2"]
    again = rescore([str(path)], db=db, duplicate_ids="suffix")
    assert again.duplicates == 3 and again.appended == 0  # stable ids: a re-run changes nothing


@pytest.mark.parametrize("policy", DUPLICATE_POLICIES)
def test_duplicate_ids_resolve_alike_with_workers(tmp_path: Path, policy: str) -> None:
    """Workers parse and score the lines; the appending process screens ids in input order, so two workers write
    the calls, ids and notices one process writes (a renamed version is scored again under its new id)."""
    path = _dupes_file(tmp_path)
    seen = {}
    for workers in (1, 2):
        notices: list[dict] = []
        db = tmp_path / f"w{workers}.db"
        summary = rescore([str(path)], db=str(db), config=CONFIG, workers=workers, duplicate_ids=policy,
                          on_report=notices.append)
        seen[workers] = (summary.appended, summary.superseded, summary.repeats, summary.renamed, notices, _rows(db))
    assert seen[1] == seen[2]


# ------------------------------------------------------------------------------------- transcripts as users have them


def test_system_and_tool_turns_are_kept_on_the_timeline_not_scored(tmp_path: Path) -> None:
    record = {
        "call_id": "tools-1",
        "metadata": {"direction": "inbound"},
        "transcript": {"turns": [
            {"role": "system", "text": "Never say guaranteed. Card on file 4111 1111 1111 1111.", "start_ms": 0},
            {"role": "assistant", "text": "Thanks for calling, how can I help?", "start_ms": 100,
             "tool_calls": [{"name": "lookup", "args": {"ssn": "078-05-1121"}, "result": {"card": 4111111111111111}}]},
            {"role": "tool", "content": {"balance": "guaranteed", "card": "4111 1111 1111 1111"}, "start_ms": 200},
            {"role": "user", "text": "just checking my balance", "start_ms": 300},
        ]},
    }
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(record) + "\n")
    db = str(tmp_path / "t.db")
    summary = rescore([str(path)], db=db, config=CONFIG)
    assert summary.scored == 1 and not summary.skipped
    card = get_interaction(db, "default", "tools-1")["scorecard"]
    assert [e["role"] for e in card["timeline"]] == ["system", "agent", "tool", "caller"]
    assert card["findings"] == []  # "guaranteed" and the card in system/tool turns are not speech
    raw = (tmp_path / "t.db").read_bytes() + (tmp_path / "t.db-wal").read_bytes() if (tmp_path / "t.db-wal").exists() else (tmp_path / "t.db").read_bytes()
    for value in (b"4111 1111 1111 1111", b"4111111111111111", b"078-05-1121"):
        assert value not in raw
    assert card["timeline"][0]["text"] == "Never say guaranteed. Card on file [credit_card]."
    assert card["timeline"][1]["tool_calls"][0]["result"] == {"card": "[credit_card]"}


UNLABELED = """Hi, this is Sam from Acme Solar, calling about home solar panels.
please stop calling me
Our panels start at nine thousand dollars, it's a guaranteed return.
"""


def test_plain_string_without_speakers_is_scored_by_the_documented_rule(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    record = {"call_id": "plain-1", "metadata": {"direction": "outbound", "call_purpose": "telemarketing", "business_name": "Acme Solar"}, "transcript": UNLABELED}
    path.write_text(json.dumps(record) + "\n")
    db = str(tmp_path / "t.db")
    rescore([str(path)], db=db, config=CONFIG)
    card = get_interaction(db, "default", "plain-1")["scorecard"]
    assert card["input"]["speakers"] == "unknown"
    assert [e["role"] for e in card["timeline"]] == ["unknown"] * 3
    fired = {f["rule_id"] for f in card["findings"]}
    assert "brand-001" in fired or any(f["pack_id"] == "brand_voice" for f in card["findings"])  # every line judged
    not_evaluated = {n["rule_id"]: n["reason"] for n in card["not_evaluated"]}
    assert not_evaluated.get("tcpa-004") == SPEAKERS_UNKNOWN  # the opt-out needs to know the caller said it
    assert "tcpa-004" not in fired


def test_plain_string_clean_unlabeled_call_is_never_pass(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"call_id": "plain-2", "transcript": "hello\nhow are you\nfine thanks"}) + "\n")
    lines: list[dict] = []
    rescore([str(path)], db=str(tmp_path / "t.db"), config={"rule_packs": {"pii": {"enabled": True}}}, on_result=lines.append)
    assert lines[0]["verdict"] == "WARN"


def test_plain_string_with_labels_is_labeled() -> None:
    t = parse_record({"call_id": "x", "transcript": "Agent: hi there\nCustomer: hello\n  who is this?\nSPEAKER_01: me"})
    assert isinstance(t, Transcript)
    assert t.turns == [("agent", "hi there", None), ("caller", "hello who is this?", None), ("unknown", "me", None)]
    assert t.speakers == "unknown"
    t2 = parse_record({"call_id": "x", "transcript": "Agent: hi there\nUser: hello"})
    assert t2.speakers == "labeled"


def test_failed_call_is_not_scored_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text(
        json.dumps({"object": "omni.call", "call_id": "f-1", "status": "failed", "error": "no answer", "transcript": None}) + "\n"
        + json.dumps({"object": "omni.call", "call_id": "f-2", "status": "completed", "transcript": None}) + "\n"
    )
    notices: list[dict] = []
    summary = rescore([str(path)], db=str(tmp_path / "t.db"), config=CONFIG, on_report=notices.append)
    assert [(n["object"], n["id"], n["reason"], n["source"]) for n in notices] == [
        ("trace.rescore.not_scored", "f-1", "call failed: no answer", f"{path}:1"),
        ("trace.rescore.not_scored", "f-2", "no transcript (nothing was transcribed)", f"{path}:2"),
    ]
    assert not summary.skipped and not summary.partial and summary.scored == 0
    assert not (tmp_path / "t.db").exists()  # not a record in the log
    result = trace("rescore", str(path), "--db", str(tmp_path / "t.db"))
    assert result.returncode == 0 and "2 not scored (failed calls)" in result.stdout
    assert f"not scored {path}:1: f-1: call failed: no answer" in result.stderr


@pytest.mark.parametrize("given, expected", [(1767607200000, 1767607200000), ("2026-01-05T10:00:00Z", 1767607200000), ("2026-01-05T05:00:00-05:00", 1767607200000), (None, None)])
def test_started_at_sets_the_call_time(tmp_path: Path, given, expected) -> None:
    path = tmp_path / "c.jsonl"
    record = {"object": "omni.call", "call_id": "s-1", "status": "completed", "started_at": given, "transcript": _turns(("assistant", "hello"))}
    path.write_text(json.dumps(record) + "\n")
    db = str(tmp_path / "t.db")
    rescore([str(path)], db=db, config=CONFIG)
    assert get_interaction(db, "default", "s-1")["scorecard"]["started_at"] == expected


def test_a_database_from_before_content_hashing_accepts_corrections(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(GOOD[0]) + "\n")
    rescore([str(path)], db=str(db), config=CONFIG)
    with sqlite3.connect(db) as conn:  # the old identity index, as an older Trace created it (before migration files)
        conn.execute("DROP TABLE schema_migrations")
        conn.execute("DROP INDEX scorecards_identity_input")  # and the identity column, which came later (0006)
        conn.execute("ALTER TABLE scorecards DROP COLUMN input_sha256")
        conn.execute("CREATE UNIQUE INDEX scorecards_identity ON scorecards(tenant, call_id, config_etag, engine_version)")
    corrected = json.loads(json.dumps(GOOD[0]))
    corrected["transcript"]["turns"][0]["text"] += " Guaranteed!"
    path.write_text(json.dumps(corrected) + "\n")
    summary = rescore([str(path)], db=str(db), config=CONFIG)
    assert summary.superseded == 1 and verify_db(str(db)).ok


def test_workers_skip_the_same_records_and_report_them_as_objects(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    good = _good(40)
    path.write_bytes(b"\n".join([*(g.encode() for g in good[:20]), HOSTILE["lone surrogate"][0], *(g.encode() for g in good[20:])]) + b"\n")
    notices: list[dict] = []
    one = rescore([str(path)], db=str(tmp_path / "one.db"), config=CONFIG)
    two = rescore([str(path)], db=str(tmp_path / "two.db"), config=CONFIG, workers=2, on_report=notices.append)
    assert (one.scored, one.skipped) == (two.scored, two.skipped) == (40, two.skipped)
    assert notices == [{"object": "trace.rescore.skipped", "source": f"{path}:21", "reason": notices[0]["reason"]}]
    assert "lone surrogate" in notices[0]["reason"]


def test_caller_dependent_rules_are_the_ones_a_caller_opens_or_unlocks() -> None:
    from trace_engine import Engine
    from trace_engine.rescore import caller_dependent_rules

    program = Engine.from_config({"rule_packs": {p: {"enabled": True} for p in ("tcpa", "hipaa", "pii", "brand_voice")}}).program
    ids = {program.rules[i].rule_id for i in caller_dependent_rules(program)}
    assert {"tcpa-004", "hipaa-001", "pii-003"} <= ids  # opt-out cue, PHI until verified, caller-spoken card
    assert not ids & {"tcpa-001", "pii-001", "brand-001"}  # what the agent says on its own
