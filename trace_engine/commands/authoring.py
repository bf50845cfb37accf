"""Commands for pack authors: check, lint, fmt, convert, build, test, explain, docs.

Every command takes packs in either form (``.trace`` or ``.json``) and writes to stdout unless given ``-o``.
Bad pack input is reported as ``file:line:col CODE message`` with the source line and a caret; never a traceback.
"""

from __future__ import annotations

import difflib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from trace_engine.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from trace_engine.commands._output import OutputFormat, emit_json, write_text
from trace_engine.errors import Diagnostic, SourceMap, TraceError

PacksArg = Annotated[list[Path], typer.Argument(help="Pack files (.trace or .json).", show_default=False)]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="text for people, json for machines.")]
OutOpt = Annotated[Path | None, typer.Option("-o", "--out", help="Write here instead of stdout.")]


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailLevel(StrEnum):
    error = "error"
    warning = "warning"
    never = "never"


class Target(StrEnum):
    json = "json"
    trace = "trace"


def _load(paths: list[Path]) -> tuple[list[tuple[Path, Any, SourceMap]], list[TraceError]]:
    from trace_engine.dsl import load_pack

    loaded, failed = [], []
    for path in paths:
        try:
            pack, source = load_pack(str(path))
        except TraceError as exc:
            failed.append(exc)
            continue
        loaded.append((path, pack, source))
    return loaded, failed


def _print_errors(errors: list[TraceError]) -> None:
    for exc in errors:
        sys.stderr.write(exc.render() + "\n")


def _diag_json(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "level": d.level, "message": d.message, "location": d.location.to_dict(), "hint": d.hint}


def check(packs: PacksArg, output: FormatOpt = OutputFormat.text, strict: bool = False) -> None:
    """Parse and compile packs; report every error (not only the first). Exit 1 on errors."""
    from trace_engine.compile import compile_packs
    from trace_engine.dsl.lint import lint_pack

    loaded, failed = _load(packs)
    diagnostics = [d for exc in failed for d in exc.diagnostics]
    compiled = []
    for path, pack, source in loaded:
        errors = [d for d in lint_pack(pack, source, strict=strict) if d.level == "error"]
        if errors:
            failed.append(TraceError(errors, source))
            diagnostics.extend(errors)
            continue
        try:
            program = compile_packs([pack])
        except TraceError as exc:
            failed.append(exc)
            diagnostics.extend(exc.diagnostics)
            continue
        compiled.append({"file": str(path), "pack_id": pack.pack_id, "version": pack.version, "rules": len(pack.rules), "etag": program.etag})
    if output == OutputFormat.json:
        emit_json({"ok": not diagnostics, "packs": compiled, "errors": [_diag_json(d) for d in diagnostics]})
    else:
        _print_errors(failed)
        for item in compiled:
            sys.stdout.write(f"ok {item['file']}: {item['pack_id']}@{item['version']}, {item['rules']} rules\n")
        if diagnostics:
            sys.stdout.write(f"{len(diagnostics)} error(s)\n")
    raise typer.Exit(EXIT_PROBLEMS if diagnostics else EXIT_OK)


def lint(
    packs: PacksArg,
    output: Annotated[LintFormat, typer.Option("--format", help="text, json, sarif or github.")] = LintFormat.text,
    fail_level: Annotated[FailLevel, typer.Option("--fail-level", help="Exit 1 at or above this level.")] = FailLevel.error,
    strict: Annotated[bool, typer.Option(help="Treat regexes without atoms as errors.")] = False,
    select: Annotated[str | None, typer.Option(help="Comma-separated codes to run.")] = None,
    ignore: Annotated[str | None, typer.Option(help="Comma-separated codes to skip.")] = None,
    out: OutOpt = None,
) -> None:
    """Lint packs (one rule per file under trace_engine/dsl/lint/rules; docs in docs/lint/)."""
    from trace_engine.dsl.lint import lint_pack
    from trace_engine.dsl.lint.report import exit_code, render

    loaded, failed = _load(packs)
    diags = [d for exc in failed for d in exc.diagnostics]
    sources = {exc.source.file: exc.source for exc in failed if exc.source}
    chosen = set(select.split(",")) if select else None
    skipped = set(ignore.split(",")) if ignore else None
    for _path, pack, source in loaded:
        sources[source.file] = source
        try:
            diags.extend(lint_pack(pack, source, strict=strict, select=chosen, ignore=skipped))
        except KeyError as exc:
            sys.stderr.write(f"unknown lint code: {exc.args[0]}\n")
            raise typer.Exit(EXIT_USAGE) from None
    write_text(render(diags, output.value, sources), str(out) if out else None)
    code = exit_code(diags, fail_level.value)
    raise typer.Exit(EXIT_PROBLEMS if (code or failed) else EXIT_OK)


