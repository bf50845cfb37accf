"""Offline re-scoring: past transcripts → the gate (warn mode) → scorecards → the signed evidence log.

Re-scoring replays what the agent really said, so the mode is always ``warn`` whatever the config asks: findings
are recorded, nothing is rewritten. The config's packs, guardrails and variables apply as configured.

What each input record becomes (see :mod:`trace_engine.transcripts` for how records are read and validated):

* **scored**: its scorecard is appended to the log, or found there already. A scorecard whose (tenant, call_id,
  config etag, engine version, transcript content hash) is in the log writes nothing (``unchanged``); a changed
  config, engine or transcript appends a scorecard that ``supersedes`` the call's latest one (reads show the
  latest, history stays). The scorecard's ``started_at`` is the record's call start (``null`` when unknown) and
  its ``input`` names the content hash and whether the speakers were known.
* **not scored**: a failed call (``status: failed``, ``transcript: null``) has nothing to judge. It is reported
  with its reason and writes nothing to the log: the log holds verdicts on what an agent said, its verdicts are
  PASS/WARN/FAIL only, and exposure counts scored calls; a call without speech is neither compliant nor not.
* **skipped**: a malformed record is reported as ``file:line: reason`` and skipped; the records around it are
  scored. Everything is validated before anything is written, and a scorecard the log refuses is skipped on its
  own, so one bad record never rolls back a batch of good ones.

Duplicate call ids within one run. The log keys calls by ``call_id`` (the id the API, ``show``, ``prove`` and
exposure use, and the one that joins to the telephony system), so two transcripts with the same id are two
versions of one call. A repeat with the same content is reported and not scored again. A repeat with other
content is reported with both lines and, by default (``duplicate_ids="supersede"``), scored as the newer version
of the call: it supersedes the earlier one, as a corrected transcript in a later run would, and the run ends
partial (exit 3) so the collision is not missed. With ``duplicate_ids="suffix"`` each further distinct
transcript is scored as its own call ``<call_id>#2``, ``#3``… in input order (for corpora whose ids repeat across
splits); re-running the same inputs gives the same ids.

Speakers unknown. Turns of a plain-string transcript without speaker labels are scored as agent turns. Rules
that depend on what the caller says (a caller cue opens them, or they wait for a state the caller sets) cannot
be judged that way: their findings are dropped and they are listed as not evaluated, and the verdict is never
PASS (:func:`~trace_engine.evidence.scorecard.compute_verdict` with ``speakers_known=False``).

Results are reported only after the batch holding them is committed, so a killed run loses nothing it reported
and a re-run picks up where it stopped without duplicates. The database (and its signing key) is created only
when there is a first scorecard to write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from trace_engine.compile.program import CompiledPackSet
from trace_engine.evidence.scorecard import NotEvaluated, Scorecard, ScoredInput, compute_verdict, violations
from trace_engine.gate.call import Call
from trace_engine.gate.config import TraceConfig, load_config
from trace_engine.gate.engine import Engine
from trace_engine.replay import feed_turn
from trace_engine.transcripts import NotScored, Transcript, TranscriptError, iter_records

BATCH = 256
DEFAULT_PACKS = ("tcpa", "hipaa", "pii", "brand_voice")
DUPLICATE_POLICIES = ("supersede", "suffix")
SPEAKERS_UNKNOWN = "speakers unknown: this rule depends on what the caller says, and the transcript does not say who spoke"


def offline_config(cfg: dict[str, Any] | str | TraceConfig | None) -> TraceConfig:
    """The config to re-score with: as given (default: the four built-in packs), mode forced to ``warn``."""
    config = load_config(cfg) if cfg is not None else load_config({"rule_packs": {p: {"enabled": True} for p in DEFAULT_PACKS}})
    guardrails = config.guardrails.model_copy(update={"mode": "warn", "inline_timeout_ms": 60_000.0})
    return config.model_copy(update={"guardrails": guardrails})


# --------------------------------------------------------------------------------------------- scoring


def score_transcript(
    engine: Engine, transcript: Transcript, *, tenant: str = "default", agent_id: str | None = None
) -> Scorecard:
    """Replay one transcript through ``engine`` and return its scorecard (timeline extras carried through,
    call start and content hash recorded, the speaker rule applied)."""
    call = engine.start_call(
        transcript.call_id,
        agent_id=transcript.agent_id or agent_id,
        metadata=transcript.metadata,
        tenant=tenant,
        product="omni",
    )
    seqs: list[int] = []
    last_t = None
    for role, text, t in transcript.turns:
        feed_turn(call, role, text, t)
        seqs.append(call.seq)
        last_t = t if t is not None else last_t
    card = call.end(last_t)
    by_seq = {event.seq: event for event in card.timeline}
    for (role, _, _), seq, extra in zip(transcript.turns, seqs, transcript.extras or [None] * len(seqs), strict=False):
        event = by_seq.get(seq)
        if event is None:
            continue
        if role == "unknown":
            event.role = "unknown"
        for key, value in (extra or {}).items():
            setattr(event, key, _redact_json(value, call) if key == "tool_calls" else value)
    # latency in an offline replay measures this machine, not the call: keep counts, drop the percentiles
    card.gate_health.latency_p50_us = None
    card.gate_health.latency_p99_us = None
    card.started_at = transcript.started_at  # when the call happened, not when it was re-scored (None: unknown)
    card.input = ScoredInput(transcript.content_hash, transcript.speakers)
    if transcript.speakers == "unknown":
        _judge_without_speakers(card, engine.program)
    return card


def _redact_json(value: Any, call: Call) -> Any:
    """A tool call's arguments and result for storage: strings (and numbers, as read aloud they are digits) with
    the detectors' hits masked."""
    if isinstance(value, dict):
        return {k: _redact_json(v, call) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v, call) for v in value]
    if isinstance(value, str):
        return call.redact_by_detectors(value, record=False)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = str(value)
        masked = call.redact_by_detectors(digits, record=False)
        return value if masked == digits else masked
    return value


