"""The scorecard: what the inline gate emits at the end of every call, and what the evidence log stores.

Every class here is a slotted dataclass with ``to_dict()`` / ``from_dict()``. ``to_dict()`` is the wire form
(``schemas/scorecard-v1.json``); ``from_dict(to_dict(x)) == x`` for every valid scorecard. Optional keys of a
:class:`TimelineEvent` that are absent are omitted (never ``null``), as the seed spec's ``TraceTimelineEvent``
has them optional rather than nullable.

Nothing in a scorecard holds a raw sensitive value: a :class:`Redaction` records only the kind, the turn, the
span and the rule, and timeline text is already redacted by the gate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from trace_engine.ir import DETECTORS

SCHEMA_V1 = "trace-scorecard-v1"
SCHEMA_V0 = "trace-scorecard-v0"
SCHEMAS: tuple[str, ...] = (SCHEMA_V0, SCHEMA_V1)
VERDICTS: tuple[str, ...] = ("PASS", "WARN", "FAIL")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
ACTIONS: tuple[str, ...] = ("pass", "flag", "modify", "block")
#: what a redaction hides: a detector's finding (the detector registry, :data:`trace_engine.ir.DETECTORS`) or a phrase
REDACTION_KINDS: tuple[str, ...] = (*DETECTORS, "phrase")
#: Severities that make a call FAIL when a finding at that level was not remediated.
FAILING_SEVERITIES: frozenset[str] = frozenset({"high", "critical"})


class ScorecardError(ValueError):
    """A scorecard dict that does not follow the scorecard schema."""


def _req(d: dict[str, Any], key: str, where: str) -> Any:
    try:
        return d[key]
    except (KeyError, TypeError):
        raise ScorecardError(f"{where}: missing required key {key!r}") from None


def _span(v: Any) -> tuple[int, int] | None:
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ScorecardError(f"span must be [start, end], got {v!r}")
    return (int(v[0]), int(v[1]))


@dataclass(slots=True)
class Finding:
    """A rule that fired. ``span`` is ``[start, end)`` in that turn's ORIGINAL text; ``at_t`` is seconds.
    ``late``: the gate computed it but ran out of time (or failed) before acting on it, so the turn went out as
    it was (``action_taken`` is ``pass``); omitted from the wire form when false."""

    rule_id: str
    pack_id: str | None
    severity: str
    action_taken: str
    citation: str = ""
    reason: str = ""
    at_t: float | None = None
    turn: int | None = None
    span: tuple[int, int] | None = None
    remediated: bool = False
    late: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {
            "rule_id": self.rule_id,
            "pack_id": self.pack_id,
            "severity": self.severity,
            "action_taken": self.action_taken,
            "citation": self.citation,
            "reason": self.reason,
            "at_t": self.at_t,
            "turn": self.turn,
            "span": list(self.span) if self.span is not None else None,
            "remediated": self.remediated,
        }
        if self.late:
            out["late"] = True
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        sev = _req(d, "severity", "finding")
        if sev not in SEVERITIES:
            raise ScorecardError(f"finding: severity must be one of {SEVERITIES}, got {sev!r}")
        act = _req(d, "action_taken", "finding")
        if act not in ACTIONS:
            raise ScorecardError(f"finding: action_taken must be one of {ACTIONS}, got {act!r}")
        return cls(
            rule_id=_req(d, "rule_id", "finding"),
            pack_id=d.get("pack_id"),
            severity=sev,
            action_taken=act,
            citation=d.get("citation") or "",
            reason=d.get("reason") or "",
            at_t=d.get("at_t"),
            turn=d.get("turn"),
            span=_span(d.get("span")),
            remediated=bool(d.get("remediated", False)),
            late=d.get("late") is True,
        )


@dataclass(slots=True)
class Satisfied:
    """A requirement the call met (a disclosure that was spoken, ...)."""

    rule_id: str
    pack_id: str | None
    at_t: float | None = None
    turn: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "pack_id": self.pack_id, "at_t": self.at_t, "turn": self.turn}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Satisfied:
        return cls(_req(d, "rule_id", "satisfied"), d.get("pack_id"), d.get("at_t"), d.get("turn"))


@dataclass(slots=True)
class NotEvaluated:
    """A rule that could not be evaluated, and why (``"missing metadata: local_time"``)."""

    rule_id: str
    pack_id: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "pack_id": self.pack_id, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NotEvaluated:
        return cls(_req(d, "rule_id", "not_evaluated"), d.get("pack_id"), d.get("reason") or "")


@dataclass(slots=True)
class NotApplicable:
    """A pack (``rule_id`` None) or a rule that does not apply to this call, and why (``"call_purpose is
    customer_service; pack hipaa applies to call_purpose: healthcare"``). Not passed, not violated: out of scope."""

    pack_id: str | None
    rule_id: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"pack_id": self.pack_id, "rule_id": self.rule_id, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NotApplicable:
        if not isinstance(d, dict):
            raise ScorecardError("not_applicable: expected an object")
        return cls(d.get("pack_id"), d.get("rule_id"), _req(d, "reason", "not_applicable"))


@dataclass(slots=True)
class Redaction:
    """Where something was redacted. Never carries the raw value."""

    kind: str
    turn: int
    span: tuple[int, int]
    rule_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "turn": self.turn, "span": list(self.span), "rule_id": self.rule_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Redaction:
        kind = _req(d, "kind", "redaction")
        if kind not in REDACTION_KINDS:
            raise ScorecardError(f"redaction: kind must be one of {REDACTION_KINDS}, got {kind!r}")
        span = _span(_req(d, "span", "redaction"))
        assert span is not None
        return cls(kind, int(_req(d, "turn", "redaction")), span, d.get("rule_id"))


@dataclass(slots=True)
class GateHealth:
    """How the inline gate itself did on this call. ``fail_open`` counts fail-open events."""

    turns: int = 0
    latency_p50_us: float | None = None
    latency_p99_us: float | None = None
    timeouts: int = 0
    errors: int = 0
    fail_open: int = 0
    unavailable: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "latency_p50_us": self.latency_p50_us,
            "latency_p99_us": self.latency_p99_us,
            "timeouts": self.timeouts,
            "errors": self.errors,
            "fail_open": self.fail_open,
            "unavailable": self.unavailable,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> GateHealth:
        d = d or {}
        return cls(
            turns=int(d.get("turns", 0)),
            latency_p50_us=d.get("latency_p50_us"),
            latency_p99_us=d.get("latency_p99_us"),
            timeouts=int(d.get("timeouts", 0)),
            errors=int(d.get("errors", 0)),
            fail_open=int(d.get("fail_open", 0)),
            unavailable=int(d.get("unavailable", 0)),
        )


@dataclass(slots=True)
class TimelineEvent:
    """One turn on the scorecard-v1 timeline (the seed's ``TraceTimelineEvent``). ``text`` is redacted."""

    seq: int
    t_ms: float
    role: str
    text: str
    ttfb_ms: float | None = None
    endpointing_ms: float | None = None
    barge: dict[str, Any] | None = None
    tool_calls: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "t_ms": self.t_ms, "role": self.role, "text": self.text}
        if self.ttfb_ms is not None:
            out["ttfb_ms"] = self.ttfb_ms
        if self.endpointing_ms is not None:
            out["endpointing_ms"] = self.endpointing_ms
        if self.barge is not None:
            out["barge"] = dict(self.barge)
        if self.tool_calls is not None:
            out["tool_calls"] = [dict(t) for t in self.tool_calls]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimelineEvent:
        return cls(
            seq=int(_req(d, "seq", "timeline event")),
            t_ms=_req(d, "t_ms", "timeline event"),
            role=_req(d, "role", "timeline event"),
            text=_req(d, "text", "timeline event"),
            ttfb_ms=d.get("ttfb_ms"),
            endpointing_ms=d.get("endpointing_ms"),
            barge=dict(d["barge"]) if d.get("barge") is not None else None,
            tool_calls=[dict(t) for t in d["tool_calls"]] if d.get("tool_calls") is not None else None,
        )


