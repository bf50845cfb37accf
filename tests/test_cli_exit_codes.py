"""Every command's exit codes come from the one table (trace_engine.commands._exit), asserted case by case.

In-process (typer's CliRunner) so the whole table runs in seconds; the subprocess tests in test_cli.py cover the
real entry point. Each command registered on the app must appear here.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trace_engine.cli import app
from trace_engine.commands._exit import EXIT_CODES, ExitCode, exit_code_help

REPO = Path(__file__).resolve().parents[1]
OUTBOUND = REPO / "corpora" / "outbound_calls.jsonl"

BROKEN_PACK = 'pack broken\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\nrule b-001 {\n  severity critcal\n}\n'
LINT_WARNING_PACK = (
    'pack p\nversion "1"\njurisdiction "US"\nlegal_status "draft"\n\nphrases unused [\n  "never used",\n]\n\n'
    'rule p-001 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  must_not_say "bad thing"\n'
    '  example "a bad thing"\n}\n'
)
FAILING_TEST = "=== call: one\nagent: i like apples   # ruleid: p-001\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inputs for every case: packs good and bad, transcripts, a config, a signed log, a key pair, a proof."""
    root = tmp_path_factory.mktemp("exit")
    runner = CliRunner()
    files = {
        "broken": root / "broken.trace",
        "lintwarn": root / "p.trace",
        "unformatted": root / "messy.trace",
        "notests": root / "lone.trace",
        "malformed": root / "malformed.jsonl",
        "mixed": root / "mixed.jsonl",
        "badcfg": root / "bad.json",
        "cfg": root / "cfg.json",
        "emptydir": root / "empty",
    }
    files["broken"].write_text(BROKEN_PACK)
    files["lintwarn"].write_text(LINT_WARNING_PACK)
    (root / "p.calls").write_text(FAILING_TEST)
    files["unformatted"].write_text((REPO / "rule_packs" / "pii.trace").read_text().replace("\n  title", "\n    title", 1))
    shutil.copy(REPO / "rule_packs" / "pii.trace", files["notests"])
    files["malformed"].write_text("{not json\n")
    good = OUTBOUND.read_text().splitlines()[0]
    files["mixed"].write_text(good + "\n{not json\n")
    files["badcfg"].write_text(json.dumps({"guardrails": {"mode": "blok"}}))
    files["cfg"].write_text(json.dumps({"rule_packs": {"tcpa": {"enabled": True}}}))
    files["emptydir"].mkdir()
    keys = root / "keys"
    assert runner.invoke(app, ["keygen", "--out", str(keys)]).exit_code == 0
    files["key"], files["pub"] = keys / "trace.key", keys / "trace.pub"
    other = root / "other"
    assert runner.invoke(app, ["keygen", "--out", str(other)]).exit_code == 0
    files["otherkey"], files["otherpub"] = other / "trace.key", other / "trace.pub"
    db = root / "t.db"
    done = runner.invoke(app, ["rescore", str(OUTBOUND), "--db", str(db), "--key", str(files["key"])])
    assert done.exit_code == 0, done.output
    files["db"] = db
    proof = runner.invoke(app, ["prove", "solar-002-optout-ignored", "--db", str(db), "--key", str(files["key"])])
    assert proof.exit_code == 0, proof.output
    files["proof"] = root / "proof.json"
    files["proof"].write_text(proof.stdout)
    tampered = root / "tampered.db"
    shutil.copy(db, tampered)
    conn = sqlite3.connect(tampered)
    for table in ("scorecards", "violations", "checkpoints", "gaps", "tier2_findings", "agents"):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    conn.execute("UPDATE scorecards SET verdict = 'PASS' WHERE call_id = 'solar-002-optout-ignored'")
    conn.commit()
    conn.close()
    files["tampered"] = tampered
    files["rotdb"] = root / "rot.db"
    shutil.copy(db, files["rotdb"])
    files["junkdb"] = root / "junk.db"
    files["junkdb"].write_bytes(b"this is not a database" * 100)
    files["docs"] = root / "docs"
    files["existingkeys"] = keys
    return files


