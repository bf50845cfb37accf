"""Read the call transcripts Trace re-scores, as users have them, and refuse what cannot be trusted.

Accepted inputs (a file, a directory of them, or ``-`` for stdin):

* an Omni call transcript: ``{"object": "omni.call.transcript", "call_id", "transcript"}`` where ``transcript`` is
  ``{"turns": [{"role", "text", "start_ms", "end_ms"}]}`` or, for legacy sessions, a plain string;
* an Omni call record: ``{"object": "omni.call", "call_id", "status", "started_at", "transcript", ...}``;
* a JSON array of either, ``{"object": "list", "data": [...]}``, or JSONL with one per line;
* a ``.calls`` pack-test file (each call becomes a transcript).

Turns. Roles ``assistant``/``agent``/``ai``/``bot`` are the agent and ``user``/``caller``/``customer``/``human``
the caller; both are scored. ``system``/``developer`` and ``tool``/``function`` turns are kept on the timeline
(PII redacted) and never scored: they are not speech. Any other role makes the record malformed (an unknown
role could be the agent under another name, and skipping it could hide a violation). A turn's text is ``text``
(or ``content``); a tool turn whose ``content`` is not a string is kept as compact JSON. Optional per-turn
timeline fields (``ttfb_ms``, ``endpointing_ms``, ``barge``, ``tool_calls``) are carried through.

Plain-string transcripts (the speaker rule). A line that starts with a known role label (``Agent:``,
``Caller:``, ``User:``, ``System:``...) opens a turn of that role and unlabeled lines continue it. A line with a
diarization label (``Speaker 1:``, ``SPEAKER_00:``, ``spk_0:``) opens a turn whose speaker is unknown, and so does
each unlabeled line before the first label (all lines, when there are no labels). A turn whose speaker is unknown
is scored as an agent turn (nothing an agent must not say escapes), and the call is marked ``speakers: unknown``:
re-scoring then lists the rules that depend on what the caller says as not evaluated and never gives a PASS
(see :mod:`trace_engine.rescore`).

Calls that are not scored. A failed call (``status: failed``, or ``transcript: null``) has nothing to judge: it
comes back as :class:`NotScored` with its reason, not as an error. ``started_at`` (unix ms, or an ISO 8601 time
with a zone) is the call's start; absent, the call time is unknown.

Validation happens here, before anything is scored or written. A record is malformed, and comes back as a
:class:`TranscriptError` naming the file, line and reason, when it is not valid JSON (``NaN``/``Infinity``,
duplicate keys, nesting deeper than the JSON parser allows), when its bytes are not UTF-8, or when a field the
engine uses has the wrong type or a value the evidence log cannot represent: a lone surrogate in a string, a
number that is not finite or is an integer beyond 2^53 (I-JSON, RFC 7493), metadata nested deeper than
:data:`MAX_DEPTH`, an ``agent_id`` that is not a string.

Each transcript carries ``content_hash``: SHA-256 over the canonical JSON of what the engine sees (turns, metadata,
agent, call start, speaker rule). Re-scoring a call whose content changed supersedes its old scorecard.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AGENT_ROLES = frozenset({"assistant", "agent", "ai", "bot"})
CALLER_ROLES = frozenset({"user", "caller", "customer", "human"})
SYSTEM_ROLES = frozenset({"system", "developer"})
TOOL_ROLES = frozenset({"tool", "function"})
#: role names as given -> the role a turn gets (``unknown`` comes only from the plain-string speaker rule)
ROLES: dict[str, str] = {
    **dict.fromkeys(AGENT_ROLES, "agent"),
    **dict.fromkeys(CALLER_ROLES, "caller"),
    **dict.fromkeys(SYSTEM_ROLES, "system"),
    **dict.fromkeys(TOOL_ROLES, "tool"),
}
SCORED_ROLES = frozenset({"agent", "caller", "unknown"})
TIMELINE_FIELDS = ("ttfb_ms", "endpointing_ms", "barge", "tool_calls")
_TIMELINE_KEYS = frozenset(TIMELINE_FIELDS)
#: deepest nesting accepted inside ``metadata`` and tool-call arguments
MAX_DEPTH = 32
MAX_ID_CHARS = 512
_SAFE_INT = 2**53
_LABEL = re.compile(r"^\s*([A-Za-z]+(?:[ _-]?\d+)?)\s*:\s?(.*)$")
_DIARIZED = re.compile(r"(?:speaker|spk|spkr)[ _-]?\d+", re.IGNORECASE)
_ESCAPED_BYTE = re.compile(r"[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8


class TranscriptError(ValueError):
    """A record that cannot be read as a transcript. ``str()`` is ``file:line: message``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")

    def __reduce__(self) -> tuple[type[TranscriptError], tuple[str, int, str]]:  # re-scoring workers send it back
        return (TranscriptError, (self.file, self.line, self.message))