def caller_dependent_rules(program: CompiledPackSet) -> frozenset[int]:
    """Indexes of the rules that need to know what the caller said (see
    :meth:`~trace_engine.compile.program.CompiledPackSet.caller_dependent_rules`)."""
    return program.caller_dependent_rules()


def _judge_without_speakers(card: Scorecard, program: CompiledPackSet) -> None:
    """Apply the speaker rule: drop what depends on the caller, list it as not evaluated, never PASS."""
    dependent = {(program.rules[i].pack_id, program.rules[i].rule_id) for i in caller_dependent_rules(program)}
    judged = {(f.pack_id, f.rule_id) for f in card.findings} | {(s.pack_id, s.rule_id) for s in card.satisfied}
    card.findings = [f for f in card.findings if (f.pack_id, f.rule_id) not in dependent]
    card.satisfied = [s for s in card.satisfied if (s.pack_id, s.rule_id) not in dependent]
    for pack_id, rule_id in sorted(dependent & judged, key=lambda k: (k[0] or "", k[1])):
        card.not_evaluated.append(NotEvaluated(rule_id, pack_id, SPEAKERS_UNKNOWN))
    card.verdict = compute_verdict(card.findings, card.gate_health, speakers_known=False)


def _score_safely(engine: Engine, t: Transcript, tenant: str, agent_id: str | None) -> Scorecard | str:
    """The scorecard, or why it could not be made (the gate fails open, so this is a bug; the run goes on)."""
    try:
        return score_transcript(engine, t, tenant=tenant, agent_id=agent_id)
    except Exception as exc:  # noqa: BLE001 - one call's failure must not stop the run
        return f"internal error while scoring: {type(exc).__name__}: {exc}"


def interaction_line(card: Scorecard, audit_hash: str | None) -> dict[str, Any]:
    """The ``TraceInteraction`` fields of ``card`` plus its ``violations`` and ``audit_hash``."""
    return {
        "object": "trace.interaction",
        "id": card.call_id,
        "agent_id": card.agent_id,
        "product": card.product,
        "verdict": card.verdict,
        "findings": len(card.findings),
        "blocked_turns": card.blocked_turns,
        "modified_turns": card.modified_turns,
        "packs_enforced": ",".join(card.packs_enforced),
        "scored_at": card.scored_at,
        "violations": violations(card),
        "audit_hash": audit_hash,
    }


# --------------------------------------------------------------------------------------------- the run