#: values of :attr:`ScoredInput.speakers`
SPEAKERS: tuple[str, ...] = ("labeled", "unknown")


@dataclass(slots=True)
class ScoredInput:
    """What a re-scored call was scored from (``trace rescore``; absent on calls the gate watched live).

    Fields:
        sha256: hex SHA-256 of the transcript's content (:func:`trace_engine.transcripts.content_hash`):
            re-scoring the call with other content appends a scorecard that supersedes this one.
        speakers: ``labeled``, or ``unknown`` when the transcript did not say who spoke (a plain-string
            transcript without speaker labels): such turns were scored as the agent's, the rules that depend on
            what the caller says are listed as not evaluated, and the verdict is never PASS.
    """

    sha256: str
    speakers: str = "labeled"

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "speakers": self.speakers}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoredInput:
        sha = _req(d, "sha256", "input")
        speakers = d.get("speakers", "labeled")
        if not isinstance(sha, str) or speakers not in SPEAKERS:
            raise ScorecardError(f"input: sha256 must be a string and speakers one of {SPEAKERS}")
        return cls(sha, speakers)


@dataclass(slots=True)
class Scorecard:
    """One call's Tier-0 compliance scorecard (``trace-scorecard-v1``).

    ``scored_at`` and ``started_at`` are unix milliseconds. ``packs_enforced`` holds ``pack@version`` strings.
    ``verdict`` should be :func:`compute_verdict` of the findings and gate health; the gate sets it.
    """

    call_id: str
    tenant: str
    verdict: str
    packs_enforced: list[str]
    config_etag: str
    engine_version: str
    scored_at: int
    agent_id: str | None = None
    product: str | None = None
    started_at: int | None = None
    findings: list[Finding] = field(default_factory=list)
    satisfied: list[Satisfied] = field(default_factory=list)
    not_evaluated: list[NotEvaluated] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)
    gate_health: GateHealth = field(default_factory=GateHealth)
    timeline: list[TimelineEvent] = field(default_factory=list)
    quality_metrics: dict[str, Any] | None = None
    blocked_turns: int = 0
    modified_turns: int = 0
    schema: str = SCHEMA_V1
    #: re-scoring only: what the call was scored from (omitted from the wire form when ``None``)
    input: ScoredInput | None = None
    #: the call facts in force at the end: fact -> ``{"value", "source"}`` (``"problem"`` instead of a usable value
    #: when the input could not be used); ``None`` on scorecards from before facts were recorded
    facts: dict[str, dict[str, Any]] | None = None
    #: each ``update_facts`` during the call: ``{"seq", "t", "facts"}``
    fact_changes: list[dict[str, Any]] | None = None
    #: packs and rules outside this call's scope, with the reason
    not_applicable: list[NotApplicable] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": self.schema,
            "call_id": self.call_id,
            "tenant": self.tenant,
            "agent_id": self.agent_id,
            "product": self.product,
            "verdict": self.verdict,
            "packs_enforced": list(self.packs_enforced),
            "config_etag": self.config_etag,
            "engine_version": self.engine_version,
            "scored_at": self.scored_at,
            "started_at": self.started_at,
            "findings": [f.to_dict() for f in self.findings],
            "satisfied": [s.to_dict() for s in self.satisfied],
            "not_evaluated": [n.to_dict() for n in self.not_evaluated],
            "redactions": [r.to_dict() for r in self.redactions],
            "gate_health": self.gate_health.to_dict(),
            "blocked_turns": self.blocked_turns,
            "modified_turns": self.modified_turns,
        }
        if self.schema != SCHEMA_V0:
            out["timeline"] = [e.to_dict() for e in self.timeline]
            out["quality_metrics"] = dict(self.quality_metrics) if self.quality_metrics is not None else None
            # added in place in v1 (optional keys, absent on older records, so their bytes do not change)
            if self.facts is not None:
                out["facts"] = {k: dict(v) for k, v in self.facts.items()}
            if self.fact_changes is not None:
                out["fact_changes"] = [dict(c) for c in self.fact_changes]
            if self.not_applicable is not None:
                out["not_applicable"] = [n.to_dict() for n in self.not_applicable]
        if self.input is not None:
            out["input"] = self.input.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scorecard:
        if not isinstance(d, dict):
            raise ScorecardError("scorecard must be an object")
        schema = d.get("schema", SCHEMA_V1)
        if schema not in SCHEMAS:
            raise ScorecardError(f"unknown scorecard schema {schema!r}")
        verdict = _req(d, "verdict", "scorecard")
        if verdict not in VERDICTS:
            raise ScorecardError(f"scorecard: verdict must be one of {VERDICTS}, got {verdict!r}")
        scored_at = _req(d, "scored_at", "scorecard")
        if not isinstance(scored_at, int) or isinstance(scored_at, bool):
            raise ScorecardError("scorecard: scored_at must be unix milliseconds (an integer)")
        qm = d.get("quality_metrics")
        return cls(
            schema=schema,
            call_id=_req(d, "call_id", "scorecard"),
            tenant=_req(d, "tenant", "scorecard"),
            agent_id=d.get("agent_id"),
            product=d.get("product"),
            verdict=verdict,
            packs_enforced=list(d.get("packs_enforced") or []),
            config_etag=_req(d, "config_etag", "scorecard"),
            engine_version=_req(d, "engine_version", "scorecard"),
            scored_at=scored_at,
            started_at=d.get("started_at"),
            findings=[Finding.from_dict(x) for x in d.get("findings") or []],
            satisfied=[Satisfied.from_dict(x) for x in d.get("satisfied") or []],
            not_evaluated=[NotEvaluated.from_dict(x) for x in d.get("not_evaluated") or []],
            redactions=[Redaction.from_dict(x) for x in d.get("redactions") or []],
            gate_health=GateHealth.from_dict(d.get("gate_health")),
            timeline=[TimelineEvent.from_dict(x) for x in d.get("timeline") or []],
            quality_metrics=dict(qm) if qm is not None else None,
            blocked_turns=int(d.get("blocked_turns", 0)),
            modified_turns=int(d.get("modified_turns", 0)),
            input=ScoredInput.from_dict(d["input"]) if d.get("input") is not None else None,
            facts=_objects_by_key(d.get("facts"), "facts"),
            fact_changes=_objects(d.get("fact_changes"), "fact_changes"),
            not_applicable=(
                [NotApplicable.from_dict(x) for x in _objects(d["not_applicable"], "not_applicable") or ()]
                if d.get("not_applicable") is not None
                else None
            ),
        )


