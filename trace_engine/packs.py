"""Where packs come from: the built-in packs and any extra directories a config names.

The built-in packs live in the package data directory ``trace_engine/builtin_packs`` (the repository's top-level
``rule_packs`` is a symlink to it, where authors edit and test them), so they are found the same way from a source
checkout, an editable install and an installed wheel; ``TRACE_PACKS_DIR`` overrides that.

A pack is found by its ``pack_id`` (not its file name) and, optionally, its version. Loading is cached by file
path and modification time, so many engines built from the same packs parse each file once per process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from trace_engine import ir
from trace_engine.errors import Diagnostic, Location, TraceConfigError, TraceError


def _builtin_dir() -> Path:
    override = os.environ.get("TRACE_PACKS_DIR")
    if override:
        return Path(override)
    return Path(str(resources.files("trace_engine") / "builtin_packs"))


#: Where the built-in packs (and their ``.calls`` tests) are.
BUILTIN_DIR = _builtin_dir()
#: Every built-in pack, by pack id (``debt_collection`` is an example pack under ``examples/``).
BUILTIN_PACK_IDS: tuple[str, ...] = ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")
#: What the CLI enforces when no config names packs (``rescore``, ``explain``, ``bench``).
DEFAULT_PACK_IDS: tuple[str, ...] = ("tcpa", "hipaa", "pii", "brand_voice")
PACK_SUFFIXES = (".trace", ".json")


def builtin_pack_path(name: str) -> Path | None:
    """The file of built-in pack ``name`` (``tcpa`` -> ``.../tcpa.trace``), or ``None``."""
    if name not in BUILTIN_PACK_IDS:
        return None
    for suffix in PACK_SUFFIXES:
        for path in sorted(BUILTIN_DIR.rglob(name + suffix)):
            if path.is_file() and "fixtures" not in path.parts:
                return path
    return None


@dataclass(frozen=True, slots=True)
class PackFile:
    """A pack on disk: its IR and where it came from."""

    pack: ir.Pack
    path: Path
    builtin: bool


_CACHE: dict[tuple[str, int], ir.Pack] = {}


def load_pack_file(path: str | Path) -> ir.Pack:
    """Load one pack file (either form), cached by path and mtime."""
    from trace_engine.dsl import load_pack

    p = Path(path)
    key = (str(p.resolve()), p.stat().st_mtime_ns)
    pack = _CACHE.get(key)
    if pack is None:
        pack, _ = load_pack(str(p))
        _CACHE[key] = pack
    return pack


def pack_files(directories: list[str | Path] | None = None) -> list[Path]:
    """Every pack file under the built-in directory and ``directories`` (recursively), sorted."""
    roots = [BUILTIN_DIR, *(Path(d) for d in directories or ())]
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(
                sorted(p for p in root.rglob("*") if p.suffix in PACK_SUFFIXES and p.is_file() and "fixtures" not in p.parts)
            )
    return found


def available_packs(directories: list[str | Path] | None = None) -> dict[str, list[PackFile]]:
    """pack_id -> loaded versions, from every pack file found. Files that fail to load are skipped here;
    ``trace check`` is where their errors are shown."""
    out: dict[str, list[PackFile]] = {}
    builtin_root = BUILTIN_DIR.resolve()
    for path in pack_files(directories):
        try:
            pack = load_pack_file(path)
        except (TraceError, OSError):
            continue
        builtin = builtin_root in path.resolve().parents
        out.setdefault(pack.pack_id, []).append(PackFile(pack, path, builtin))
    return out


def resolve_pack(
    pack_id: str,
    version: str | None,
    directories: list[str | Path] | None = None,
    *,
    location: Location | None = None,
) -> ir.Pack:
    """The pack ``pack_id`` at ``version`` (or the latest found). Raises :class:`TraceConfigError` (code TC010,
    at ``location``: where the config names the pack) when there is no such pack."""
    candidates = available_packs(directories).get(pack_id, [])
    if version is not None:
        candidates = [c for c in candidates if c.pack.version == version]
    if not candidates:
        wanted = f"{pack_id}@{version}" if version else pack_id
        known = ", ".join(sorted(available_packs(directories))) or "none"
        raise TraceConfigError(
            [
                Diagnostic(
                    "TC010",
                    f"no rule pack {wanted!r} is available",
                    location or Location("<config>", 0, 0, pointer=f"/rule_packs/{pack_id}"),
                    hint=f"known packs: {known}",
                )
            ]
        )
    return max(candidates, key=lambda c: _version_key(c.pack.version)).pack


def _version_key(version: str) -> tuple:
    parts = []
    for piece in version.replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)
