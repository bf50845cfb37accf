"""What the CLI prints: one --format vocabulary, human output, whole ids, 1-based turns, progress, OK lines."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from trace_engine.cli import app
from trace_engine.commands._output import human, iso_time, print_table, progress

REPO = Path(__file__).resolve().parents[1]
OUTBOUND = REPO / "corpora" / "outbound_calls.jsonl"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("out") / "t.db"
    assert invoke("rescore", str(OUTBOUND), "--db", str(path)).exit_code == 0
    return str(path)


def _commands():
    root = typer.main.get_command(app)
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None)
        if subs:
            yield from ((f"{name} {sub}", c) for sub, c in subs.items())
        else:
            yield name, cmd


def test_one_format_vocabulary():
    allowed = {"text", "json", "jsonl", "csv", "sarif", "github", "markdown"}
    seen = {}
    for name, cmd in _commands():
        for param in cmd.params:
            if "--json" in getattr(param, "opts", []):
                assert param.hidden, f"{name}: --json is only a hidden alias of --format json"
            if "--format" not in getattr(param, "opts", []):
                continue
            annotation = param.type_descriptor.annotation  # typer keeps the StrEnum it turns into a choice
            choices = [m.value for m in annotation]
            seen[name] = choices
            assert choices[:2] == ["text", "json"] and set(choices) <= allowed, (name, choices)
            assert param.default in ("text",), (name, param.default)
    for name in ("check", "lint", "test", "explain", "bench", "rescore", "verify", "verify-proof", "interactions",
                 "violations", "exposure", "show", "findings", "keys create", "keys list", "diff"):
        assert name in seen, f"{name} has no --format"
    assert seen["lint"] == ["text", "json", "sarif", "github"]
    assert seen["exposure"] == ["text", "json", "csv", "markdown"]
    assert seen["diff"] == ["text", "json", "markdown"]
    assert seen["interactions"] == seen["violations"] == seen["findings"] == seen["keys list"] == ["text", "json", "jsonl", "csv"]


def test_format_is_case_insensitive_and_table_is_gone(db):
    calls = sum(1 for line in OUTBOUND.open(encoding="utf-8") if line.strip())
    assert json.loads(invoke("exposure", "--db", db, "--format", "JSON").stdout)["interactions_scanned"] == calls
    result = invoke("exposure", "--db", db, "--format", "table")
    assert result.exit_code == 2 and "'table' is not one of 'text', 'json'" in result.output


def test_version_and_completion():
    from trace_engine import __version__, _core

    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith(f"trace {__version__} ")
    assert result.stdout.rstrip().endswith(f"native core: {_core.NATIVE_BUILD})")
    assert _core.NATIVE_BUILD in ("pgo", "plain")
    script = invoke("--show-completion", "bash")
    assert script.exit_code == 0 and "_TRACE_COMPLETE" in script.stdout


def test_pack_names_complete():
    from trace_engine.commands._inputs import complete_pack

    assert complete_pack("t")[0] == "tcpa"
    assert "hipaa" in complete_pack("")


def test_keys_list_honours_format(tmp_path):
    kdb = str(tmp_path / "k.db")
    created = invoke("keys", "create", "--db", kdb, "--tenant", "default", "--format", "json")
    key_id = json.loads(created.stdout)["key_id"]
    text = invoke("keys", "list", "--db", kdb).stdout
    assert key_id in text and "default" in text and "trace:read" in text and not text.lstrip().startswith("[")
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert json.loads(invoke("keys", "list", "--db", kdb, "--format", "json").stdout)[0]["key_id"] == key_id
    csv_lines = invoke("keys", "list", "--db", kdb, "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == "key_id,tenant,scopes,created_at,revoked_at,note" and csv_lines[1].startswith(key_id)


def test_tables_never_cut_ids():
    long_id = "call-" + "x" * 70 + "-end"
    buf = io.StringIO()
    console = Console(file=buf, width=60, force_terminal=True, color_system=None)
    print_table("t", ["id", "verdict", "reason"], [[long_id, "FAIL", "a long reason " * 8]], console=console)
    out = buf.getvalue()
    assert "…" not in out
    cells = "".join(line.split("│")[1].strip() for line in out.splitlines() if line.count("│") >= 3)
    assert long_id in cells  # folded onto more lines at most, never shortened


def test_piped_tables_keep_rows_on_one_line(db):
    out = invoke("interactions", "--db", db, "--limit", "100").stdout
    ids = [line for line in out.splitlines() if "solar-002-optout-ignored" in line]
    assert len(ids) == 1 and "FAIL" in ids[0] and "…" not in out


def test_verdict_and_severity_any_case(db):
    page = json.loads(invoke("interactions", "--db", db, "--verdict", "fail", "--format", "json").stdout)
    assert page["data"] and {row["verdict"] for row in page["data"]} == {"FAIL"}
    rows = [json.loads(line) for line in invoke("violations", "--db", db, "--severity", "High", "--format", "jsonl").stdout.splitlines()]
    assert rows and {r["severity"] for r in rows} == {"high"}


def test_show_is_for_people(db):
    out = invoke("show", "solar-002-optout-ignored", "--db", db).stdout
    for python_value in ("None", "False", "True", "{'", '{"', "[{"):
        assert python_value not in out, python_value
    assert re.search(r"scored\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out)
    assert "turn 1 @ 0s" in out and "call end @ 24.2s" in out
    assert "tcpa-004" in out and "timeline (6 turns" in out


def test_show_says_what_was_out_of_scope_and_which_facts_decided_it(db):
    """A pack outside the call's scope is listed as not applicable, with the reason, and the facts in force are
    shown with their source: a reader must not take an inbound call's missing TCPA findings for a pass."""
    out = invoke("show", "billing-006-clean", "--db", db).stdout
    assert re.search(r"facts\s+.*direction inbound \(metadata\)", out)
    assert "not applicable tcpa-001: direction is inbound; tcpa-001 applies to direction: outbound" in out