def _args(template: tuple[str, ...], world: dict[str, Path], tmp_path: Path) -> list[str]:
    out = []
    for part in template:
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            out.append(str(tmp_path / name[4:]) if name.startswith("tmp:") else str(world[name]))
        else:
            out.append(part)
    return out


OK, PROBLEMS, USAGE, PARTIAL = ExitCode.OK, ExitCode.PROBLEMS, ExitCode.USAGE, ExitCode.PARTIAL

#: command -> [(case, argv template, expected code)]; {name} is a world file, {tmp:name} a fresh path
CASES: dict[str, list[tuple[str, tuple[str, ...], ExitCode]]] = {
    "check": [
        ("builtin by name", ("check", "tcpa", "pii"), OK),
        ("directory", ("check", str(REPO / "rule_packs")), OK),
        ("errors", ("check", "{broken}"), PROBLEMS),
        ("missing file", ("check", "{tmp:nope.trace}"), USAGE),
        ("empty directory", ("check", "{emptydir}"), USAGE),
        ("bad option", ("check", "tcpa", "--format", "yaml"), USAGE),
    ],
    "lint": [
        ("clean", ("lint", "pii"), OK),
        ("warning below fail level", ("lint", "{lintwarn}"), OK),
        ("warning at fail level", ("lint", "{lintwarn}", "--fail-level", "warning"), PROBLEMS),
        ("syntax errors", ("lint", "{broken}"), PROBLEMS),
        ("missing file", ("lint", "{tmp:nope.trace}"), USAGE),
        ("unknown code", ("lint", "pii", "--select", "TL999"), USAGE),
    ],
    "fmt": [
        ("check formatted", ("fmt", "--check", "tcpa"), OK),
        ("check unformatted", ("fmt", "--check", "{unformatted}"), PROBLEMS),
        ("syntax errors", ("fmt", "{broken}"), PROBLEMS),
        ("missing file", ("fmt", "{tmp:nope.trace}"), USAGE),
        ("conflicting flags", ("fmt", "--check", "--write", "tcpa"), USAGE),
    ],
    "convert": [
        ("to json", ("convert", "pii", "--to", "json"), OK),
        ("syntax errors", ("convert", "{broken}", "--to", "json"), PROBLEMS),
        ("missing file", ("convert", "{tmp:nope.trace}", "--to", "json"), USAGE),
        ("bad target", ("convert", "pii", "--to", "yaml"), USAGE),
    ],
    "build": [
        ("artifact", ("build", "pii", "-o", "{tmp:packs.tart}"), OK),
        ("syntax errors", ("build", "{broken}", "-o", "{tmp:packs.tart}"), PROBLEMS),
        ("missing pack", ("build", "{tmp:nope.trace}", "-o", "{tmp:packs.tart}"), USAGE),
        ("missing config", ("build", "pii", "-o", "{tmp:x.tart}", "--config", "{tmp:nope.json}"), USAGE),
        ("invalid config", ("build", "pii", "-o", "{tmp:x.tart}", "--config", "{badcfg}"), PROBLEMS),
    ],
    "test": [
        ("builtin by name", ("test", "pii"), OK),
        ("failing marker", ("test", "{lintwarn}"), PROBLEMS),
        ("pack without tests", ("test", "{notests}"), PROBLEMS),
        ("directory without tests", ("test", "{emptydir}"), PROBLEMS),
        ("missing file", ("test", "{tmp:nope.trace}"), USAGE),
    ],
    "explain": [
        ("default packs", ("explain", str(OUTBOUND)), OK),
        ("pack by name", ("explain", "--pack", "tcpa", str(OUTBOUND), "--mode", "BLOCK"), OK),
        ("config", ("explain", "--config", "{cfg}", str(OUTBOUND)), OK),
        ("malformed transcript", ("explain", "{malformed}"), PROBLEMS),
        ("invalid config", ("explain", "--config", "{badcfg}", str(OUTBOUND)), PROBLEMS),
        ("missing transcript", ("explain", "{tmp:nope.jsonl}"), USAGE),
        ("missing config", ("explain", "--config", "{tmp:nope.json}", str(OUTBOUND)), USAGE),
        ("bad mode", ("explain", "--mode", "blok", str(OUTBOUND)), USAGE),
    ],
    "docs": [
        ("write", ("docs", "--out", "{tmp:docs}"), OK),
        ("stale", ("docs", "--check", "--out", "{tmp:empty-docs}"), PROBLEMS),
    ],
    "bench": [
        ("tiny", ("bench", "--corpus", str(OUTBOUND), "--turns", "5", "--stream-turns", "2", "--runs", "1", "--no-scaling",
                  "--format", "json"), OK),
        ("missing corpus", ("bench", "--corpus", "{tmp:nope.jsonl}"), USAGE),
    ],
    "rescore": [
        ("scored", ("rescore", str(OUTBOUND), "--db", "{tmp:r.db}"), OK),
        ("skipped records", ("rescore", "{mixed}", "--db", "{tmp:r.db}"), PARTIAL),
        ("invalid config", ("rescore", str(OUTBOUND), "--db", "{tmp:r.db}", "--config", "{badcfg}"), PROBLEMS),
        ("missing input", ("rescore", "{tmp:nope.jsonl}", "--db", "{tmp:r.db}"), USAGE),
        ("missing config", ("rescore", str(OUTBOUND), "--db", "{tmp:r.db}", "--config", "{tmp:nope.json}"), USAGE),
    ],
    "diff": [
        ("compared", ("diff", str(OUTBOUND), "--before", "tcpa", "--after", "{cfg}"), OK),
        ("changed with --fail-on-change", ("diff", str(OUTBOUND), "--before", "pii", "--after", "tcpa",
                                           "--fail-on-change"), PROBLEMS),
        ("skipped records", ("diff", "{mixed}", "--before", "tcpa", "--after", "pii"), PARTIAL),
        ("broken pack", ("diff", str(OUTBOUND), "--before", "tcpa", "--after", "{broken}"), PROBLEMS),
        ("invalid config", ("diff", str(OUTBOUND), "--before", "tcpa", "--after", "{badcfg}"), PROBLEMS),
        ("missing corpus", ("diff", "{tmp:nope.jsonl}", "--before", "tcpa", "--after", "pii"), USAGE),
        ("unknown pack", ("diff", str(OUTBOUND), "--before", "nope", "--after", "pii"), USAGE),
    ],
    "keygen": [
        ("new", ("keygen", "--out", "{tmp:k}"), OK),
        ("exists", ("keygen", "--out", "{existingkeys}"), USAGE),
    ],
    "verify": [
        ("intact", ("verify", "--db", "{db}", "--pubkey", "{pub}"), OK),
        ("tampered", ("verify", "--db", "{tampered}", "--pubkey", "{pub}"), PROBLEMS),
        ("unreadable", ("verify", "--db", "{junkdb}"), USAGE),
    ],
    "verify-proof": [
        ("trusted key", ("verify-proof", "{proof}", "--pubkey", "{pub}"), OK),
        ("no trusted key", ("verify-proof", "{proof}"), PROBLEMS),
        ("unreadable", ("verify-proof", "{tmp:nope.json}", "--pubkey", "{pub}"), USAGE),
    ],
    "checkpoint": [
        ("latest notes", ("checkpoint", "--db", "{db}", "--pubkey", "{pub}"), OK),
        ("signed by another key", ("checkpoint", "--db", "{db}", "--pubkey", "{otherpub}"), PROBLEMS),
        ("unreadable", ("checkpoint", "--db", "{junkdb}"), USAGE),
    ],
    "rotate-key": [
        ("handed over", ("rotate-key", "--db", "{rotdb}", "--key", "{key}", "--new-key", "{otherkey}"), OK),
        ("not the log's key", ("rotate-key", "--db", "{db}", "--key", "{otherkey}", "--new-key", "{key}"), PROBLEMS),
        ("missing key", ("rotate-key", "--db", "{db}", "--key", "{key}", "--new-key", "{tmp:nokey}"), USAGE),
    ],
    "prove": [
        ("known call", ("prove", "solar-002-optout-ignored", "--db", "{db}", "-o", "{tmp:p.json}"), OK),
        ("unknown call", ("prove", "nope", "--db", "{db}"), PROBLEMS),
        ("unreadable", ("prove", "x", "--db", "{junkdb}"), USAGE),
    ],
    "interactions": [
        ("list", ("interactions", "--db", "{db}", "--verdict", "fail"), OK),
        ("bad verdict", ("interactions", "--db", "{db}", "--verdict", "maybe"), USAGE),
        ("unreadable", ("interactions", "--db", "{junkdb}"), USAGE),
    ],
    "violations": [
        ("list", ("violations", "--db", "{db}", "--severity", "HIGH", "--format", "csv"), OK),
        ("bad severity", ("violations", "--db", "{db}", "--severity", "dire"), USAGE),
        ("unreadable", ("violations", "--db", "{junkdb}"), USAGE),
    ],
    "exposure": [
        ("summary", ("exposure", "--db", "{db}"), OK),
        ("markdown for one pack", ("exposure", "--db", "{db}", "--pack", "tcpa", "--format", "markdown"), OK),
        ("bad format", ("exposure", "--db", "{db}", "--format", "yaml"), USAGE),
        ("unreadable", ("exposure", "--db", "{junkdb}"), USAGE),
    ],
    "show": [
        ("known call", ("show", "solar-002-optout-ignored", "--db", "{db}"), OK),
        ("unknown call", ("show", "nope", "--db", "{db}"), PROBLEMS),
        ("unreadable", ("show", "x", "--db", "{junkdb}"), USAGE),
    ],
    "findings": [
        ("list", ("findings", "--db", "{db}", "--format", "jsonl"), OK),
        ("bad severity", ("findings", "--db", "{db}", "--severity", "dire"), USAGE),
        ("unreadable", ("findings", "--db", "{junkdb}"), USAGE),
    ],
    "serve": [
        ("bad log level", ("serve", "--db", "{tmp:s.db}", "--log-level", "chatty"), USAGE),
    ],
    "keys": [
        ("create", ("keys", "create", "--db", "{tmp:k.db}", "--tenant", "default", "--format", "json"), OK),
        ("list", ("keys", "list", "--db", "{db}", "--format", "csv"), OK),
        ("bad scope", ("keys", "create", "--db", "{tmp:k.db}", "--tenant", "t", "--scopes", "admin"), USAGE),
        ("revoke unknown", ("keys", "revoke", "key_nope", "--db", "{db}"), PROBLEMS),
        ("unreadable", ("keys", "list", "--db", "{junkdb}"), USAGE),
    ],
    "store": [
        ("migrate a new file", ("store", "migrate", "--db", "{tmp:m.db}"), OK),
        ("info", ("store", "info", "--db", "{db}", "--format", "json"), OK),
        ("copy", ("store", "copy", "{db}", "{tmp:copy.db}"), OK),
        ("copy into a log", ("store", "copy", "{db}", "{db}"), PROBLEMS),
        ("unreadable", ("store", "migrate", "--db", "{junkdb}"), USAGE),
    ],
}