def fmt(
    packs: PacksArg,
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 if any file is not formatted.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff instead of the result.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the files in place.")] = False,
) -> None:
    """Format .trace packs in the one canonical layout."""
    from trace_engine.dsl import decode_source, format_source

    unformatted = 0
    errors: list[TraceError] = []
    for path in packs:
        try:
            original = decode_source(path.read_bytes(), str(path))
            formatted = format_source(original, str(path))
        except TraceError as exc:
            errors.append(exc)
            continue
        except OSError as exc:
            sys.stderr.write(f"{path}: cannot read: {exc.strerror}\n")
            raise typer.Exit(EXIT_USAGE) from None
        changed = formatted != original
        unformatted += changed
        if diff:
            sys.stdout.writelines(
                difflib.unified_diff(original.splitlines(True), formatted.splitlines(True), f"{path}", f"{path} (formatted)")
            )
        elif check_only:
            if changed:
                sys.stdout.write(f"would reformat {path}\n")
        elif write:
            if changed:
                path.write_text(formatted, encoding="utf-8")
                sys.stdout.write(f"reformatted {path}\n")
        else:
            sys.stdout.write(formatted)
    _print_errors(errors)
    if errors or ((check_only or diff) and unformatted):
        raise typer.Exit(EXIT_PROBLEMS)
    raise typer.Exit(EXIT_OK)


def convert(
    pack: Annotated[Path, typer.Argument(help="A pack (.trace or .json).")],
    to: Annotated[Target, typer.Option("--to", help="Target form.")],
    out: OutOpt = None,
) -> None:
    """Convert a pack between the DSL and the JSON form, without loss."""
    from trace_engine.dsl import print_pack
    from trace_engine.dsl.jsonform import dump_json_pack

    loaded, failed = _load([pack])
    if failed:
        _print_errors(failed)
        raise typer.Exit(EXIT_PROBLEMS)
    _, ir_pack, _ = loaded[0]
    text = dump_json_pack(ir_pack) if to == Target.json else print_pack(ir_pack)
    write_text(text, str(out) if out else None)