def test_explain_numbers_turns_like_show(db):
    detail = json.loads(invoke("show", "solar-002-optout-ignored", "--db", db, "--format", "json").stdout)
    turn_of = {f["rule_id"]: f["turn"] for f in detail["scorecard"]["findings"] if f["turn"] is not None}
    explained = json.loads(invoke("explain", str(OUTBOUND), "--format", "json").stdout)
    call = next(c for c in explained if c["call_id"] == "solar-002-optout-ignored")
    fired_at = {f["rule_id"]: turn["turn"] for turn in call["turns"] for f in turn["findings"] if turn["turn"]}
    assert fired_at["tcpa-004"] == turn_of["tcpa-004"] == 5
    assert all(fired_at[rule] == turn for rule, turn in turn_of.items() if rule in fired_at)
    text = invoke("explain", str(OUTBOUND)).stdout
    assert "[turn 1] agent @0s: Hi there" in text and "[turn 0]" not in text


def test_check_reports_every_error_in_one_run(tmp_path):
    pack = tmp_path / "four.trace"
    pack.write_text(
        'pack four\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\nphrases greet ["hello"]\n\n'
        'rule f-001 {\n  title "a"\n  severity hgh\n  citation "c"\n  reason "r"\n  must_say greet within 2 turns\n}\n\n'
        'rule f-002 {\n  title "b"\n  severity high\n  citation "c"\n  reason "r"\n  must_say nothere within 2 turns\n}\n\n'
        'rule f-003 {\n  title "c"\n  severity high\n  citation "c"\n  reason "r"\n  must_not_say /a(b/\n}\n\n'
        'rule f-004 {\n  title "d"\n  severity high\n  citation "c"\n  reason "r"\n  must_say greet within 2 turnz\n}\n'
    )
    result = invoke("check", str(pack), "--format", "json")
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [(e["code"], e["location"]["line"]) for e in errors] == [
        ("TS107", 10), ("TS103", 21), ("TS115", 29), ("TS001", 37)
    ]
    assert "4 errors in 1 file" in invoke("check", str(pack)).stdout


CLEAN_PACK = (
    'pack clean\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\n'
    'rule c-001 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  must_not_say "bad thing"\n'
    '  example "a bad thing"\n}\n'
)


