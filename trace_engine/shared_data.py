"""Where the data shared by the project's tests and benchmarks lives (corpora, conformance sets, the product seeds):
``../shared`` beside the repository, or the directory ``TRACE_SHARED_DIR`` names. None of it ships in the package;
an installed wheel has no such directory, and what reads it skips or falls back when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the repository's root (the package's parent directory in a checkout)
REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared data directory: ``TRACE_SHARED_DIR`` when set, else ``shared/`` beside the repository."""
    env = os.environ.get("TRACE_SHARED_DIR")
    return Path(env) if env else REPO.parent / "shared"


def shared_corpus(name: str) -> Path:
    """The shared corpus file ``name`` (``sgd_calls.jsonl``, ``taskmaster_calls.jsonl``, ...)."""
    return shared_dir() / "corpora" / name
