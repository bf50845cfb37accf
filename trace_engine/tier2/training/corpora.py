"""The public dialogue corpora in ``../shared/corpora`` (SGD, Taskmaster, MTS-Dialog), read by call id.

Labeled rows drawn from them are stored as references (source, call id, turn index) and materialised here, so no
corpus text is copied into the project: SGD is CC BY-SA (share-alike) and must stay out; Taskmaster and MTS-Dialog
(CC BY 4.0) could be quoted with attribution, but one rule for all three keeps the labeled files small and the
provenance exact. ``TRACE_SHARED_DIR`` overrides where ``shared/`` is.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from trace_engine.shared_data import shared_corpus

FILES = {"sgd": "sgd_calls.jsonl", "taskmaster": "taskmaster_calls.jsonl", "mts": "mts_dialog_calls.jsonl"}
ROLES = {"assistant": "agent", "user": "caller"}
Turns = list[tuple[str, str]]


def corpus_path(source: str) -> Path:
    return shared_corpus(FILES[source])


def available(source: str) -> bool:
    return corpus_path(source).is_file()


@cache
def calls(source: str) -> dict[str, Turns]:
    """``{call_id: [(role, text), ...]}`` with roles ``agent``/``caller``; raises FileNotFoundError when absent."""
    out: dict[str, Turns] = {}
    with corpus_path(source).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = json.loads(line)
            out[d["call_id"]] = [(ROLES.get(t["role"], t["role"]), t["text"]) for t in d["transcript"]["turns"]]
    return out


def window(source: str, call_id: str, turn: int, size: int) -> Turns:
    turns = calls(source)[call_id]
    return turns[max(0, turn + 1 - size) : turn + 1]