def test_quiet_success_lines(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.trace").write_text(CLEAN_PACK.replace("clean", f"clean_{name}"))
    packs = [str(tmp_path / "a.trace"), str(tmp_path / "b.trace")]
    assert invoke("lint", *packs).stdout.strip() == "ok: 2 packs linted, no findings"
    assert invoke("fmt", "--check", *packs).stdout.strip() == "ok: 2 files already formatted"
    assert invoke("lint", packs[0], "--format", "json").stdout.strip() == "[]"  # machine formats stay pure


def test_fmt_write_keeps_trailing_suppression(tmp_path):
    pack = tmp_path / "p.trace"
    pack.write_text(
        'pack p\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\n'
        'rule p-001 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n'
        '        must_not_say "bad thing"   # trace: ignore[TL003]\n  example "a bad thing"\n}\n'
    )
    result = invoke("fmt", "--write", str(pack))
    assert result.exit_code == 0 and "1 file reformatted, 0 unchanged" in result.stdout
    assert '\n  must_not_say "bad thing"  # trace: ignore[TL003]\n' in pack.read_text()


def test_fmt_formats_json_packs(tmp_path):
    source = tmp_path / "pii.json"
    assert invoke("convert", "pii", "--to", "json", "-o", str(source)).exit_code == 0
    canonical = source.read_text()
    source.write_text(json.dumps(json.loads(canonical)))  # one line, same content
    assert invoke("fmt", "--check", str(source)).exit_code == 1
    assert invoke("fmt", "--write", str(source)).exit_code == 0
    assert source.read_text() == canonical


def test_convert_round_trip_keeps_comments(tmp_path):
    as_json = tmp_path / "tcpa.json"
    assert invoke("convert", "tcpa", "--to", "json", "-o", str(as_json)).exit_code == 0
    assert json.loads(as_json.read_text())["comments"]
    back = invoke("convert", str(as_json), "--to", "trace")
    assert back.stdout == (REPO / "rule_packs" / "tcpa.trace").read_text()


def test_test_without_tests_says_so(tmp_path):
    lone = tmp_path / "lone.trace"
    lone.write_text((REPO / "rule_packs" / "pii.trace").read_text())
    result = invoke("test", str(lone))
    assert result.exit_code == 1 and "this pack has no tests; write lone.calls beside it" in result.output


def test_verify_proof_never_trusts_the_embedded_key(tmp_path):
    keys = tmp_path / "keys"
    assert invoke("keygen", "--out", str(keys)).exit_code == 0
    pdb = str(tmp_path / "p.db")
    assert invoke("rescore", str(OUTBOUND), "--db", pdb, "--key", str(keys / "trace.key")).exit_code == 0
    proof = tmp_path / "proof.json"
    assert invoke("prove", "billing-006-clean", "--db", pdb, "-o", str(proof)).exit_code == 0
    untrusted = invoke("verify-proof", str(proof))
    # a proof carries no key of its own: without a trusted key nothing can vouch for it
    assert untrusted.exit_code == 1 and "pass --pubkey" in untrusted.stdout
    assert json.loads(invoke("verify-proof", str(proof), "--format", "json").stdout)["ok"] is False
    trusted = invoke("verify-proof", str(proof), "--pubkey", str(keys / "trace.pub"))
    assert trusted.exit_code == 0 and trusted.stdout.startswith("OK: call billing-006-clean")


def test_missing_config_is_a_clear_usage_error(tmp_path):
    result = invoke("rescore", str(OUTBOUND), "--db", str(tmp_path / "r.db"), "--config", str(tmp_path / "cfg.json"))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: cannot read config {tmp_path / 'cfg.json'}: no such file"
    assert not (tmp_path / "r.db").exists()


def test_progress_shows_count_rate_and_eta():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, color_system=None)
    with progress("scoring", 10, unit="calls", console=console) as bar:
        for _ in range(3):
            bar.advance()
        bar._progress.refresh()
        shown = buf.getvalue()
    assert "scoring" in shown and "3/10" in shown and "calls/s" in shown and "eta" in shown


def test_progress_is_quiet_when_not_a_terminal(capsys):
    with progress("scoring", 10, unit="calls") as bar:  # pytest's stderr is not a terminal
        bar.advance(5)
        bar.phase("next", None)()
    assert capsys.readouterr().err == ""


def test_human_values():
    assert [human(None), human(False), human(True), human([]), human(["a", "b"]), human({"k": None})] == [
        "-", "no", "yes", "-", "a, b", "k=-"
    ]
    assert iso_time(0) == "1970-01-01T00:00:00Z" and iso_time(None) == "-"


def test_docs_name_only_formats_the_command_has():
    # a `trace <command> ... --format a|b` in the docs (inline code may wrap lines) offers what the command takes
    formats = {}
    for name, cmd in _commands():
        for param in cmd.params:
            if "--format" in getattr(param, "opts", []):
                formats[name] = {m.value for m in param.type_descriptor.annotation}
    root = Path(__file__).resolve().parents[1]
    checked = 0
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for span in re.findall(r"```.*?```|`[^`]+`", text, flags=re.S):
            for line in re.split(r"\n(?!\s)", span):  # a fenced block: one command per unindented line
                match = re.search(r"\btrace ([a-z][a-z-]*(?: (?:create|list|revoke))?)\b", line)
                fmt = re.search(r"--format ([a-z|]+)", line)
                if not match or not fmt or match.group(1) not in formats:
                    continue
                offered = set(fmt.group(1).split("|"))
                assert offered <= formats[match.group(1)], (doc.name, match.group(1), offered)
                checked += 1
    assert checked >= 5
