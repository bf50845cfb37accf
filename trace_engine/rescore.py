"""Offline re-scoring: past transcripts → the gate (warn mode) → scorecards → the signed evidence log.

Re-scoring replays what the agent really said, so the mode is always ``warn`` whatever the config asks: findings
are recorded, nothing is rewritten. The config's packs, guardrails and variables apply as configured.

Idempotence and resumption come from the log: a scorecard whose (tenant, call_id, config etag, engine version) is
already there is a duplicate and writes nothing; a changed config appends a scorecard that supersedes the old one.
Results are reported only after the batch holding them is committed, so a killed run loses nothing it reported
and a re-run picks up where it stopped without duplicates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from trace_engine.evidence.scorecard import Scorecard, violations
from trace_engine.gate.config import TraceConfig, load_config
from trace_engine.gate.engine import Engine
from trace_engine.transcripts import Transcript, TranscriptError, iter_records

BATCH = 256
DEFAULT_PACKS = ("tcpa", "hipaa", "pii", "brand_voice")


def offline_config(cfg: dict[str, Any] | str | TraceConfig | None) -> TraceConfig:
    """The config to re-score with: as given (default: the four built-in packs), mode forced to ``warn``."""
    config = load_config(cfg) if cfg is not None else load_config({"rule_packs": {p: {"enabled": True} for p in DEFAULT_PACKS}})
    guardrails = config.guardrails.model_copy(update={"mode": "warn", "inline_timeout_ms": 60_000.0})
    return config.model_copy(update={"guardrails": guardrails})


def score_transcript(
    engine: Engine, transcript: Transcript, *, tenant: str = "default", agent_id: str | None = None
) -> Scorecard:
    """Replay one transcript through ``engine`` and return its scorecard (timeline extras carried through)."""
    call = engine.start_call(
        transcript.call_id,
        agent_id=agent_id or transcript.agent_id,
        metadata=transcript.metadata,
        tenant=tenant,
        product="omni",
    )
    last_t = None
    for role, text, t in transcript.turns:
        if role == "agent":
            call.agent_turn(text, t)
        else:
            call.caller_turn(text, t)
        last_t = t if t is not None else last_t
    card = call.end(last_t)
    if any(transcript.extras):
        for event, extra in zip(card.timeline, transcript.extras, strict=False):
            if extra:
                for key, value in extra.items():
                    setattr(event, key, value)
    # latency in an offline replay measures this machine, not the call: keep counts, drop the percentiles
    card.gate_health.latency_p50_us = None
    card.gate_health.latency_p99_us = None
    return card


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


@dataclass(slots=True)
class RescoreSummary:
    scored: int = 0
    appended: int = 0
    duplicates: int = 0
    superseded: int = 0
    skipped: list[str] = field(default_factory=list)
    turns: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"PASS": 0, "WARN": 0, "FAIL": 0})


# --------------------------------------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}


def _worker_init(config_json: str, tenant: str, agent_id: str | None) -> None:
    _WORKER["engine"] = Engine.from_config(TraceConfig.model_validate_json(config_json))
    _WORKER["tenant"] = tenant
    _WORKER["agent_id"] = agent_id


def _worker_score(batch: list[Transcript]) -> list[dict[str, Any]]:
    engine = _WORKER["engine"]
    return [
        score_transcript(engine, t, tenant=_WORKER["tenant"], agent_id=_WORKER["agent_id"]).to_dict() for t in batch
    ]


def _batches(items: Iterable[Transcript | TranscriptError], summary: RescoreSummary) -> Iterator[list[Transcript]]:
    batch: list[Transcript] = []
    for item in items:
        if isinstance(item, TranscriptError):
            summary.skipped.append(str(item))
            continue
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _remember(batches: Iterator[list[Transcript]], into: dict[str, Transcript] | None) -> Iterator[list[Transcript]]:
    """Keep each batch's transcripts until its scorecards are committed (Tier-2 judges them afterwards)."""
    for batch in batches:
        if into is not None:
            into.update((t.call_id, t) for t in batch)
        yield batch


def _records(inputs: list[str], summary: RescoreSummary) -> Iterator[Transcript | TranscriptError]:
    for path in inputs:
        if path != "-" and not os.path.exists(path):
            summary.skipped.append(f"{path}:0: no such file or directory")
            continue
        yield from iter_records(path)


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
    on_result: Any = None,
    on_skip: Any = None,
) -> RescoreSummary:
    """Score every transcript in ``inputs`` into the log at ``db``.

    ``on_result(line_dict)`` is called for each call after its batch is committed; ``on_skip(message)`` for each
    malformed record (``file:line: message``), which is skipped. With ``tier2`` the model-judged checks run on each
    call too; their findings go to the findings table and never change a scorecard's audit hash.
    """
    from trace_engine.store.log import EvidenceLog

    summary = RescoreSummary()
    cfg = offline_config(config)
    log = EvidenceLog(db, key)
    skipped_seen = 0

    def report_skips() -> None:
        nonlocal skipped_seen
        for message in summary.skipped[skipped_seen:]:
            if on_skip:
                on_skip(message)
        skipped_seen = len(summary.skipped)

    tier2_config = cfg.tier2 if cfg.tier2 is not None else {}
    transcripts_by_id: dict[str, Transcript] = {}

    def commit(cards: list[Scorecard]) -> None:
        results = log.append_many(cards)
        if tier2:
            from trace_engine.tier2.runner import judge_transcript
            from trace_engine.tier2.store import append_findings

            found: list[dict[str, Any]] = []
            for card, result in zip(cards, results, strict=False):
                transcript = transcripts_by_id.pop(card.call_id, None)
                if transcript is None:
                    continue
                for finding in judge_transcript(transcript, tier2_config, call_id=card.call_id, agent_id=card.agent_id):
                    finding.setdefault("audit_hash", result.audit_hash)
                    found.append(finding)
            if found:
                append_findings(log.conn, tenant, found)
        for card, result in zip(cards, results, strict=False):
            summary.scored += 1
            summary.turns += len(card.timeline)
            summary.verdicts[card.verdict] = summary.verdicts.get(card.verdict, 0) + 1
            if result.status == "duplicate":
                summary.duplicates += 1
            elif result.status == "appended":
                summary.appended += 1
                summary.superseded += bool(result.supersedes)
            if on_result:
                on_result(interaction_line(card, result.audit_hash))
        report_skips()

    try:
        batches = _remember(_batches(_records(inputs, summary), summary), transcripts_by_id if tier2 else None)
        if workers <= 1:
            engine = Engine.from_config(cfg)
            for batch in batches:
                commit([score_transcript(engine, t, tenant=tenant, agent_id=agent_id) for t in batch])
        else:
            with ProcessPoolExecutor(
                max_workers=workers, initializer=_worker_init, initargs=(cfg.model_dump_json(), tenant, agent_id)
            ) as pool:
                pending = list(islice(batches, workers * 2))
                futures = [pool.submit(_worker_score, b) for b in pending]
                while futures:
                    done = futures.pop(0)
                    nxt = next(batches, None)
                    if nxt is not None:
                        futures.append(pool.submit(_worker_score, nxt))
                    commit([Scorecard.from_dict(d) for d in done.result()])
        report_skips()
    finally:
        log.close()
    return summary
