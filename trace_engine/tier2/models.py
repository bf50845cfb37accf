"""Models load lazily, once per process, behind a lock (the worker thread and a caller may race)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()
#: how many times each model was actually loaded (tests assert "once per process")
LOAD_COUNTS: dict[str, int] = {}


def offline_env() -> None:
    """Belt and braces: nothing in Tier-2 may reach a model hub or a public-suffix list at run time."""
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(k, "1")


def cached(name: str, loader: Callable[[], Any]) -> Any:
    obj = _CACHE.get(name)
    if obj is not None:
        return obj
    with _LOCK:
        obj = _CACHE.get(name)
        if obj is None:
            offline_env()
            obj = loader()
            _CACHE[name] = obj
            LOAD_COUNTS[name] = LOAD_COUNTS.get(name, 0) + 1
    return obj


def calibrated(check: str):  # noqa: ANN201 - Calibrated
    """The shipped classifier of ``check`` (``data/<check>.model.json``)."""
    from trace_engine.tier2.classifier import Calibrated

    return cached("model:" + check, lambda: Calibrated.load(check, DATA_DIR / f"{check}.model.json"))


def analyzer():  # noqa: ANN201 - presidio AnalyzerEngine
    from trace_engine.tier2.checks.context_pii import build_analyzer

    return cached("presidio", build_analyzer)