@dataclass(slots=True)
class Transcript:
    """One call to replay.

    Fields:
        call_id: the call's id.
        turns: ``(role, text, t_seconds | None)``; role ``agent``, ``caller``, ``unknown`` (scored as the agent),
            ``system`` or ``tool`` (kept on the timeline, not scored).
        metadata: call metadata for the packs (direction, local_time...).
        variables: config variables for rule text (pack tests only).
        agent_id: from the record (``agent_id`` or ``session_label``), if any.
        extras: per-turn timeline fields, aligned with ``turns`` (``None`` where absent).
        source: ``file:line`` the record came from.
        started_at: when the call started, unix ms (``None``: unknown).
        speakers: ``labeled``, or ``unknown`` when some turn's speaker could not be told (plain-string rule).
        content_hash: hex SHA-256 of the content (see :func:`content_hash`).
    """

    call_id: str
    turns: list[tuple[str, str, float | None]]
    metadata: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    agent_id: str | None = None
    extras: list[dict[str, Any] | None] = field(default_factory=list)
    source: str = ""
    started_at: int | None = None
    speakers: str = "labeled"
    content_hash: str = ""


@dataclass(slots=True)
class NotScored:
    """A well-formed record of a call that has nothing to score (it failed before any speech).

    Fields:
        call_id: the call's id.
        reason: why, in words (``call failed: no answer``).
        source: ``file:line`` the record came from.
    """

    call_id: str
    reason: str
    source: str


Record = Transcript | NotScored | TranscriptError


def content_hash(t: Transcript) -> str:
    """Hex SHA-256 of the transcript's content: what the engine is given for the call (turns with roles and
    times, timeline extras, metadata, agent, call start, speaker rule) as compact JSON with sorted keys in UTF-8.
    The call id and the file it came from are not content. Fields are validated first, so every number is
    finite and within 2^53 and the bytes are the same on every run."""
    body = {
        "v": 1,
        "turns": t.turns,
        "extras": t.extras if any(t.extras) else None,
        "metadata": t.metadata,
        "variables": t.variables or None,
        "agent_id": t.agent_id,
        "started_at": t.started_at,
        "speakers": t.speakers,
    }
    return hashlib.sha256(_compact(body).encode("utf-8")).hexdigest()


_compact = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


# --------------------------------------------------------------------------------------------- fields


class _Bad(ValueError):
    """A field with the wrong type or value; turned into a :class:`TranscriptError` with the record's place."""