def _registered() -> set[str]:
    import typer.main

    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_has_exit_code_cases():
    assert _registered() == set(CASES)


def test_every_exit_code_is_exercised():
    assert {code for cases in CASES.values() for *_, code in cases} == set(ExitCode)


def test_help_prints_the_table():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for code, meaning in EXIT_CODES.items():
        assert f"{int(code)}  {meaning}" in result.stdout
    assert exit_code_help().count("\n") == len(EXIT_CODES) - 1


def test_readme_table_is_the_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = [f"| {int(code)} | {meaning} |" for code, meaning in EXIT_CODES.items()]
    assert all(row in readme for row in rows), "README exit-code table differs from trace_engine/commands/_exit.py"


@pytest.mark.parametrize(
    "command, case, argv, expected",
    [(cmd, case, argv, code) for cmd, cases in CASES.items() for case, argv, code in cases],
    ids=[f"{cmd}: {case}" for cmd, cases in CASES.items() for case, _, _ in cases],
)
def test_exit_code(world, tmp_path, command, case, argv, expected):
    result = CliRunner().invoke(app, _args(argv, world, tmp_path))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == expected, f"{command} ({case}): {result.output}"
    assert "Traceback" not in result.output
    if argv[0] == "rescore" and expected == USAGE:
        assert not (tmp_path / "r.db").exists(), "a usage error must not create the database"
