"""``trace diff CORPUS --before CONFIG_OR_PACKS --after CONFIG_OR_PACKS``: what a change would do to real calls.

Each side is a comma-separated list: at most one config file (``TraceConfigInput`` JSON) and any number of packs
(a ``.trace`` or ``.json`` pack file, a directory of them, or a built-in pack name). A pack given with a config
replaces the config's pack of the same ``pack_id`` (or is added), so ``--before prod.json --after
prod.json,drafts/tcpa.trace`` asks "what would the draft change in production". Without a config a side enforces
exactly its packs. Both sides score in ``warn`` mode, as ``trace rescore`` does; nothing is written.

Exit codes: 0 done (1 with ``--fail-on-change`` when a call changed); 1 a side is invalid (every problem located);
2 a side or the corpus cannot be read at all; 3 some records were malformed and skipped (the rest compared).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._inputs import display_name, resolve_pack_arg
from trace_engine.commands._output import emit_json, fail, format_type, progress, write_text
from trace_engine.errors import TraceConfigError, TraceError


def _is_config(path: Path) -> bool:
    """A ``.json`` file holding a config (not a pack: packs have a ``pack_id``)."""
    if path.suffix != ".json" or not path.is_file():
        return False
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False  # read as a pack, which reports the problem with its location
    return isinstance(doc, dict) and "pack_id" not in doc


def side(arg: str, which: str) -> Any:
    """``--before`` / ``--after`` -> a :class:`trace_engine.diff.Side` (exits 2 or 1 on a bad side)."""
    from trace_engine.diff import Side
    from trace_engine.gate.config import load_config
    from trace_engine.gate.engine import Engine
    from trace_engine.packs import load_pack_file
    from trace_engine.rescore import offline_config

    items = [x.strip() for x in arg.split(",") if x.strip()]
    if not items:
        raise fail(f"--{which}: name a config or at least one pack", ExitCode.USAGE)
    config_path: Path | None = None
    pack_paths: list[Path] = []
    for item in items:
        path = Path(item)
        if _is_config(path):
            if config_path is not None:
                raise fail(f"--{which}: one config at most ({config_path} and {path})", ExitCode.USAGE)
            config_path = path
        else:
            pack_paths.extend(resolve_pack_arg(item))
    packs = []
    for p in pack_paths:
        try:
            packs.append(load_pack_file(p))
        except TraceError as exc:
            raise fail(f"--{which}: {display_name(p)} has errors\n" + exc.render(), ExitCode.PROBLEMS) from None
        except OSError as exc:
            raise fail(f"--{which}: cannot read {p}: {exc.strerror or exc}", ExitCode.USAGE) from None
    replaced = {p.pack_id for p in packs}
    try:
        if config_path is not None:
            cfg = load_config(config_path)
            cfg = cfg.model_copy(
                update={"rule_packs": {k: v for k, v in cfg.rule_packs.items() if k not in replaced}}
            )
        else:
            cfg = load_config({"rule_packs": {}})
        engine = Engine.from_config(offline_config(cfg), packs=packs)
    except TraceConfigError as exc:
        code = ExitCode.USAGE if any(d.code == "TC001" for d in exc.diagnostics) else ExitCode.PROBLEMS
        raise fail(f"--{which}: invalid config\n" + exc.render(), code) from None
    except TraceError as exc:
        raise fail(f"--{which}: " + exc.render(), ExitCode.PROBLEMS) from None
    return Side(arg, engine)


def diff(
    corpus: Annotated[list[str], typer.Argument(help="Transcript files or directories (as for rescore), or -.")],
    before: Annotated[str, typer.Option("--before", help="Config and/or packs, comma-separated: what runs now.")],
    after: Annotated[str, typer.Option("--after", help="Config and/or packs, comma-separated: the change.")],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the calls are scored as.")] = "default",
    examples: Annotated[int, typer.Option("--examples", min=0, max=50, help="Examples per rule and direction.")] = 3,
    fail_on_change: Annotated[
        bool, typer.Option("--fail-on-change", help="Exit 1 when any call's verdict or findings change.")
    ] = False,
    output: format_type("text", "json", "markdown") = "text",
) -> None:
    """Re-score a corpus under two configs or pack versions and report what changes (nothing is written)."""
    from trace_engine.diff import run_diff, to_markdown, to_text
    from trace_engine.transcripts import NotScored, TranscriptError, iter_records

    b, a = side(before, "before"), side(after, "after")
    problems: list[str] = []
    unreadable = 0

    def transcripts():
        nonlocal unreadable
        for path in corpus:
            if path != "-" and not os.path.exists(path):
                unreadable += 1
                problems.append(f"{path}: no such file or directory")
                continue
            try:
                for item in iter_records(path):
                    if isinstance(item, TranscriptError):
                        problems.append(str(item))
                    elif not isinstance(item, NotScored):
                        yield item
            except OSError as exc:
                unreadable += 1
                problems.append(f"{path}: cannot read: {exc.strerror or exc}")

    with progress("comparing", None, unit="calls") as bar:
        run = run_diff(transcripts(), b, a, tenant=tenant, examples_per_rule=examples, on_call=bar.advance)
    report = run.report()
    report["skipped"] = problems + report["skipped"]
    if output == "json":
        emit_json(report)
    elif output == "markdown":
        write_text(to_markdown(report))
    else:
        write_text(to_text(report))
    if unreadable and unreadable == len(corpus) and not report["calls"]:
        raise typer.Exit(ExitCode.USAGE)
    if fail_on_change and report["changed"]:
        raise typer.Exit(ExitCode.PROBLEMS)
    raise typer.Exit(ExitCode.PARTIAL if report["skipped"] else ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)