def _objects(value: Any, where: str) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise ScorecardError(f"scorecard: {where} must be an array of objects")
    return [dict(x) for x in value]


def _objects_by_key(value: Any, where: str) -> dict[str, dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(x, dict) for x in value.values()):
        raise ScorecardError(f"scorecard: {where} must be an object of objects")
    return {k: dict(v) for k, v in value.items()}


def compute_verdict(findings: list[Finding], gate_health: GateHealth | None, *, speakers_known: bool = True) -> str:
    """The call's verdict.

    * ``FAIL`` when a ``high`` or ``critical`` finding was not remediated;
    * ``WARN`` when any finding remains or was remediated, or the gate failed open
      (``fail_open > 0`` or ``unavailable > 0``), or the transcript did not say who spoke
      (``speakers_known=False``): a call that could not be fully judged is never a clean PASS;
    * ``PASS`` otherwise.
    """
    if any(f.severity in FAILING_SEVERITIES and not f.remediated for f in findings):
        return "FAIL"
    if findings:
        return "WARN"
    if gate_health is not None and (gate_health.fail_open > 0 or gate_health.unavailable > 0):
        return "WARN"
    if not speakers_known:
        return "WARN"
    return "PASS"


def violation_id(call_id: str, config_etag: str, engine_version: str, index: int) -> str:
    """A stable id for the ``index``-th finding of a scorecard: ``tviol_`` + 24 hex digits."""
    h = hashlib.sha256(f"{call_id}\x00{config_etag}\x00{engine_version}\x00{index}".encode()).hexdigest()
    return "tviol_" + h[:24]


def violations(scorecard: Scorecard) -> list[dict[str, Any]]:
    """The scorecard's findings as the seed spec's ``TraceViolation`` objects (every fired rule)."""
    sc = scorecard
    return [
        {
            "object": "trace.violation",
            "id": violation_id(sc.call_id, sc.config_etag, sc.engine_version, i),
            "interaction_id": sc.call_id,
            "agent_id": sc.agent_id,
            "rule_id": f.rule_id,
            "pack_id": f.pack_id,
            "severity": f.severity,
            "action_taken": f.action_taken,
            "citation": f.citation,
            "reason": f.reason,
            "at_t": f.at_t,
        }
        for i, f in enumerate(sc.findings)
    ]
