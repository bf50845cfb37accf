"""Read the call transcripts Trace re-scores.

Accepted inputs (a file, a directory of them, or ``-`` for stdin):

* an Omni call transcript: ``{"object": "omni.call.transcript", "call_id", "transcript"}`` where ``transcript`` is
  ``{"turns": [{"role", "text", "start_ms", "end_ms"}]}`` or, for legacy sessions, a plain string;
* an Omni call record with an inline transcript: ``{"object": "omni.call", "call_id", "transcript", ...}``;
* a JSON array of either, or JSONL with one per line;
* a ``.calls`` pack-test file (each call becomes a transcript).

Roles ``user``/``caller``/``customer`` are the caller and ``assistant``/``agent``/``ai``/``bot`` the agent. A legacy
string transcript needs speaker labels (``Agent: …`` / ``Caller: …`` lines). Call metadata comes from the
record's ``metadata`` object. Optional per-turn timeline fields (``ttfb_ms``, ``endpointing_ms``, ``barge``,
``tool_calls``) are carried through.

A malformed record raises :class:`TranscriptError` naming the file and line; :func:`iter_records` yields them
as values instead, so a re-scoring run can report and skip them and carry on.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

AGENT_ROLES = frozenset({"assistant", "agent", "ai", "bot"})
CALLER_ROLES = frozenset({"user", "caller", "customer", "human"})
TIMELINE_FIELDS = ("ttfb_ms", "endpointing_ms", "barge", "tool_calls")
_LABEL = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*)$")


class TranscriptError(ValueError):
    """A record that cannot be read as a transcript. ``str()`` is ``file:line: message``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")


@dataclass(slots=True)
class Transcript:
    """One call to replay.

    Fields:
        call_id: the call's id.
        turns: ``(role, text, t_seconds | None)`` with role ``agent`` or ``caller``.
        metadata: call metadata for the packs (direction, local_time...).
        variables: config variables for rule text (pack tests only).
        agent_id: from the record (``agent_id`` or ``session_label``), if any.
        extras: per-turn timeline fields, aligned with ``turns`` (``None`` where absent).
        source: ``file:line`` the record came from.
    """

    call_id: str
    turns: list[tuple[str, str, float | None]]
    metadata: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    agent_id: str | None = None
    extras: list[dict[str, Any] | None] = field(default_factory=list)
    source: str = ""


def _role(value: Any, file: str, line: int) -> str:
    role = str(value or "").strip().lower()
    if role in AGENT_ROLES:
        return "agent"
    if role in CALLER_ROLES:
        return "caller"
    raise TranscriptError(file, line, f"unknown role {value!r} (expected user/assistant or caller/agent)")


def _legacy_turns(text: str, file: str, line: int) -> list[tuple[str, str, float | None]]:
    turns: list[tuple[str, str, float | None]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        m = _LABEL.match(raw)
        role = None
        if m:
            label = m.group(1).lower()
            role = "agent" if label in AGENT_ROLES else "caller" if label in CALLER_ROLES else None
        if role is not None:
            turns.append((role, m.group(2).strip(), None))
        elif turns:
            prev_role, prev_text, t = turns[-1]
            turns[-1] = (prev_role, f"{prev_text} {raw.strip()}", t)
        else:
            raise TranscriptError(file, line, "legacy transcript has no speaker labels (expected 'Agent:' / 'Caller:')")
    return turns


def parse_record(record: Any, file: str = "<input>", line: int = 1) -> Transcript:
    """One JSON value -> :class:`Transcript`."""
    if not isinstance(record, dict):
        raise TranscriptError(file, line, "expected a JSON object")
    call_id = record.get("call_id") or record.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise TranscriptError(file, line, "missing call_id")
    doc = record.get("transcript")
    if doc is None:
        raise TranscriptError(file, line, "no inline transcript (transcript_url is not fetched; download it first)")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TranscriptError(file, line, "metadata must be an object")
    extras: list[dict[str, Any] | None] = []
    if isinstance(doc, str):
        turns = _legacy_turns(doc, file, line)
        extras = [None] * len(turns)
    elif isinstance(doc, dict) and isinstance(doc.get("turns"), list):
        turns = []
        for i, turn in enumerate(doc["turns"]):
            if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
                raise TranscriptError(file, line, f"turn {i}: expected an object with a text string")
            start = turn.get("start_ms")
            if start is not None and not isinstance(start, (int, float)):
                raise TranscriptError(file, line, f"turn {i}: start_ms must be a number")
            turns.append((_role(turn.get("role"), file, line), turn["text"], start / 1000.0 if start is not None else None))
            extra = {k: turn[k] for k in TIMELINE_FIELDS if turn.get(k) is not None}
            extras.append(extra or None)
    else:
        raise TranscriptError(file, line, "transcript must be an object with a turns array, or a string")
    agent_id = record.get("agent_id") or record.get("session_label") or metadata.get("agent_id")
    return Transcript(call_id, turns, dict(metadata), {}, agent_id, extras, f"{file}:{line}")


def iter_records(path: str) -> Iterator[Transcript | TranscriptError]:
    """Every record in ``path`` (file, directory or ``-``), as transcripts or errors, in order."""
    if path == "-":
        yield from _iter_text(sys.stdin.read(), "<stdin>")
        return
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".json", ".jsonl", ".calls")):
                    yield from iter_records(os.path.join(root, name))
        return
    if path.endswith(".calls"):
        yield from _iter_calls(path)
        return
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        if path.endswith(".jsonl"):
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    yield _parse_line(raw, path, lineno)
            return
        text = fh.read()
    yield from _iter_text(text, path)


def _parse_line(raw: str, file: str, lineno: int) -> Transcript | TranscriptError:
    try:
        return parse_record(json.loads(raw), file, lineno)
    except json.JSONDecodeError as exc:
        return TranscriptError(file, lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
    except TranscriptError as exc:
        return exc


def _iter_text(text: str, file: str) -> Iterator[Transcript | TranscriptError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # not one JSON document: read it as JSONL
        for lineno, raw in enumerate(text.splitlines(), start=1):
            if raw.strip():
                yield _parse_line(raw, file, lineno)
        return
    items = data if isinstance(data, list) else [data]
    for item in items:
        try:
            yield parse_record(item, file, 1)
        except TranscriptError as exc:
            yield exc


def _iter_calls(path: str) -> Iterator[Transcript | TranscriptError]:
    from trace_engine.errors import TraceError
    from trace_engine.packtest import load_calls

    try:
        calls = load_calls(path)
    except TraceError as exc:
        d = exc.diagnostics[0]
        yield TranscriptError(path, d.location.line, d.message)
        return
    for call in calls:
        turns = [(turn.role, turn.text, turn.t) for turn in call.turns]
        yield Transcript(call.name, turns, dict(call.metadata), dict(call.variables), None, [None] * len(turns), f"{path}:{call.line}")


def load_transcripts(path: str) -> Iterator[Transcript]:
    """Like :func:`iter_records` but raises the first :class:`TranscriptError`."""
    for item in iter_records(path):
        if isinstance(item, TranscriptError):
            raise item
        yield item