@dataclass(slots=True)
class RescoreSummary:
    """What a run did. ``skipped``: ``file:line: reason`` of malformed records; ``unreadable``: inputs that could
    not be opened; ``not_scored``: failed calls; ``conflicts``: distinct transcripts that reused a call id and
    superseded an earlier one in this run; ``renamed``: the same, scored under a suffixed id; ``repeats``:
    identical transcripts given twice (scored once)."""

    scored: int = 0
    appended: int = 0
    duplicates: int = 0
    superseded: int = 0
    skipped: list[str] = field(default_factory=list)
    turns: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"PASS": 0, "WARN": 0, "FAIL": 0})
    unreadable: list[str] = field(default_factory=list)
    not_scored: list[NotScored] = field(default_factory=list)
    conflicts: int = 0
    renamed: int = 0
    repeats: int = 0
    inputs: int = 0

    @property
    def partial(self) -> bool:
        """Some input was not scored as given: malformed, unreadable, or a call id reused by other content."""
        return bool(self.skipped or self.unreadable or self.conflicts)


_WORKER: dict[str, Any] = {}


def _worker_init(config_json: str, tenant: str, agent_id: str | None) -> None:
    _WORKER["engine"] = Engine.from_config(TraceConfig.model_validate_json(config_json))
    _WORKER["tenant"] = tenant
    _WORKER["agent_id"] = agent_id


def _worker_score(batch: list[Transcript]) -> list[dict[str, Any] | str]:
    engine = _WORKER["engine"]
    out: list[dict[str, Any] | str] = []
    for t in batch:
        result = _score_safely(engine, t, _WORKER["tenant"], _WORKER["agent_id"])
        out.append(result if isinstance(result, str) else result.to_dict())
    return out


def _records(inputs: list[str], summary: RescoreSummary, skip: Callable[[str, str], None]) -> Iterator[Any]:
    for path in inputs:
        if path != "-" and not os.path.exists(path):
            summary.unreadable.append(path)
            skip(path, "no such file or directory")
            continue
        try:
            yield from iter_records(path)
        except OSError as exc:
            summary.unreadable.append(path)
            skip(path, f"cannot read: {exc.strerror or exc}")


def _screen(
    records: Iterable[Any],
    summary: RescoreSummary,
    policy: str,
    skip: Callable[[str, str], None],
    report: Callable[[dict[str, Any]], None],
) -> Iterator[Transcript]:
    """The transcripts to score, in input order: errors reported and skipped, failed calls reported, call ids
    seen before in this run resolved by ``policy`` (see the module docstring)."""
    versions: dict[str, list[tuple[str, str]]] = {}  # call_id -> [(content hash, source)] of distinct contents
    for item in records:
        summary.inputs += 1
        if isinstance(item, TranscriptError):
            summary.skipped.append(str(item))
            skip(f"{item.file}:{item.line}", item.message)
            continue
        if isinstance(item, NotScored):
            summary.not_scored.append(item)
            report({"object": "trace.rescore.not_scored", "id": item.call_id, "source": item.source, "reason": item.reason})
            continue
        seen = versions.get(item.call_id)
        if seen is None:
            versions[item.call_id] = [(item.content_hash, item.source)]
            yield item
            continue
        notice = {"object": "trace.rescore.duplicate_id", "id": item.call_id, "source": item.source}
        same = next((source for digest, source in seen if digest == item.content_hash), None)
        if same is not None:
            summary.repeats += 1
            report({**notice, "first_source": same, "identical": True, "resolution": "not scored again (same content)"})
            continue
        earlier = seen[-1][1]
        seen.append((item.content_hash, item.source))
        if policy == "suffix":
            item.call_id = f"{item.call_id}#{len(seen)}"
            summary.renamed += 1
            report({**notice, "first_source": seen[0][1], "identical": False, "resolution": f"scored as {item.call_id}"})
        else:
            summary.conflicts += 1
            report({**notice, "first_source": earlier, "identical": False, "resolution": f"supersedes the transcript at {earlier}"})
        yield item


def _batches(items: Iterator[Transcript]) -> Iterator[list[Transcript]]:
    while batch := list(islice(items, BATCH)):
        yield batch