def build(
    packs: PacksArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Artifact path.")],
    config: Annotated[Path | None, typer.Option("--config", help="A config whose guardrails are compiled in.")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="Sign the artifact with this Ed25519 key (trace keygen).")] = None,
) -> None:
    """Compile packs (and a config's guardrails) into a versioned, hash-checked artifact (data, not code)."""
    from trace_engine.compile.artifact import write_artifact
    from trace_engine.evidence.signing import load_signing_key
    from trace_engine.gate.engine import Engine

    signing_key = None
    if key is not None:
        try:
            signing_key = load_signing_key(key)
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"{key}: cannot load the signing key: {exc}\n")
            raise typer.Exit(EXIT_USAGE) from None

    loaded, failed = _load(packs)
    if failed:
        _print_errors(failed)
        raise typer.Exit(EXIT_PROBLEMS)
    try:
        engine = Engine.from_config(str(config) if config else None, packs=[p for _, p, _ in loaded])
    except TraceError as exc:
        sys.stderr.write(exc.render() + "\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    header = write_artifact(engine.program, out, key=signing_key)
    signed = f", signed by {header['signed_by']}" if header["signed_by"] else ""
    sys.stdout.write(f"wrote {out}: {', '.join(header['packs'])} (etag {header['etag'][:16]}…{signed})\n")


def test(
    paths: Annotated[list[Path] | None, typer.Argument(help="Pack files, .calls files or directories.")] = None,
    output: FormatOpt = OutputFormat.text,
) -> None:
    """Run pack tests (.calls transcripts with ruleid:/ok: markers). Last line: N passed, N failed."""
    from trace_engine.packtest_run import render_text, run_pack_tests

    try:
        report = run_pack_tests([str(p) for p in (paths or [Path("rule_packs")])])
    except FileNotFoundError as exc:
        sys.stderr.write(f"no such file or directory: {exc.args[0]}\n")
        raise typer.Exit(EXIT_USAGE) from None
    if output == OutputFormat.json:
        emit_json(
            {
                "passed": len(report.passed),
                "failed": len(report.failed) + len(report.errors),
                "todo": len(report.todo),
                "failures": [r.to_dict() for r in report.failed],
                "errors": [_diag_json(d) for d in report.errors],
            }
        )
    else:
        write_text(render_text(report))
    raise typer.Exit(EXIT_PROBLEMS if (report.failed or report.errors) else EXIT_OK)


def explain(
    transcript: Annotated[Path, typer.Argument(help="A .calls file or an Omni transcript (JSON/JSONL).")],
    pack: Annotated[list[Path], typer.Option("--pack", help="Packs to enforce (repeatable).")],
    mode: Annotated[str, typer.Option(help="warn, modify, block or human_handoff.")] = "warn",
    output: FormatOpt = OutputFormat.text,
) -> None:
    """For each turn: which rules fired or were satisfied, on which span, and why."""
    from trace_engine.gate.engine import Engine
    from trace_engine.replay import Replay
    from trace_engine.transcripts import TranscriptError, load_transcripts

    loaded, failed = _load(pack)
    if failed:
        _print_errors(failed)
        raise typer.Exit(EXIT_PROBLEMS)
    try:
        calls = list(load_transcripts(str(transcript)))
    except TranscriptError as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(EXIT_PROBLEMS) from None
    except OSError as exc:
        sys.stderr.write(f"{transcript}: cannot read: {exc.strerror}\n")
        raise typer.Exit(EXIT_USAGE) from None
    results = []
    for call in calls:
        engine = Engine.from_config(
            {"guardrails": {"mode": mode, "inline_timeout_ms": 60_000}, "variables": call.variables},
            packs=[p for _, p, _ in loaded],
        )
        replay = Replay(engine, call.call_id, metadata=call.metadata, agent_id=call.agent_id)
        for role, text, t in call.turns:
            replay.turn(role, text, t)
        card = replay.end()
        results.append((call, replay, card))
    if output == OutputFormat.json:
        emit_json(
            [
                {"call_id": c.call_id, "verdict": card.verdict, "turns": [r.to_dict() for r in replay.reports],
                 "not_evaluated": [n.to_dict() for n in card.not_evaluated],
                 "not_applicable": [n.to_dict() for n in card.not_applicable or ()]}
                for c, replay, card in results
            ]
        )
        return
    write_text("".join(_explain_text(c, replay, card) for c, replay, card in results))


def _explain_text(call: Any, replay: Any, card: Any) -> str:
    lines = [f"call {call.call_id}: {card.verdict}  (packs {', '.join(card.packs_enforced)})"]
    for report in replay.reports:
        if report.role in ("start", "end") and not (report.findings or report.satisfied):
            continue
        stamp = f" @{report.t:g}s" if report.t is not None and report.role in ("agent", "caller") else ""
        head = f"  [{report.index}] {report.role}{stamp}"
        lines.append(f"{head}: {report.text}" if report.text else head)
        if report.action and report.action != "pass":
            lines.append(f"      gate: {report.action} -> {report.spoken!r}")
        for f in report.findings:
            where = ""
            if f.get("span"):
                s, e = f["span"]
                where = f' on "{report.text[s:e]}" ({s}-{e})'
            lines.append(f"      FIRED {f['rule_id']} [{f['severity']}]{where}: {f['reason']} ({f['citation']})")
        for rule_id in report.satisfied:
            lines.append(f"      met   {rule_id}")
        for state in report.states:
            lines.append(f"      state {state} set")
    for n in card.not_evaluated:
        lines.append(f"  not evaluated {n.rule_id}: {n.reason}")
    for na in card.not_applicable or ():
        lines.append(f"  not applicable {na.rule_id or 'pack ' + str(na.pack_id)}: {na.reason}")
    return "\n".join(lines) + "\n"


def docs(
    out: Annotated[Path, typer.Option("--out", help="The docs directory.")] = Path("docs"),
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 if the generated docs are stale.")] = False,
) -> None:
    """Regenerate docs/lint/ and docs/packs/ from the lint rules and the built-in packs."""
    from trace_engine.docsgen import generate_all

    stale = generate_all(out, check_only=check_only)
    for path in stale:
        sys.stdout.write(f"{'stale' if check_only else 'wrote'} {path}\n")
    raise typer.Exit(EXIT_PROBLEMS if (check_only and stale) else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(lint)
    app.command()(fmt)
    app.command()(convert)
    app.command()(build)
    app.command()(test)
    app.command()(explain)
    app.command()(docs)


__all__ = ["register", "json"]
