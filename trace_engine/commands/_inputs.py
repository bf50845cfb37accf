"""How commands take their inputs: packs by path, directory or built-in name, and configs.

Everywhere a command takes a pack it accepts, in this order of precedence:

1. an existing file (``my_pack.trace``, ``my_pack.json``);
2. an existing directory: every pack file under it, recursively (hidden directories, ``fixtures``,
   ``__pycache__`` and virtualenvs skipped);
3. the name of a built-in pack (``tcpa``, ``hipaa``, ``pii``, ``brand_voice``, ``debt_collection``), found in the
   installed package.

Anything else is a usage error (exit 2) that lists the built-in names. A config file that cannot be read is exit 2;
one that can be read but is invalid is exit 1, with every problem located.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import fail

SKIP_DIRS = frozenset({"fixtures", "__pycache__", "node_modules", ".venv", "venv", "site-packages"})


def builtin_names() -> tuple[str, ...]:
    from trace_engine.packs import BUILTIN_PACK_IDS

    return BUILTIN_PACK_IDS


def pack_files_under(directory: Path) -> list[Path]:
    """Every ``.trace``/``.json`` pack file under ``directory`` (recursively, sorted, skipping SKIP_DIRS)."""
    from trace_engine.packs import PACK_SUFFIXES

    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        found.extend(Path(root, f) for f in sorted(files) if f.endswith(PACK_SUFFIXES))
    return found


def resolve_pack_arg(arg: str | os.PathLike[str]) -> list[Path]:
    """One pack argument -> the pack files it names (see the module docstring); exits 2 when it names nothing."""
    from trace_engine.packs import builtin_pack_path

    path = Path(arg)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = pack_files_under(path)
        if not files:
            raise fail(f"{arg}: no pack files (.trace, .json) in this directory", ExitCode.USAGE)
        return files
    builtin = builtin_pack_path(str(arg))
    if builtin is not None:
        return [builtin]
    raise fail(
        f"{arg}: no such file, directory or built-in pack (built-in packs: {', '.join(builtin_names())})",
        ExitCode.USAGE,
    )


def resolve_pack_args(args: list[str] | list[Path]) -> list[Path]:
    """All pack arguments -> pack files, in order, without duplicates."""
    seen: set[Path] = set()
    out: list[Path] = []
    for arg in args:
        for path in resolve_pack_arg(arg):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def display_name(path: Path) -> str:
    """How a pack file is named in messages: a built-in pack named by the user (resolved to an absolute path in the
    package) by its name, anything else by the path as given."""
    from trace_engine.packs import BUILTIN_DIR

    if not path.is_absolute():
        return str(path)
    try:
        path.relative_to(BUILTIN_DIR)
    except ValueError:
        return str(path)
    return path.stem


def complete_pack(incomplete: str) -> list[str]:
    """Shell completion for pack arguments: built-in names, then pack files and directories here."""
    names = [n for n in builtin_names() if n.startswith(incomplete)]
    base = Path(incomplete).parent if incomplete else Path(".")
    try:
        entries = sorted(base.iterdir()) if base.is_dir() else []
    except OSError:
        entries = []
    paths = [
        str(p) + ("/" if p.is_dir() else "")
        for p in entries
        if str(p).startswith(incomplete.removeprefix("./")) and (p.is_dir() or p.suffix in (".trace", ".json"))
    ]
    return names + paths


def load_config_arg(config: str | os.PathLike[str] | None) -> Any:
    """``--config FILE`` -> a validated config, or ``None`` when not given.

    Exit 2 when the file cannot be read, 1 (every problem printed, located) when it is not a valid config.
    """
    if config is None:
        return None
    from trace_engine.errors import TraceConfigError
    from trace_engine.gate.config import load_config

    path = Path(config)
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "no such file"
        raise fail(f"cannot read config {config}: {reason}", ExitCode.USAGE)
    try:
        return load_config(path)
    except TraceConfigError as exc:
        code = ExitCode.USAGE if any(d.code == "TC001" for d in exc.diagnostics) else ExitCode.PROBLEMS
        raise fail("invalid config\n" + exc.render(), code) from None