def rescore(
    inputs: list[str],
    *,
    db: str = "trace.db",
    config: dict[str, Any] | str | TraceConfig | None = None,
    tenant: str = "default",
    agent_id: str | None = None,
    workers: int = 1,
    key: str | None = None,
    tier2: bool = False,
    duplicate_ids: str = "supersede",
    on_result: Callable[[dict[str, Any]], None] | None = None,
    on_skip: Callable[[str], None] | None = None,
    on_report: Callable[[dict[str, Any]], None] | None = None,
) -> RescoreSummary:
    """Score every transcript in ``inputs`` into the log at ``db``.

    ``on_result(line)`` is called for each scored call after its batch is committed: the ``TraceInteraction``
    fields plus ``violations``, ``audit_hash``, ``rescore`` (``appended``, ``supersedes`` or ``unchanged``),
    ``supersedes`` (the audit hash of the record it replaced) and ``source`` (``file:line``). ``on_skip(message)``
    for each malformed record or unreadable input (``file:line: reason``). ``on_report(notice)`` for the same
    skips as objects (``trace.rescore.skipped`` with ``source`` and ``reason``), calls not scored
    (``trace.rescore.not_scored``) and call ids seen twice (``trace.rescore.duplicate_id``). With ``tier2``
    the model-judged checks run on each call too; their findings go to the findings table and never change a
    scorecard's audit hash. Raises ``sqlite3.Error``/``OSError`` only when the database itself fails.
    """
    from trace_engine.store.log import EvidenceLog

    if duplicate_ids not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicate_ids must be one of {DUPLICATE_POLICIES}, got {duplicate_ids!r}")
    summary = RescoreSummary()
    cfg = offline_config(config)
    tier2_config = cfg.tier2 if cfg.tier2 is not None else {}
    log: EvidenceLog | None = None

    def skip(source: str, reason: str) -> None:
        if on_skip:
            on_skip(f"{source}: {reason}")
        if on_report:
            on_report({"object": "trace.rescore.skipped", "source": source, "reason": reason})

    def report(notice: dict[str, Any]) -> None:
        if on_report:
            on_report(notice)

    def commit(batch: list[Transcript], results: list[Scorecard | str]) -> None:
        nonlocal log
        pairs: list[tuple[Transcript, Scorecard]] = []
        for t, result in zip(batch, results, strict=True):
            if isinstance(result, str):
                summary.skipped.append(f"{t.source}: {result}")
                skip(t.source, result)
            else:
                pairs.append((t, result))
        if not pairs:
            return
        if log is None:
            log = EvidenceLog(db, key)
        stored = log.append_many([card for _, card in pairs], skip_invalid=True)
        if tier2:
            _judge_tier2(log, tenant, tier2_config, pairs, stored)
        for (t, card), result in zip(pairs, stored, strict=True):
            if result.status == "invalid":
                reason = f"the evidence log refused the scorecard: {result.error}"
                summary.skipped.append(f"{t.source}: {reason}")
                skip(t.source, reason)
                continue
            summary.scored += 1
            summary.turns += len(card.timeline)
            summary.verdicts[card.verdict] = summary.verdicts.get(card.verdict, 0) + 1
            if result.status == "duplicate":
                summary.duplicates += 1
                status = "unchanged"
            else:
                summary.appended += 1
                summary.superseded += bool(result.supersedes)
                status = "supersedes" if result.supersedes else "appended"
            if on_result:
                line = interaction_line(card, result.audit_hash)
                line.update(rescore=status, supersedes=result.supersedes, source=t.source)
                on_result(line)

    try:
        batches = _batches(_screen(_records(inputs, summary, skip), summary, duplicate_ids, skip, report))
        if workers <= 1:
            engine = Engine.from_config(cfg)
            for batch in batches:
                commit(batch, [_score_safely(engine, t, tenant, agent_id) for t in batch])
        else:
            with ProcessPoolExecutor(
                max_workers=workers, initializer=_worker_init, initargs=(cfg.model_dump_json(), tenant, agent_id)
            ) as pool:
                pending = [(b, pool.submit(_worker_score, b)) for b in islice(batches, workers * 2)]
                while pending:
                    batch, done = pending.pop(0)
                    nxt = next(batches, None)
                    if nxt is not None:
                        pending.append((nxt, pool.submit(_worker_score, nxt)))
                    commit(batch, [r if isinstance(r, str) else Scorecard.from_dict(r) for r in done.result()])
    finally:
        if log is not None:
            log.close()
    return summary


def _judge_tier2(
    log: Any, tenant: str, tier2_config: Any, pairs: list[tuple[Transcript, Scorecard]], stored: list[Any]
) -> None:
    from trace_engine.tier2.runner import judge_transcript
    from trace_engine.tier2.store import append_findings

    found: list[dict[str, Any]] = []
    for (transcript, card), result in zip(pairs, stored, strict=True):
        if result.status == "invalid":
            continue
        for finding in judge_transcript(transcript, tier2_config, call_id=card.call_id, agent_id=card.agent_id):
            finding.setdefault("audit_hash", result.audit_hash)
            found.append(finding)
    if found:
        append_findings(log, tenant, found)
