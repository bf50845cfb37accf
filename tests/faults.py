"""Inject faults into the gate's core by stage (``trace_engine._core._set_fault``): an error raised when a stage is
reached, or a stage made slow by moving the gate's clock. The stages are the gate's own (``normalize``, ``scan``,
``evaluate``, ``decide``, ``plan``, ``commit``, ``advance state``, ``record finding``, ``stored agent text``,
``redact for storage``, ``apply edits``, ``detectors``, ``timeline event``, ``stream release``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from trace_engine import _core


@contextlib.contextmanager
def fault(*specs: str | tuple[str, int]) -> Iterator[None]:
    """While inside, each listed stage fails; a ``(stage, ns)`` pair instead makes that stage take ``ns`` of the
    gate's clock."""
    _core._set_fault(None)
    try:
        for spec in specs:
            if isinstance(spec, tuple):
                _core._set_fault(spec[0], "slow", spec[1])
            else:
                _core._set_fault(spec, "raise")
        yield
    finally:
        _core._set_fault(None)
