"""Fail-open never stores raw PII (issue 11).

For any turn holding a detector-positive value (a card, an SSN, an e-mail), in every mode, failing open or closed,
spoken whole, streamed, said by the caller or returned by a tool, with an exception injected at each stage of the
gate (the exception's message carries the turn, as a careless ``raise`` would), a timeout, or a failing writer:
the value appears in no scorecard, no byte of the evidence DB, no API response and no log line.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from pathlib import Path

from faults import fault
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trace_engine import Engine
from trace_engine.text import detect_all, luhn_ok, normalize

MODES = ("warn", "modify", "block", "human_handoff")
PATTERNS = ["ssn", "credit_card", "email", "us_phone"]


#: the gate's stages (an exception injected at each, see tests/faults.py)
STAGES = (
    "normalize", "scan", "evaluate", "decide", "plan", "commit", "advance state", "record finding",
    "stored agent text", "redact for storage", "apply edits", "detectors", "timeline event", "stream release",
)
FAULTS = ("none", "timeout", "failing writer", *STAGES)


class Collect:
    def __init__(self) -> None:
        self.cards: list = []

    def submit(self, card) -> None:
        self.cards.append(card)


class Broken:
    def submit(self, card) -> None:
        raise OSError(f"disk full while writing {card.to_dict()!r}")


_ENGINES: dict[tuple, Engine] = {}


def _engine(mode: str, fail_open: bool, timeout: bool, writer) -> Engine:
    key = (mode, fail_open, timeout)
    if key not in _ENGINES:
        _ENGINES[key] = Engine.from_config(
            {
                "rule_packs": {"pii": {"enabled": True}, "tcpa": {"enabled": True}},
                "guardrails": {
                    "mode": mode,
                    "fail_open": fail_open,
                    "inline_timeout_ms": 1e-6 if timeout else 60_000,
                    "block_pii": {"patterns": PATTERNS},
                },
            }
        )
    base = _ENGINES[key]
    return Engine(base.config, base.program, writer)


@st.composite
def cards(draw) -> str:
    body = "4" + "".join(str(draw(st.integers(0, 9))) for _ in range(14))
    check = next(d for d in "0123456789" if luhn_ok(body + d))
    digits = body + check
    sep = draw(st.sampled_from([" ", "-", ""]))
    return sep.join(digits[i : i + 4] for i in range(0, 16, 4))


@st.composite
def ssns(draw) -> str:
    area = draw(st.integers(1, 665))
    group, serial = draw(st.integers(1, 99)), draw(st.integers(1, 9999))
    return f"{area:03d}-{group:02d}-{serial:04d}"


emails = st.from_regex(r"[a-z]{3,8}(\.[a-z]{2,6})?@[a-z]{3,8}\.(com|org|net)", fullmatch=True)
words = st.lists(st.sampled_from(["my", "card", "is", "the", "number", "please", "ok", "email", "ssn", "thanks"]), max_size=6)


def _forms(value: str) -> list[str]:
    """The value and, for numbers, its bare digits (a leak may reformat it)."""
    digits = re.sub(r"\D", "", value)
    return [value] + ([digits] if len(digits) >= 9 and digits != value else [])


def _run(engine: Engine, role: str, text: str, stage: str) -> list:
    collect = engine.writer if isinstance(engine.writer, Collect) else None
    patch = fault(stage) if stage in STAGES else contextlib.nullcontext()
    with patch:
        call = engine.start_call("c", metadata={"direction": "outbound", "business_name": "Acme"})
        call.agent_turn("Hi, this is Sam from Acme.", t=0.0)
        if role == "agent":
            call.agent_turn(text, t=1.0)
        elif role == "stream":
            s = call.agent_stream(t=1.0)
            half = len(text) // 2
            s.feed(text[:half])
            s.feed(text[half:])
            s.close()
        elif role == "caller":
            call.caller_turn(text, t=1.0)
        else:
            call.other_turn("tool", text, t=1.0)
        call.agent_turn("Is there anything else?", t=2.0)
        card = call.end()
    return [card] + (collect.cards if collect else [])


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_no_detector_positive_value_leaks_anywhere(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from trace_engine.api.app import create_app
    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db
    from trace_engine.store.log import EvidenceLog

    handler = _Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    stored: list = []  # every scorecard the gate produced: all go to the evidence DB below
    values: list[str] = []

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(
        value=st.one_of(cards(), ssns(), emails),
        before=words,
        after=words,
        mode=st.sampled_from(MODES),
        fail_open=st.booleans(),
        role=st.sampled_from(["agent", "stream", "caller", "tool"]),
        fault=st.sampled_from(FAULTS),
        padding=st.integers(0, 3),
    )
    def one_turn(value, before, after, mode, fail_open, role, fault, padding) -> None:
        text = " ".join([*before, value, *after]) + (" and so on" * 100 * padding)
        hits = detect_all(normalize(text), PATTERNS)
        assume(any(value in text[h.start : h.end] or text[h.start : h.end] in value for h in hits))
        writer = Broken() if fault == "failing writer" else Collect()
        engine = _engine(mode, fail_open, fault == "timeout", writer)
        cards_out = _run(engine, role, text, fault)
        for card in cards_out:
            blob = json.dumps(card.to_dict(), ensure_ascii=False)
            for form in _forms(value):
                assert form not in blob, (fault, mode, role, fail_open, form)
        stored.append(cards_out[0])
        values.append(value)

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            one_turn()
        # the evidence DB: every scorecard appended, then every byte of the file (and its WAL) searched
        db = tmp_path / "t.db"
        for i, card in enumerate(stored):
            card.call_id = f"leak-{i}"
        with EvidenceLog(db) as log:
            log.append_many(stored)
        conn = open_db(str(db))
        key = create_key(conn, "default", "trace:read")[0]
        conn.close()
        from trace_engine.api.settings import ServerSettings

        # every stored call is read back at once: the per-key rate limit (20/s by default) is off for this reader
        with TestClient(create_app(str(db), ServerSettings(rate_limit=0))) as client:
            headers = {"Authorization": f"Bearer {key}"}
            responses = [client.get("/v1/trace/interactions", params={"limit": 100}, headers=headers).text]
            responses += [client.get("/v1/trace/violations", params={"limit": 100}, headers=headers).text]
            for i in range(len(stored)):
                r = client.get(f"/v1/trace/interactions/leak-{i}", headers=headers)
                assert r.status_code == 200
                responses.append(r.text)
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("t.db"))
        logs = "\n".join(handler.lines) + stderr.getvalue()
        api = "\n".join(responses)
        for value in values:
            for form in _forms(value):
                assert form.encode() not in raw, form
                assert form not in api, form
                assert form not in logs, form
        assert len(stored) > 100
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
