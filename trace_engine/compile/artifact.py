"""``trace build`` artifacts: a compiled pack set on disk that loads without parsing or compiling.

Layout: the magic line ``TRACE-ARTIFACT 1``, one JSON header line (etag, engine version, packs), then a pickle of
the :class:`CompiledPackSet`. The header is checked before unpickling: an artifact from another engine version is
refused with a clear error, since its tables may not mean the same thing. Only load artifacts you built (pickle
executes code); ``trace build`` output is as trusted as the packs it was built from.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from trace_engine.compile.program import CompiledPackSet
from trace_engine.errors import Diagnostic, Location, TraceCompileError
from trace_engine.version import ENGINE_VERSION

MAGIC = b"TRACE-ARTIFACT 1\n"


def write_artifact(program: CompiledPackSet, path: str | Path) -> dict[str, object]:
    """Write ``program`` to ``path`` atomically; returns the header."""
    header = {"etag": program.etag, "engine_version": program.engine_version, "packs": program.packs_enforced()}
    payload = pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL)
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC)
        fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        fh.write(payload)
    tmp.replace(target)
    return header


def read_header(path: str | Path) -> dict[str, object]:
    with open(path, "rb") as fh:
        if fh.readline() != MAGIC:
            raise _error(path, "TA001", "not a Trace artifact (bad magic line)")
        try:
            return json.loads(fh.readline())
        except json.JSONDecodeError:
            raise _error(path, "TA002", "artifact header is corrupt") from None


def read_artifact(path: str | Path) -> CompiledPackSet:
    """Load a compiled pack set; raises :class:`TraceCompileError` for a foreign or damaged file."""
    with open(path, "rb") as fh:
        if fh.readline() != MAGIC:
            raise _error(path, "TA001", "not a Trace artifact (bad magic line)")
        try:
            header = json.loads(fh.readline())
        except json.JSONDecodeError:
            raise _error(path, "TA002", "artifact header is corrupt") from None
        if header.get("engine_version") != ENGINE_VERSION:
            raise _error(
                path,
                "TA003",
                f"artifact was built by engine {header.get('engine_version')}, this is {ENGINE_VERSION}",
                hint="rebuild it with `trace build`",
            )
        try:
            program = pickle.load(fh)
        except Exception:  # noqa: BLE001 - any unpickling failure means a damaged file
            raise _error(path, "TA002", "artifact payload is corrupt") from None
    if not isinstance(program, CompiledPackSet) or program.etag != header.get("etag"):
        raise _error(path, "TA002", "artifact payload does not match its header")
    return program


def _error(path: str | Path, code: str, message: str, hint: str | None = None) -> TraceCompileError:
    return TraceCompileError([Diagnostic(code, message, Location(str(path), 1, 1), hint=hint)])