def _number(value: Any, where: str, *, minimum: float | None = None) -> int | float:
    if type(value) is int:
        if not -_SAFE_INT <= value <= _SAFE_INT:
            raise _Bad(f"{where}: integer {value} is beyond 2^53 (not representable in the evidence log)")
    elif type(value) is float:
        if not math.isfinite(value):
            raise _Bad(f"{where}: number is not finite")
    else:
        raise _Bad(f"{where}: expected a number, got {_type_name(value)}")
    if minimum is not None and value < minimum:
        raise _Bad(f"{where}: must be >= {minimum:g}, got {value}")
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def _check_json(value: Any, where: str) -> None:
    """Depth, finite numbers and the I-JSON integer range, iteratively (no recursion on hostile input)."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        v, path, depth = stack.pop()
        t = type(v)
        if t is dict or t is list:
            if depth >= MAX_DEPTH:
                raise _Bad(f"{where}: nested deeper than {MAX_DEPTH} levels")
            items = v.items() if t is dict else enumerate(v)
            stack.extend((x, f"{path}.{k}" if t is dict else f"{path}[{k}]", depth + 1) for k, x in items)
        elif t is int or t is float:
            _number(v, path)
        elif not (t is str or v is None or t is bool):
            raise _Bad(f"{path}: not a JSON value")


def _string_id(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        raise _Bad(f"{where} must be a string, got {_type_name(value)}")
    if not value.strip():
        raise _Bad(f"{where} is empty")
    if len(value) > MAX_ID_CHARS:
        raise _Bad(f"{where} is longer than {MAX_ID_CHARS} characters")
    return value


def _started_at(value: Any) -> int | None:
    """Unix milliseconds from an integer (the call record's form) or an ISO 8601 time with a zone."""
    if value is None:
        return None
    if type(value) is int:
        if not 0 <= value <= _SAFE_INT:
            raise _Bad(f"started_at: {value} is not a unix time in milliseconds")
        return value
    if type(value) is str:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise _Bad(f"started_at: {value!r} is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise _Bad(f"started_at: {value!r} has no time zone (add Z or an offset)")
        return int(moment.timestamp() * 1000)
    raise _Bad(f"started_at must be unix milliseconds or an ISO 8601 string, got {_type_name(value)}")


def _extras(turn: dict[str, Any], where: str) -> dict[str, Any] | None:
    extra: dict[str, Any] = {}
    for key in ("ttfb_ms", "endpointing_ms"):
        if turn.get(key) is not None:
            extra[key] = _number(turn[key], f"{where}.{key}")
    barge = turn.get("barge")
    if barge is not None:
        if type(barge) is not dict:
            raise _Bad(f"{where}.barge must be an object")
        if barge.get("detect_ms") is not None:
            _number(barge["detect_ms"], f"{where}.barge.detect_ms")
        if barge.get("recovered") is not None and type(barge["recovered"]) is not bool:
            raise _Bad(f"{where}.barge.recovered must be a boolean")
        _check_json(barge, f"{where}.barge")
        extra["barge"] = barge
    calls = turn.get("tool_calls")
    if calls is not None:
        if type(calls) is not list or any(type(c) is not dict for c in calls):
            raise _Bad(f"{where}.tool_calls must be an array of objects")
        for i, c in enumerate(calls):
            if c.get("name") is not None and type(c["name"]) is not str:
                raise _Bad(f"{where}.tool_calls[{i}].name must be a string")
            if c.get("t_ms") is not None:
                _number(c["t_ms"], f"{where}.tool_calls[{i}].t_ms")
        _check_json(calls, f"{where}.tool_calls")
        extra["tool_calls"] = calls
    return extra or None


def _turn_text(turn: dict[str, Any], role: str, where: str) -> str:
    text = turn.get("text")
    if text is None:
        text = turn.get("content")
    if type(text) is str:
        return text
    if role in ("system", "tool"):
        if text is None:
            text = turn.get("result", turn.get("output"))
        if text is None:
            return ""
        _check_json(text, f"{where}.content")
        return json.dumps(text, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    raise _Bad(f"{where}: expected a text string, got {_type_name(text)}")


def _structured_turns(doc: dict[str, Any]) -> tuple[list[tuple[str, str, float | None]], list[dict[str, Any] | None]]:
    raw_turns = doc.get("turns")
    if type(raw_turns) is not list:
        raise _Bad("transcript must be an object with a turns array, or a string")
    turns: list[tuple[str, str, float | None]] = []
    extras: list[dict[str, Any] | None] = []
    roles = ROLES
    for i, turn in enumerate(raw_turns):
        if type(turn) is not dict:
            raise _Bad(f"turn {i}: expected an object")
        given = turn.get("role")
        role = roles.get(given) if type(given) is str else None
        if role is None:
            role = _role(turn, i)
        text = turn.get("text")
        if type(text) is not str:
            text = _turn_text(turn, role, f"turn {i}")
        start = turn.get("start_ms")
        if start is not None and (type(start) is not int or not 0 <= start <= _SAFE_INT):
            start = _number(start, f"turn {i}.start_ms", minimum=0)
        end = turn.get("end_ms")
        if end is not None and (type(end) is not int or not 0 <= end <= _SAFE_INT):
            _number(end, f"turn {i}.end_ms", minimum=0)
        turns.append((role, text, start / 1000.0 if start is not None else None))
        extras.append(_extras(turn, f"turn {i}") if _TIMELINE_KEYS.intersection(turn) else None)
    return turns, extras


def _role(turn: dict[str, Any], i: int) -> str:
    given = turn.get("role", turn.get("speaker"))
    role = ROLES.get(given.strip().lower()) if type(given) is str else None
    if role is None:
        raise _Bad(f"turn {i}: unknown role {given!r} (expected user/assistant, caller/agent, system or tool)")
    return role


def plain_turns(text: str) -> tuple[list[tuple[str, str, float | None]], str]:
    """A plain-string transcript -> ``(turns, speakers)`` by the speaker rule in the module docstring."""
    turns: list[tuple[str, str, float | None]] = []
    labeled_turn = False  # whether the open turn was opened by a label (unlabeled lines then continue it)
    unknown = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _LABEL.match(line)
        role = None
        if m:
            label = m.group(1).lower()
            role = ROLES.get(label) or ("unknown" if _DIARIZED.fullmatch(label) else None)
        if role is not None:
            turns.append((role, m.group(2).strip(), None))  # type: ignore[union-attr]
            labeled_turn = True
            unknown = unknown or role == "unknown"
        elif labeled_turn:
            prev_role, prev_text, t = turns[-1]
            turns[-1] = (prev_role, f"{prev_text} {line}" if prev_text else line, t)
        else:
            turns.append(("unknown", line, None))
            unknown = True
    return turns, "unknown" if unknown else "labeled"


def _failure(record: dict[str, Any]) -> str | None:
    """Why a record without a transcript has nothing to score, or ``None`` when it should have had one."""
    status = record.get("status")
    error = record.get("error")
    if status == "failed" or (status is None and error is not None):
        detail = f": {error}" if type(error) is str and error.strip() else ""
        return f"call failed{detail}"
    if "transcript" in record and record["transcript"] is None and not record.get("transcript_url"):
        return "no transcript (nothing was transcribed)"
    return None


def parse_record(record: Any, file: str = "<input>", line: int = 1) -> Transcript | NotScored:
    """One JSON value -> :class:`Transcript` (or :class:`NotScored`); raises :class:`TranscriptError`."""
    try:
        return _parse(record, f"{file}:{line}")
    except _Bad as exc:
        raise TranscriptError(file, line, str(exc)) from None
    except RecursionError:
        raise TranscriptError(file, line, "nested too deeply") from None


def _parse(record: Any, source: str) -> Transcript | NotScored:
    if type(record) is not dict:
        raise _Bad(f"expected a JSON object, got {_type_name(record)}")
    call_id = record.get("call_id")
    if call_id is None:
        call_id = record.get("id")
    if call_id is None:
        raise _Bad("missing call_id")
    call_id = _string_id(call_id, "call_id")
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    if type(metadata) is not dict:
        raise _Bad(f"metadata must be an object, got {_type_name(metadata)}")
    _check_json(metadata, "metadata")
    agent_id = record.get("agent_id")
    if agent_id is None:
        agent_id = record.get("session_label")
    if agent_id is None:
        agent_id = metadata.get("agent_id")
    agent_id = _string_id(agent_id, "agent_id")
    started_at = _started_at(record.get("started_at"))
    doc = record.get("transcript")
    if doc is None:
        reason = _failure(record)
        if reason is not None:
            return NotScored(call_id, reason, source)  # type: ignore[arg-type]
        if record.get("transcript_url"):
            raise _Bad("the transcript is offloaded to transcript_url: download it and put it inline first")
        raise _Bad("missing transcript")
    speakers = "labeled"
    if type(doc) is str:
        turns, speakers = plain_turns(doc)
        extras: list[dict[str, Any] | None] = [None] * len(turns)
    elif type(doc) is dict:
        turns, extras = _structured_turns(doc)
    else:
        raise _Bad(f"transcript must be an object with a turns array, or a string, got {_type_name(doc)}")
    t = Transcript(call_id, turns, metadata, {}, agent_id, extras, source, started_at, speakers)  # type: ignore[arg-type]
    t.content_hash = _hash_checked(t)
    return t


def _hash_checked(t: Transcript) -> str:
    try:
        return content_hash(t)
    except (UnicodeEncodeError, ValueError, TypeError):
        raise _Bad(_unrepresentable(t)) from None


def _unrepresentable(t: Transcript) -> str:
    """Name the first string the log could not store (only runs on the error path)."""

    def bad(s: str) -> bool:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    candidates: list[tuple[str, Any]] = [("call_id", t.call_id), ("agent_id", t.agent_id)]
    candidates += [(f"turn {i} text", text) for i, (_, text, _) in enumerate(t.turns)]
    candidates += [(f"turn {i}", e) for i, e in enumerate(t.extras) if e]
    candidates.append(("metadata", t.metadata))
    for where, value in candidates:
        stack = [value]
        while stack:
            v = stack.pop()
            if type(v) is str and bad(v):
                return f"{where}: invalid UTF-8 or a lone surrogate (\\ud800-\\udfff) in a string"
            if type(v) is dict:
                stack.extend(v.keys())
                stack.extend(v.values())
            elif type(v) is list:
                stack.extend(v)
    return "the record cannot be represented as canonical JSON"


# --------------------------------------------------------------------------------------------- reading


class _Decoder:
    """Strict JSON: ``NaN``/``Infinity`` and duplicate keys are noted as problems of the value being read (the
    parser carries on, so one bad item in an array does not lose the others)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._decoder = json.JSONDecoder(parse_constant=self._constant, object_pairs_hook=self._object)
        self.raw_decode = self._decoder.raw_decode

    def _constant(self, name: str) -> None:
        self.problems.append(f"{name} is not valid JSON")

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    self.problems.append(f"duplicate key {k!r} in an object")
                    break
                seen.add(k)
        return d

    def loads(self, text: str) -> Any:
        self.problems.clear()
        value, end = self.raw_decode(text, _skip_ws(text, 0))
        if _skip_ws(text, end) != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
        return value


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    return f"invalid JSON: {exc}"


def _record(decoder: _Decoder, value: Any, file: str, line: int) -> Record:
    if decoder.problems:
        return TranscriptError(file, line, f"invalid JSON: {decoder.problems[0]}")
    try:
        return parse_record(value, file, line)
    except TranscriptError as exc:
        return exc


def _parse_line(decoder: _Decoder, raw: bytes, file: str, lineno: int) -> Record:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return TranscriptError(file, lineno, f"invalid UTF-8 at byte {exc.start + 1} of the line")
    if lineno == 1 and text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = decoder.loads(text)
    except (ValueError, RecursionError) as exc:
        return TranscriptError(file, lineno, _json_error(exc))
    return _record(decoder, value, file, lineno)


def iter_records(path: str) -> Iterator[Record]:
    """Every record in ``path`` (file, directory or ``-``), as transcripts, not-scored calls or errors, in
    order. Raises ``OSError`` only when ``path`` itself cannot be opened."""
    if path == "-":
        yield from _iter_document(sys.stdin.buffer.read(), "<stdin>")
        return
    if os.path.isdir(path):
        for name in record_files(path):
            yield from iter_records(name)
        return
    if path.endswith(".calls"):
        yield from _iter_calls(path)
        return
    with open(path, "rb") as fh:
        if path.endswith(".jsonl"):
            decoder = _Decoder()
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    yield _parse_line(decoder, raw, path, lineno)
            return
        data = fh.read()
    yield from _iter_document(data, path)


def record_files(directory: str) -> Iterator[str]:
    """The files of ``directory`` (and its subdirectories, hidden ones left out) that hold records
    (``.json``, ``.jsonl``, ``.calls``), in the order :func:`iter_records` reads them."""
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".json", ".jsonl", ".calls")):
                yield os.path.join(root, name)


_LINE_DECODER: _Decoder | None = None


def iter_lines(data: bytes, file: str, first_line: int = 1) -> Iterator[Record]:
    """The records of ``data``, consecutive whole lines of the ``.jsonl`` file ``file`` starting at line
    ``first_line``: exactly what :func:`iter_records` gives for those lines (re-scoring workers parse the byte
    ranges the reader hands them this way)."""
    global _LINE_DECODER
    if _LINE_DECODER is None:
        _LINE_DECODER = _Decoder()
    decoder = _LINE_DECODER
    for lineno, raw in enumerate(io.BytesIO(data), start=first_line):  # split as a file is: at b"\n" only
        if raw.strip():
            yield _parse_line(decoder, raw, file, lineno)


def _iter_document(data: bytes, file: str) -> Iterator[Record]:
    """A JSON document (one record, an array, or a list object), or JSONL when it is not one document."""
    try:
        text = data.decode("utf-8")
        bad_bytes = False
    except UnicodeDecodeError:
        text, bad_bytes = data.decode("utf-8", errors="surrogateescape"), True
    if text.startswith("\ufeff"):
        text = text[1:]
    decoder = _Decoder()
    start = _skip_ws(text, 0)
    if text.startswith("[", start):
        yield from _iter_array(decoder, text, start, file, bad_bytes)
        return
    try:
        value = decoder.loads(text)
    except (ValueError, RecursionError):
        # not one JSON document: read it as JSONL
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            if raw.strip():
                yield _parse_line(decoder, raw, file, lineno)
        return
    if bad_bytes:
        yield TranscriptError(file, _line_of(text, _ESCAPED_BYTE.search(text).start()), "invalid UTF-8")  # type: ignore[union-attr]
        return
    if type(value) is dict and value.get("object") == "list" and type(value.get("data")) is list:
        if decoder.problems:
            yield TranscriptError(file, 1, f"invalid JSON: {decoder.problems[0]}")
            return
        for item in value["data"]:
            yield _record(decoder, item, file, 1)
        return
    yield _record(decoder, value, file, _line_of(text, start))


def _iter_array(decoder: _Decoder, text: str, start: int, file: str, bad_bytes: bool) -> Iterator[Record]:
    """Items of a top-level array one by one, each with its own line number; a syntax error stops the file."""
    pos = _skip_ws(text, start + 1)
    line, counted = 1, 0
    index = 0
    if text.startswith("]", pos):
        return
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        decoder.problems.clear()
        try:
            value, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            yield TranscriptError(file, line, f"item {index}: {_json_error(exc)}; the rest of the file was not read")
            return
        if bad_bytes and _ESCAPED_BYTE.search(text, pos, end):
            yield TranscriptError(file, line, f"item {index}: invalid UTF-8")
        else:
            yield _record(decoder, value, file, line)
        index += 1
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
            continue
        if text.startswith("]", pos) and _skip_ws(text, pos + 1) == len(text):
            return
        line += text.count("\n", counted, pos)
        yield TranscriptError(file, line, "invalid JSON: expected ',' or ']' after an array item; the rest of the file was not read")
        return


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _iter_calls(path: str) -> Iterator[Record]:
    from trace_engine.errors import TraceError
    from trace_engine.packtest import load_calls

    try:
        calls = load_calls(path)
    except TraceError as exc:
        d = exc.diagnostics[0]
        yield TranscriptError(path, d.location.line, d.message)
        return
    for call in calls:
        # `facts:` lines are for the pack-test runner (Call.update_facts); a transcript has turns only
        turns = [(turn.role, turn.text, turn.t) for turn in call.turns if turn.role != "facts"]
        t = Transcript(call.name, turns, dict(call.metadata), dict(call.variables), None, [None] * len(turns), f"{path}:{call.line}")
        try:
            t.content_hash = _hash_checked(t)
        except _Bad as exc:
            yield TranscriptError(path, call.line, str(exc))
            continue
        yield t


def load_transcripts(path: str) -> Iterator[Transcript]:
    """Like :func:`iter_records` but raises the first :class:`TranscriptError` (calls not scored are left out)."""
    for item in iter_records(path):
        if isinstance(item, TranscriptError):
            raise item
        if isinstance(item, Transcript):
            yield item
