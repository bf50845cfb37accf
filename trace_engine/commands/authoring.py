"""Commands for pack authors: check, lint, fmt, convert, build, test, explain, docs.

Every command takes packs in either form (``.trace`` or ``.json``), by path, by directory or by built-in name
(:mod:`trace_engine.commands._inputs`), and writes to stdout unless given ``-o``. Bad pack input is reported as
``file:line:col CODE message`` with the source line and a caret; never a traceback. Exit codes come from
:class:`~trace_engine.commands._exit.ExitCode`: 1 for problems in the input, 2 for input that cannot be read.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._inputs import complete_pack, display_name, load_config_arg, resolve_pack_args
from trace_engine.commands._output import TextOrJson, choices, emit_json, fail, format_type, write_text
from trace_engine.errors import Diagnostic, SourceMap, TraceError

PacksArg = Annotated[
    list[str],
    typer.Argument(
        help="Packs: files (.trace or .json), directories, or built-in pack names (tcpa, hipaa, pii, ...).",
        show_default=False,
        autocompletion=complete_pack,
        metavar="PACK",
    ),
]
OutOpt = Annotated[Path | None, typer.Option("-o", "--out", help="Write here instead of stdout.")]
MODES = ("warn", "modify", "block", "human_handoff")


# --------------------------------------------------------------------------------------------- shared


def _unreadable(exc: TraceError) -> bool:
    return any(d.code == "TS012" for d in exc.diagnostics)


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


def _load_or_exit(args: list[str]) -> list[tuple[Path, Any, SourceMap]]:
    """Resolve and load packs; print every error and exit (2 unreadable, 1 invalid) if any pack fails."""
    loaded, failed = _load(resolve_pack_args(args))
    if failed:
        _print_errors(failed)
        raise typer.Exit(ExitCode.USAGE if any(_unreadable(e) for e in failed) else ExitCode.PROBLEMS)
    return loaded


def _print_errors(errors: list[TraceError]) -> None:
    for exc in errors:
        sys.stderr.write(exc.render() + "\n")


def _diag_json(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "level": d.level, "message": d.message, "location": d.location.to_dict(), "hint": d.hint}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------------------------- check


def check(
    packs: PacksArg,
    output: TextOrJson = "text",
    strict: Annotated[bool, typer.Option(help="Treat regexes without literal atoms as errors.")] = False,
) -> None:
    """Parse and compile packs; report every error in every file (syntax, names, regexes, compile), not only the first.

    Exit 1 on errors, 2 when a pack cannot be read."""
    from trace_engine.compile import compile_packs
    from trace_engine.dsl.lint import lint_pack

    paths = resolve_pack_args(packs)
    loaded, failed = _load(paths)
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
        compiled.append(
            {"file": display_name(path), "pack_id": pack.pack_id, "version": pack.version, "rules": len(pack.rules),
             "etag": program.etag}
        )
    if output == "json":
        emit_json({"ok": not diagnostics, "packs": compiled, "errors": [_diag_json(d) for d in diagnostics]})
    else:
        _print_errors(failed)
        for item in compiled:
            sys.stdout.write(f"ok {item['file']}: {item['pack_id']}@{item['version']}, {_plural(item['rules'], 'rule')}\n")
        if diagnostics:
            files = len({d.location.file for d in diagnostics})
            sys.stdout.write(f"{_plural(len(diagnostics), 'error')} in {_plural(files, 'file')}\n")
    if any(_unreadable(e) for e in failed):
        raise typer.Exit(ExitCode.USAGE)
    raise typer.Exit(ExitCode.PROBLEMS if diagnostics else ExitCode.OK)


# --------------------------------------------------------------------------------------------- lint


def lint(
    packs: PacksArg,
    output: format_type("text", "json", "sarif", "github") = "text",
    fail_level: Annotated[
        choices("FailLevel", "error", "warning", "never"),
        typer.Option("--fail-level", case_sensitive=False, help="Exit 1 at or above this level."),
    ] = "error",
    strict: Annotated[bool, typer.Option(help="Treat regexes without atoms as errors.")] = False,
    select: Annotated[str | None, typer.Option(help="Comma-separated codes to run.")] = None,
    ignore: Annotated[str | None, typer.Option(help="Comma-separated codes to skip.")] = None,
    out: OutOpt = None,
) -> None:
    """Lint packs (one rule per file under trace_engine/dsl/lint/rules; docs in docs/lint/). Prints `ok` when clean."""
    from trace_engine.dsl.lint import lint_pack
    from trace_engine.dsl.lint.report import exit_code, render

    paths = resolve_pack_args(packs)
    loaded, failed = _load(paths)
    diags = [d for exc in failed for d in exc.diagnostics]
    sources = {exc.source.file: exc.source for exc in failed if exc.source}
    chosen = {c.strip().upper() for c in select.split(",") if c.strip()} if select else None
    skipped = {c.strip().upper() for c in ignore.split(",") if c.strip()} if ignore else None
    for _path, pack, source in loaded:
        sources[source.file] = source
        try:
            diags.extend(lint_pack(pack, source, strict=strict, select=chosen, ignore=skipped))
        except KeyError as exc:
            raise fail(f"unknown lint code: {exc.args[0]}", ExitCode.USAGE) from None
    write_text(render(diags, str(output), sources), str(out) if out else None)
    if output == "text" and not diags and not out:
        sys.stdout.write(f"ok: {_plural(len(loaded), 'pack')} linted, no findings\n")
    if any(_unreadable(e) for e in failed):
        raise typer.Exit(ExitCode.USAGE)
    raise typer.Exit(ExitCode.PROBLEMS if (exit_code(diags, str(fail_level)) or failed) else ExitCode.OK)


# --------------------------------------------------------------------------------------------- fmt


def fmt(
    packs: PacksArg,
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 if any file is not formatted.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff instead of the result.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the files in place.")] = False,
) -> None:
    """Format packs in the one canonical layout: .trace source, or canonical JSON for .json packs. Comments stay
    where they are (a trailing `# trace: ignore[...]` stays on its line)."""
    from trace_engine.dsl import decode_source, format_pack_source

    if sum((check_only, diff, write)) > 1:
        raise fail("--check, --diff and --write cannot be combined", ExitCode.USAGE)
    paths = resolve_pack_args(packs)
    unformatted: list[Path] = []
    errors: list[TraceError] = []
    for path in paths:
        try:
            original = decode_source(path.read_bytes(), str(path))
            formatted = format_pack_source(original, str(path))
        except TraceError as exc:
            errors.append(exc)
            continue
        except OSError as exc:
            raise fail(f"{path}: cannot read: {exc.strerror}", ExitCode.USAGE) from None
        changed = formatted != original
        if changed:
            unformatted.append(path)
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
    done = len(paths) - len(errors)
    if check_only and not unformatted and not errors:
        sys.stdout.write(f"ok: {_plural(done, 'file')} already formatted\n")
    if write and not errors:
        sys.stdout.write(f"{_plural(len(unformatted), 'file')} reformatted, {done - len(unformatted)} unchanged\n")
    if errors or ((check_only or diff) and unformatted):
        raise typer.Exit(ExitCode.PROBLEMS)
    raise typer.Exit(ExitCode.OK)


# --------------------------------------------------------------------------------------------- convert, build


def convert(
    pack: Annotated[str, typer.Argument(help="A pack: a .trace or .json file, or a built-in name.",
                                        autocompletion=complete_pack, metavar="PACK")],
    to: Annotated[choices("Target", "json", "trace"), typer.Option("--to", case_sensitive=False, help="Target form.")],
    out: OutOpt = None,
) -> None:
    """Convert a pack between the DSL and the JSON form, without loss: comments travel in the JSON form's
    `comments` list, keyed by the JSON pointer of the item they belong to."""
    from trace_engine.dsl import print_pack
    from trace_engine.dsl.jsonform import dump_json_pack

    paths = resolve_pack_args([pack])
    if len(paths) != 1:
        raise fail(f"{pack}: convert takes one pack, and this names {len(paths)}", ExitCode.USAGE)
    ((_, ir_pack, source),) = _load_or_exit(paths)
    comments = source.comments
    text = dump_json_pack(ir_pack, comments=comments) if to == "json" else print_pack(ir_pack, comments=comments)
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
            raise fail(f"{key}: cannot load the signing key: {exc}", ExitCode.USAGE) from None
    loaded = _load_or_exit(packs)
    cfg = load_config_arg(config)
    try:
        engine = Engine.from_config(cfg if cfg is not None else {"rule_packs": {}}, packs=[p for _, p, _ in loaded])
    except TraceError as exc:
        raise fail(exc.render(), ExitCode.PROBLEMS) from None
    try:
        header = write_artifact(engine.program, out, key=signing_key)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}", ExitCode.USAGE) from None
    signed = f", signed by {header['signed_by']}" if header["signed_by"] else ""
    sys.stdout.write(f"wrote {out}: {', '.join(header['packs'])} (etag {header['etag'][:16]}…{signed})\n")


# --------------------------------------------------------------------------------------------- test


def _test_targets(paths: list[str]) -> list[str]:
    """Pack-test arguments -> paths for discovery: built-in names become their pack files; a pack file without a
    sibling .calls file is an error (exit 1), a path that does not exist a usage error (exit 2)."""
    from trace_engine.packs import PACK_SUFFIXES, builtin_pack_path

    out: list[str] = []
    for arg in paths:
        path = Path(arg)
        if not path.exists():
            builtin = builtin_pack_path(arg)
            if builtin is None:
                resolve_pack_args([arg])  # exits 2 with the standard message
            path = builtin
        if path.is_file() and path.suffix in PACK_SUFFIXES and not path.with_suffix(".calls").is_file():
            raise fail(
                f"{display_name(path)}: this pack has no tests; write {path.with_suffix('.calls').name} beside it "
                "(the format: docs/packtest.md)",
                ExitCode.PROBLEMS,
            )
        out.append(str(path))
    return out


def test(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Packs (by path or built-in name), .calls files or directories; default: every built-in "
                       "pack.", autocompletion=complete_pack, show_default=False, metavar="PATH"),
    ] = None,
    output: TextOrJson = "text",
) -> None:
    """Run pack tests (.calls transcripts with ruleid:/ok: markers; see docs/packtest.md). Last line: N passed,
    N failed. Exit 1 on a failure, or when there is nothing to test."""
    from trace_engine.packs import BUILTIN_DIR
    from trace_engine.packtest_run import render_text, run_pack_tests

    targets = _test_targets(paths) if paths else [str(BUILTIN_DIR)]
    report = run_pack_tests(targets)
    empty = not report.results and not report.errors
    if output == "json":
        emit_json(
            {
                "passed": len(report.passed),
                "failed": len(report.failed) + len(report.errors),
                "todo": len(report.todo),
                "failures": [r.to_dict() for r in report.failed],
                "errors": [_diag_json(d) for d in report.errors],
            }
        )
    elif empty:
        raise fail(
            f"no pack tests in {', '.join(targets)}: a test is a .calls file beside its pack (docs/packtest.md)",
            ExitCode.PROBLEMS,
        )
    else:
        write_text(render_text(report))
    raise typer.Exit(ExitCode.PROBLEMS if (report.failed or report.errors or empty) else ExitCode.OK)


# --------------------------------------------------------------------------------------------- explain


def explain(
    transcript: Annotated[
        Path, typer.Argument(help="A .calls file or an Omni transcript (JSON/JSONL).", metavar="TRANSCRIPT")
    ],
    pack: Annotated[
        list[str] | None,
        typer.Option("--pack", help="A pack to enforce, by path or built-in name (repeatable). Default: the config's "
                     "packs, or tcpa, hipaa, pii and brand_voice.", autocompletion=complete_pack, metavar="PACK"),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TraceConfigInput JSON: packs, guardrails, "
                                                 "variables.")] = None,
    mode: Annotated[
        choices("Mode", *MODES) | None,
        typer.Option(case_sensitive=False, help="Gate mode (default: the config's, else warn)."),
    ] = None,
    stream_words: Annotated[
        int | None,
        typer.Option("--stream-words", min=1, help="Stream each agent turn in chunks of this many words, as a turn "
                     "loop does, and explain the stream's close (the feeds are not traced)."),
    ] = None,
    output: TextOrJson = "text",
) -> None:
    """For each turn (numbered from 1, as in `trace show`): which rules fired or were satisfied, on which span, why
    (the evaluator's trace: windows opened, states set, what an exception or a state allowed, which rules did not
    fire and why, which detector candidates a validator rejected; docs/explain.md lists every event)."""
    from trace_engine.gate.engine import Engine
    from trace_engine.packs import DEFAULT_PACK_IDS
    from trace_engine.replay import explain_transcript
    from trace_engine.transcripts import TranscriptError, load_transcripts

    loaded = _load_or_exit(pack) if pack else []
    cfg = load_config_arg(config)
    base: dict[str, Any] = cfg.model_dump(mode="json", exclude_unset=True) if cfg is not None else {}
    if not pack and "rule_packs" not in base:
        base["rule_packs"] = {p: {"enabled": True} for p in DEFAULT_PACK_IDS}
    base.setdefault("rule_packs", {})
    guardrails = dict(base.get("guardrails") or {})
    guardrails["inline_timeout_ms"] = 60_000  # explain shows what the rules do, not what this machine's timing does
    if mode is not None:
        guardrails["mode"] = str(mode)
    base["guardrails"] = guardrails
    if not transcript.exists():
        raise fail(f"{transcript}: no such file or directory", ExitCode.USAGE)
    try:
        calls = list(load_transcripts(str(transcript)))
    except TranscriptError as exc:
        raise fail(str(exc), ExitCode.PROBLEMS) from None
    except OSError as exc:
        raise fail(f"{transcript}: cannot read: {exc.strerror}", ExitCode.USAGE) from None
    results = []
    for call in calls:
        variables = {**(base.get("variables") or {}), **call.variables}
        try:
            engine = Engine.from_config({**base, "variables": variables}, packs=[p for _, p, _ in loaded] or None)
        except TraceError as exc:
            raise fail(exc.render(), ExitCode.PROBLEMS) from None
        results.append(explain_transcript(engine, call, stream_words=stream_words))
    if output == "json":
        emit_json([x.to_dict() for x in results])
        return
    write_text("".join(_explain_text(x.transcript, x.replay, x.card) for x in results))


def _explain_text(call: Any, replay: Any, card: Any) -> str:
    lines = [f"call {call.call_id}: {card.verdict}  (packs {', '.join(card.packs_enforced) or 'none'})"]
    for report in replay.reports:
        if report.role in ("start", "end") and not (report.findings or report.satisfied or _why(report.events or ())):
            continue
        stamp = f" @{report.t:g}s" if report.t is not None and report.role in ("agent", "caller") else ""
        label = f"turn {report.turn}" if report.turn is not None else f"call {report.role}"
        head = f"  [{label}] {report.role}{stamp}" if report.turn is not None else f"  [{label}]"
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
        lines.extend(_why(report.events or ()))
    for n in card.not_evaluated:
        lines.append(f"  not evaluated {n.rule_id}: {n.reason}")
    for na in card.not_applicable or ():
        lines.append(f"  not applicable {na.rule_id or 'pack ' + str(na.pack_id)}: {na.reason}")
    return "\n".join(lines) + "\n"


def _why(events: Any) -> list[str]:
    """The trace events worth a line, in the core's order: windows and cues that opened, states set, what was let
    through and why, rules that did not fire and why, detector candidates a check rejected, obligations met late or
    closed unmet. Matches that became
    findings are printed already (FIRED); rules out of scope for the whole call are listed once at the end; the rest
    (candidates, regexes run, obligations still waiting inside their window) is in ``--format json``."""
    lines: list[str] = []
    spans_said = {(e["rule_id"], e["event"]) for e in events if e["event"] in ("excepted", "allowed_after_state")}
    for e in events:
        kind = e["event"]
        if kind in ("excepted", "allowed_after_state") or (kind == "window_closed" and not e.get("met")):
            lines.append(f"      why   {e['says']}")
        elif kind == "did_not_fire":
            said_per_span = {"exception": "excepted", "state_set": "allowed_after_state"}.get(e["reason"])
            if e["reason"] != "window_open" and (e["rule_id"], said_per_span) not in spans_said:
                lines.append(f"      why   {e['says']}")
        elif kind in ("window_opened", "cue_opened"):
            lines.append(f"      open  {e['says']}")
        elif kind == "state_set":
            lines.append(f"      {e['says']}")
        elif kind == "validator_rejected":
            lines.append(f"      no    {e['says']}")
    return list(dict.fromkeys(lines))  # a span seen by two checks of one rule is said once


# --------------------------------------------------------------------------------------------- docs


def docs(
    out: Annotated[Path, typer.Option("--out", help="The docs directory.")] = Path("docs"),
    check_only: Annotated[bool, typer.Option("--check", help="Exit 1 if the generated docs are stale.")] = False,
) -> None:
    """Regenerate docs/lint/ and docs/packs/ from the lint rules and the built-in packs."""
    from trace_engine.docsgen import generate_all

    stale = generate_all(out, check_only=check_only)
    for path in stale:
        sys.stdout.write(f"{'stale' if check_only else 'wrote'} {path}\n")
    if not stale:
        sys.stdout.write(f"ok: {out} is up to date\n")
    raise typer.Exit(ExitCode.PROBLEMS if (check_only and stale) else ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(lint)
    app.command()(fmt)
    app.command()(convert)
    app.command()(build)
    app.command()(test)
    app.command()(explain)
    app.command()(docs)


__all__ = ["register"]
