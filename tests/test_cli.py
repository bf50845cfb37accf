"""The ``trace`` command line: exit codes, output formats, and no tracebacks on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TRACE = [sys.executable, "-m", "trace_engine"]
GOOD = REPO / "rule_packs" / "pii.trace"

BROKEN = """pack broken
version "1"
jurisdiction "US"
legal_status "draft"

rule b-001 {
  title "x"
  severity critcal
  citation "c"
  reason "r"
  must_not_say nowhere
}
"""


def trace(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*TRACE, *args], capture_output=True, text=True, input=stdin, cwd=cwd or REPO, env=env, timeout=300
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_help_documents_exit_codes() -> None:
    result = trace("--help")
    assert result.returncode == 0
    for line in ("0  success", "1  the input has problems", "2  usage error", "3  partial success"):
        assert line in result.stdout


def test_check_good_pack() -> None:
    result = trace("check", str(GOOD))
    assert result.returncode == 0
    assert "pii@2026.11.0, 7 rules" in result.stdout


def test_check_reports_every_error_with_caret_and_hint(tmp_path: Path) -> None:
    bad = tmp_path / "broken.trace"
    bad.write_text(BROKEN)
    result = trace("check", str(bad))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert f"{bad}:8:" in result.stderr and "did you mean `critical`?" in result.stderr
    assert "^" in result.stderr


def test_check_json(tmp_path: Path) -> None:
    bad = tmp_path / "broken.trace"
    bad.write_text(BROKEN)
    result = trace("check", str(GOOD), str(bad), "--format", "json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert [p["pack_id"] for p in payload["packs"]] == ["pii"]
    assert payload["errors"] and all({"code", "message", "location"} <= set(e) for e in payload["errors"])


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02\xff\xfe binary junk \x80\x81",
        b"pack x\n" + b"(" * 10_000,
        b"rule " * 200_000,
    ],
    ids=["binary", "deep-nesting", "large"],
)
def test_check_never_tracebacks_on_junk(tmp_path: Path, content: bytes) -> None:
    junk = tmp_path / "junk.trace"
    junk.write_bytes(content)
    result = trace("check", str(junk))
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "junk.trace:" in result.stderr


def test_check_missing_file(tmp_path: Path) -> None:
    result = trace("check", str(tmp_path / "nope.trace"))
    assert result.returncode == 2
    assert_no_traceback(result)
    assert "nope.trace: no such file, directory or built-in pack (built-in packs: tcpa," in result.stderr


def test_lint_formats() -> None:
    for fmt in ("text", "json", "sarif", "github"):
        result = trace("lint", str(GOOD), "--format", fmt)
        assert result.returncode == 0, result.stdout + result.stderr
    sarif = json.loads(trace("lint", str(GOOD), "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"


def test_lint_fail_level_warning(tmp_path: Path) -> None:
    pack = tmp_path / "p.trace"
    pack.write_text(
        'pack p\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\nphrases unused [\n  "never used",\n]\n\n'
        'rule p-001 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  must_not_say "bad thing"\n'
        '  example "a bad thing"\n}\n'
    )
    assert trace("lint", str(pack)).returncode == 0
    result = trace("lint", str(pack), "--fail-level", "warning", "--format", "json")
    assert result.returncode == 1
    assert {item["code"] for item in json.loads(result.stdout)} == {"TL010"}


def test_fmt_check_and_write(tmp_path: Path) -> None:
    pack = tmp_path / "p.trace"
    pack.write_text(GOOD.read_text().replace("\n  title", "\n      title", 1))
    assert trace("fmt", "--check", str(pack)).returncode == 1
    assert trace("fmt", "--write", str(pack)).returncode == 0
    assert pack.read_text() == GOOD.read_text()
    assert trace("fmt", "--check", str(pack)).returncode == 0


def test_convert_round_trip(tmp_path: Path) -> None:
    as_json = tmp_path / "pii.json"
    assert trace("convert", str(GOOD), "--to", "json", "-o", str(as_json)).returncode == 0
    back = trace("convert", str(as_json), "--to", "trace")
    assert back.returncode == 0
    assert back.stdout == GOOD.read_text()  # comments travel in the JSON form's comments list


def test_build_writes_an_artifact(tmp_path: Path) -> None:
    out = tmp_path / "packs.tart"
    result = trace("build", str(GOOD), "-o", str(out))
    assert result.returncode == 0 and out.exists()
    assert "pii@2026.11.0" in result.stdout


def test_pack_tests_last_line(tmp_path: Path) -> None:
    result = trace("test", "rule_packs/pii.trace")
    assert result.returncode == 0
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(" failed") and last.split()[2] == "0"


def test_pack_test_failure_is_reported(tmp_path: Path) -> None:
    pack = tmp_path / "mini.trace"
    pack.write_text(
        'pack mini\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\n'
        'rule m-001 {\n  title "t"\n  severity low\n  citation "c"\n  reason "Never say banana."\n'
        '  must_not_say "banana"\n}\n'
    )
    (tmp_path / "mini.calls").write_text(
        "=== call: one\nagent: i like apples   # ruleid: m-001\nagent: banana bread   # ruleid: m-001\n"
    )
    result = trace("test", str(tmp_path))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "m-001 should fire" in result.stdout
    assert "rule: Never say banana." in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_explain_json() -> None:
    result = trace(
        "explain", "--pack", "rule_packs/tcpa.trace", "corpora/outbound_calls.jsonl", "--format", "json"
    )
    assert result.returncode == 0
    calls = json.loads(result.stdout)
    optout = next(c for c in calls if c["call_id"] == "solar-002-optout-ignored")
    assert optout["verdict"] == "FAIL"
    fired = {f["rule_id"] for turn in optout["turns"] for f in turn["findings"]}
    assert {"tcpa-001", "tcpa-004"} <= fired


def test_explain_shows_the_evaluators_trace() -> None:
    """``trace explain`` reads the core's tracer: an exception that let a phrase through, an obligation whose
    window closed unmet, windows opened and rules that did not fire are said in words (text), and every event is in
    the JSON with its sentence."""
    text = trace("explain", "corpora/outbound_calls.jsonl")
    assert text.returncode == 0
    assert 'why   brand-001 not fired on "guarantee": its exception (unless) matched there' in text.stdout
    assert "why   tcpa-001: its window closed without the required words" in text.stdout
    assert "open  tcpa-001: its window opened (the required words are due)" in text.stdout
    assert "why   tsr-001 did not fire: its `until` state was set, so the words are allowed now" in text.stdout
    assert "why   tcpa-004 did not fire: the cue answers a question the agent had not asked on its previous turn" in text.stdout
    calls = json.loads(trace("explain", "corpora/outbound_calls.jsonl", "--format", "json").stdout)
    compliant = next(c for c in calls if c["call_id"] == "solar-001-compliant")
    events = [e for turn in compliant["turns"] for e in turn["events"]]
    assert {"event": "excepted", "rule_id": "brand-001", "span": [27, 36], "text": "guarantee",
            "says": 'brand-001 not fired on "guarantee": its exception (unless) matched there'} in events
    assert {"event": "obligation_met", "rule_id": "tcpa-001", "says": "tcpa-001: the required words were said"} in events
    assert {"event": "state_set", "state": "tcpa.purpose_stated", "by": "agent",
            "says": "state tcpa.purpose_stated set by the agent's words"} in events
    assert any(e["event"] == "candidate" and e["phrase"] for e in events)


def test_rescore_then_reads_and_verify(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    first = trace("rescore", "corpora/outbound_calls.jsonl", "--db", db, "--format", "jsonl")
    assert first.returncode == 0
    objects = [json.loads(line) for line in first.stdout.splitlines()]
    lines = [o for o in objects if o["object"] == "trace.interaction"]
    calls = sum(1 for line in (REPO / "corpora" / "outbound_calls.jsonl").open() if line.strip())
    assert len(lines) == calls and all(line["audit_hash"] and line["rescore"] == "appended" for line in lines)
    assert objects[-1]["object"] == "trace.rescore.summary" and objects[-1]["scored"] == calls
    assert trace("verify", "--db", db).returncode == 0
    exposure = json.loads(trace("exposure", "--db", db, "--format", "json").stdout)
    assert exposure["interactions_scanned"] == calls


def test_rescore_skips_malformed_input_with_exit_3(tmp_path: Path) -> None:
    data = tmp_path / "mixed.jsonl"
    good = (REPO / "corpora" / "outbound_calls.jsonl").read_text().splitlines()[0]
    data.write_text(good + "\n{not json\n" + json.dumps({"call_id": "x"}) + "\n")
    result = trace("rescore", str(data), "--db", str(tmp_path / "t.db"))
    assert result.returncode == 3
    assert f"{data}:2: invalid JSON" in result.stderr
    assert f"{data}:3: missing transcript" in result.stderr
    assert "scored 1 calls" in result.stdout
