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

import glob
import marshal
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from trace_engine.compile.program import CompiledPackSet
from trace_engine.evidence.scorecard import NotEvaluated, Scorecard, ScoredInput, compute_verdict
from trace_engine.gate.call import Call
from trace_engine.gate.config import TraceConfig, load_config
from trace_engine.gate.engine import Engine
from trace_engine.replay import feed_turn
from trace_engine.store import rollup
from trace_engine.store.log import EvidenceLog, ReadyRecord, latest_records, ready_fields, ready_record
from trace_engine.transcripts import (
    NotScored,
    Record,
    Transcript,
    TranscriptError,
    iter_lines,
    iter_records,
    record_files,
)

#: records (lines, for ``.jsonl``) per shard: what one worker scores at a time and one transaction appends
BATCH = 256
#: a local worker's shard is this fraction of a batch (see :func:`rescore`)
LOCAL_SHARDS_PER_BATCH = 4
#: where scoring runs (``rescore(engine=...)``)
ENGINES = ("local", "ray")
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


#: what a call's record will supersede, as far as the log knows: the latest record's audit hash and its rollup
#: contribution (see :func:`~trace_engine.store.log.latest_records`)
Latest = tuple[str, rollup.Contribution | None]


def ready_safely(
    engine: Engine, t: Transcript, supersedes: Latest | None, tenant: str, agent_id: str | None
) -> ReadyRecord | str:
    """``t`` scored and made into a record ready to append (canonical bytes, leaf hash, row fields), superseding
    ``supersedes``; or, as a string, why it cannot be appended."""
    card = _score_safely(engine, t, tenant, agent_id)
    if isinstance(card, str):
        return card
    try:
        return ready_record(card, *(supersedes or (None, None)))
    except (TypeError, ValueError) as exc:  # rfc8785's errors are ValueErrors
        return f"the evidence log refused the scorecard: {exc}"


@dataclass(slots=True)
class Scored:
    """A transcript parsed and scored off the sequencer: what screening needs to know about it, and its ready
    record (or why it has none). ``transcript`` travels back only when the appending process needs it (Tier-2)."""

    call_id: str
    content_hash: str
    source: str
    result: ReadyRecord | str
    transcript: Transcript | None = None

    def __reduce__(self) -> tuple[Any, tuple]:
        # a worker sends a shard's outcomes back pickled: positional arguments unpickle several times faster than a
        # slots dataclass's generic state (see ReadyRecord.__reduce__)
        return (Scored, (self.call_id, self.content_hash, self.source, self.result, self.transcript))


@dataclass(frozen=True, slots=True)
class Lines:
    """Consecutive whole lines of a ``.jsonl`` file, the first being line ``first_line``, as read: the reader
    hands them on unparsed, and the worker that scores them parses them (:func:`~trace_engine.transcripts.iter_lines`).
    The bytes travel rather than a byte range so that a worker on another machine (Ray) needs no access to the
    file, and a file that changes during the run cannot make a worker read other lines than the reader counted."""

    file: str
    first_line: int
    data: bytes


#: one piece of a shard: lines for a worker to parse, or a record the reader parsed (JSON documents, ``.calls``,
#: standard input)
Piece = Lines | Transcript | NotScored | TranscriptError
#: what one worker scores at a time and one transaction appends: pieces in input order, about :data:`BATCH` records
Shard = list[Piece]
Outcome = Scored | NotScored | TranscriptError


def shard_records(shard: Shard) -> Iterator[Record]:
    """The records of ``shard`` in order: its lines parsed, its records as they are."""
    for piece in shard:
        if isinstance(piece, Lines):
            yield from iter_lines(piece.data, piece.file, piece.first_line)
        else:
            yield piece


def score_shard(
    engine: Engine,
    shard: Shard,
    supersedes: Callable[[list[str]], dict[str, Latest]],
    tenant: str,
    agent_id: str | None,
    keep_transcripts: bool = False,
) -> list[Outcome]:
    """The map step, one outcome per record of ``shard``: lines parsed, transcripts scored into ready records
    superseding what ``supersedes(call_ids)`` says are the calls' latest records; failed calls and malformed records
    as they are."""
    records = list(shard_records(shard))
    hints = supersedes([r.call_id for r in records if isinstance(r, Transcript)])
    out: list[Outcome] = []
    for r in records:
        if isinstance(r, Transcript):
            result = ready_safely(engine, r, hints.get(r.call_id), tenant, agent_id)
            out.append(Scored(r.call_id, r.content_hash, r.source, result, r if keep_transcripts else None))
        else:
            out.append(r)
    return out


def interaction_line(rec: ReadyRecord, audit_hash: str | None) -> dict[str, Any]:
    """The ``TraceInteraction`` fields of a scored call plus its ``violations`` and ``audit_hash``."""
    return {
        "object": "trace.interaction",
        "id": rec.call_id,
        "agent_id": rec.agent_id,
        "product": rec.product,
        "verdict": rec.verdict,
        "findings": rec.findings,
        "blocked_turns": rec.blocked_turns,
        "modified_turns": rec.modified_turns,
        "packs_enforced": rec.packs_enforced,
        "scored_at": rec.scored_at,
        "violations": rec.violations,
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
    #: records the log relinked because what they were built to supersede had changed (another writer, or a
    #: second version of the call earlier in this run); their bodies were hashed again in the appending process
    relinked: int = 0

    @property
    def partial(self) -> bool:
        """Some input was not scored as given: malformed, unreadable, or a call id reused by other content."""
        return bool(self.skipped or self.unreadable or self.conflicts)


_WORKER: dict[str, Any] = {}
#: config JSON -> the engine the appending process built for it before its pool forked: a forked worker takes it
#: as it is (compiled once per run, not once per worker; its etag not computed again)
_FORKED: dict[str, Engine] = {}


def _worker_init(config_json: str, tenant: str, agent_id: str | None, db: str | None, keep_transcripts: bool) -> None:
    """A worker's state: the engine (inherited when forked), the run's tenant and agent, the database to look up
    what each call supersedes in (``None``: nothing to look up, see :func:`rescore`)."""
    inherited = _FORKED.get(config_json)
    _WORKER.update(
        engine=inherited if inherited is not None else Engine.from_config(TraceConfig.model_validate_json(config_json)),
        tenant=tenant,
        agent_id=agent_id,
        db=db,
        keep_transcripts=keep_transcripts,
        store=None,
    )


def _worker_supersedes(call_ids: list[str]) -> dict[str, Latest]:
    """What the log says each call's record will supersede, read by the worker itself through the storage
    interface (a hint: the sequencer checks it). Nothing when the database is not there yet, is a file on another
    machine (a Ray node), or cannot be read right now."""
    if not call_ids or _WORKER["db"] is None:
        return {}
    from trace_engine.store import open_store
    from trace_engine.store.interfaces import StoreError, UnreadableDatabase

    try:
        if _WORKER["store"] is None:
            db = _WORKER["db"]
            if db.startswith(("postgresql://", "postgres://")):
                _WORKER["store"] = open_store(db, create=False, max_size=1)
            elif os.path.exists(db):
                _WORKER["store"] = open_store(db, create=False, timeout=0.2)
            else:
                return {}
        return latest_records(_WORKER["store"], _WORKER["tenant"], call_ids)
    except (StoreError, UnreadableDatabase):
        return {}


def _worker_score(shard: Shard) -> bytes:
    w = _WORKER
    return encode_outcomes(
        score_shard(w["engine"], shard, _worker_supersedes, w["tenant"], w["agent_id"], w["keep_transcripts"])
    )


_MARSHAL, _PICKLE = b"m", b"p"


def encode_outcomes(outcomes: list[Outcome]) -> bytes:
    """A shard's outcomes as the bytes a worker sends the sequencer. A scored call with its ready record (nearly
    all of them) travels as a tuple of plain values, the record's fields, marshalled: the values (strings, numbers,
    the canonical bytes, the violations' dicts) come back exactly, and it costs about a third less than pickling
    the objects to make and to read. Anything else (an error, a failed call, a transcript kept for Tier-2) is
    pickled inside."""
    items: list[tuple | bytes] = []
    for o in outcomes:
        if type(o) is Scored and type(o.result) is ReadyRecord and o.transcript is None:
            items.append((o.call_id, o.content_hash, o.source, *ready_fields(o.result)))
        else:
            items.append(pickle.dumps(o, protocol=pickle.HIGHEST_PROTOCOL))
    try:
        return _MARSHAL + marshal.dumps(items, 4)
    except ValueError:  # a value marshal does not know (only plain values are expected): pickle the lot
        return _PICKLE + pickle.dumps(outcomes, protocol=pickle.HIGHEST_PROTOCOL)


def decode_outcomes(data: bytes | memoryview) -> list[Outcome]:
    """The outcomes :func:`encode_outcomes` encoded."""
    view = memoryview(data)
    if view[:1] == _PICKLE:
        return pickle.loads(view[1:])
    out: list[Outcome] = []
    for item in marshal.loads(view[1:]):
        if type(item) is bytes:
            out.append(pickle.loads(item))
        else:
            out.append(Scored(item[0], item[1], item[2], ReadyRecord(*item[3:])))
    return out


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """The inputs with each glob (``calls/2026-*/*.jsonl``, ``**`` across directories) that names no file as such
    replaced by its matches, sorted; a glob matching nothing stays, and is reported as missing."""
    out: list[str] = []
    for path in inputs:
        if path != "-" and not os.path.exists(path) and glob.has_magic(path):
            out.extend(sorted(glob.glob(path, recursive=True)) or [path])
        else:
            out.append(path)
    return out


def _shards(
    inputs: list[str], summary: RescoreSummary, skip: Callable[[str, str], None], records: int | None = None
) -> Iterator[Shard]:
    """Every record of ``inputs`` (globs expanded, directories walked) in order, in shards of ``records`` records
    (default :data:`BATCH`); unreadable inputs reported. A ``.jsonl`` file is cut into runs of whole lines and never
    parsed here (the workers parse it); other formats are read here."""
    per_shard = records or BATCH
    shard: Shard = []
    size = 0
    for path in expand_inputs(inputs):
        if path != "-" and not os.path.exists(path):
            summary.unreadable.append(path)
            skip(path, "no such file or directory")
            continue
        try:
            for file in record_files(path) if os.path.isdir(path) else (path,):
                if file == "-" or not file.endswith(".jsonl"):
                    for record in iter_records(file):
                        shard.append(record)
                        size += 1
                        if size >= per_shard:
                            yield shard
                            shard, size = [], 0
                    continue
                with open(file, "rb") as fh:
                    line = 1
                    while lines := list(islice(fh, per_shard - size)):
                        shard.append(Lines(file, line, b"".join(lines)))
                        line += len(lines)
                        size += len(lines)
                        if size >= per_shard:
                            yield shard
                            shard, size = [], 0
        except OSError as exc:
            summary.unreadable.append(path)
            skip(path, f"cannot read: {exc.strerror or exc}")
    if shard:
        yield shard


class _Screen:
    """Call ids seen before in this run, resolved by the duplicate policy (see the module docstring)."""

    def __init__(self, summary: RescoreSummary, policy: str, report: Callable[[dict[str, Any]], None]) -> None:
        self.summary, self.policy, self.report = summary, policy, report
        self.versions: dict[str, list[tuple[str, str]]] = {}  # call_id -> [(content hash, source)] of distinct contents

    def admit(self, call_id: str, digest: str, source: str) -> str | None:
        """The id to score the transcript under, or ``None`` when it repeats one already scored in this run."""
        seen = self.versions.get(call_id)
        if seen is None:
            self.versions[call_id] = [(digest, source)]
            return call_id
        notice = {"object": "trace.rescore.duplicate_id", "id": call_id, "source": source}
        same = next((src for d, src in seen if d == digest), None)
        if same is not None:
            self.summary.repeats += 1
            self.report({**notice, "first_source": same, "identical": True, "resolution": "not scored again (same content)"})
            return None
        earlier = seen[-1][1]
        seen.append((digest, source))
        if self.policy == "suffix":
            renamed = f"{call_id}#{len(seen)}"
            self.summary.renamed += 1
            self.report({**notice, "first_source": seen[0][1], "identical": False, "resolution": f"scored as {renamed}"})
            return renamed
        self.summary.conflicts += 1
        self.report({**notice, "first_source": earlier, "identical": False, "resolution": f"supersedes the transcript at {earlier}"})
        return call_id


def _pool(engine: str, workers: int | None, address: str | None, initargs: tuple) -> Any:
    """The executor of the map step: a local process pool, or Ray tasks (``submit(fn, shard)`` → ``.result()``)."""
    if engine == "ray":
        from trace_engine.rescore_ray import RayPool

        return RayPool(address, workers or None, initargs)
    from trace_engine.rescore_pool import LocalPool

    return LocalPool(workers or os.cpu_count() or 1, _worker_score, _worker_init, initargs)


def rescore(
    inputs: list[str],
    *,
    db: str = "trace.db",
    config: dict[str, Any] | str | TraceConfig | None = None,
    tenant: str = "default",
    agent_id: str | None = None,
    workers: int | None = 1,
    key: str | None = None,
    tier2: bool = False,
    duplicate_ids: str = "supersede",
    engine: str = "local",
    address: str | None = None,
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
    scorecard's audit hash. Raises ``StoreError``/``OSError`` only when the database itself fails. ``db`` is a
    SQLite path or a ``postgresql://`` URL.

    ``engine``: where scoring runs. ``local`` (default): this process, or a pool of ``workers`` processes.
    ``ray``: one Ray task per shard on the cluster at ``address`` (:mod:`trace_engine.rescore_ray`; ``workers``
    shards at once, default the cluster's CPUs). Either way this process is the one sequencer of the tenant's log,
    so a run is idempotent and resumable the same way.
    """
    if duplicate_ids not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicate_ids must be one of {DUPLICATE_POLICIES}, got {duplicate_ids!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    summary = RescoreSummary()
    cfg = offline_config(config)
    tier2_config = cfg.tier2 if cfg.tier2 is not None else {}
    log: EvidenceLog | None = None
    # the log's checkpoints (SQLite's WAL) run off the appending thread: a commit never waits for their syncs
    background = ExitStack()

    def open_log() -> EvidenceLog:
        opened = EvidenceLog(db, key)
        background.enter_context(opened.store.checkpoints_in_background())
        return opened

    def skip(source: str, reason: str) -> None:
        if on_skip:
            on_skip(f"{source}: {reason}")
        if on_report:
            on_report({"object": "trace.rescore.skipped", "source": source, "reason": reason})

    def report(notice: dict[str, Any]) -> None:
        if on_report:
            on_report(notice)

    # Whether to look up what each call supersedes before scoring it. A tenant whose log is empty when the run
    # starts has nothing to supersede but this run's own records: those the sequencer links itself (it relinks the
    # record, and knows the superseded record's rollup contribution from its own appends), so nobody reads the log
    # for them. Otherwise each shard's calls are looked up (by the workers, in parallel) and the sequencer only checks.
    lookups = False

    def supersedes(call_ids: list[str]) -> dict[str, Latest]:
        """What each call's record will supersede, as far as the log knows now (the sequencer checks)."""
        return log.latest_records(tenant, call_ids) if lookups and log is not None and call_ids else {}

    screen = _Screen(summary, duplicate_ids, report)
    parent_engine: list[Engine] = []

    def take(shard: Shard, outcomes: list[Outcome]) -> None:
        """Screen a shard's outcomes in input order, then append what is to be appended."""
        pending: list[tuple[str, ReadyRecord | str, Transcript | None]] = []
        records: list[Record] | None = None  # the shard parsed here, only when a record is scored again here
        for i, outcome in enumerate(outcomes):
            summary.inputs += 1
            if isinstance(outcome, TranscriptError):
                summary.skipped.append(str(outcome))
                skip(f"{outcome.file}:{outcome.line}", outcome.message)
                continue
            if isinstance(outcome, NotScored):
                summary.not_scored.append(outcome)
                report({"object": "trace.rescore.not_scored", "id": outcome.call_id, "source": outcome.source,
                        "reason": outcome.reason})
                continue
            call_id = screen.admit(outcome.call_id, outcome.content_hash, outcome.source)
            if call_id is None:
                continue
            result, transcript = outcome.result, outcome.transcript
            if call_id != outcome.call_id:  # renamed by the suffix policy: scored again, here, under its new id
                if records is None:
                    records = list(shard_records(shard))
                again = records[i]
                assert isinstance(again, Transcript) and again.content_hash == outcome.content_hash
                again.call_id = call_id
                if not parent_engine:
                    parent_engine.append(Engine.from_config(cfg))
                result = ready_safely(parent_engine[0], again, supersedes([call_id]).get(call_id), tenant, agent_id)
                transcript = again if tier2 else None
            pending.append((outcome.source, result, transcript))
        commit(pending)

    def commit(pending: list[tuple[str, ReadyRecord | str, Transcript | None]]) -> None:
        nonlocal log
        ready: list[tuple[str, ReadyRecord, Transcript | None]] = []
        for source, result, transcript in pending:
            if isinstance(result, str):
                summary.skipped.append(f"{source}: {result}")
                skip(source, result)
            else:
                ready.append((source, result, transcript))
        if not ready:
            return
        if log is None:
            log = open_log()
        stored = log.append_many([rec for _, rec, _ in ready], skip_invalid=True)
        if tier2:
            _judge_tier2(log, tenant, tier2_config, [(t, rec) for _, rec, t in ready], stored)
        for (source, rec, _), result in zip(ready, stored, strict=True):
            if result.status == "invalid":
                reason = f"the evidence log refused the scorecard: {result.error}"
                summary.skipped.append(f"{source}: {reason}")
                skip(source, reason)
                continue
            summary.scored += 1
            summary.turns += rec.turns
            summary.verdicts[rec.verdict] = summary.verdicts.get(rec.verdict, 0) + 1
            if result.status == "duplicate":
                summary.duplicates += 1
                status = "unchanged"
            else:
                summary.appended += 1
                summary.superseded += bool(result.supersedes)
                status = "supersedes" if result.supersedes else "appended"
            if on_result:
                line = interaction_line(rec, result.audit_hash)
                line.update(rescore=status, supersedes=result.supersedes, source=source)
                on_result(line)

    config_json = cfg.model_dump_json()
    try:
        # look up what the records will supersede; a new SQLite log is created only when there is a record
        if db.startswith(("postgresql://", "postgres://")) or os.path.exists(db):
            log = open_log()
            lookups = log.size(tenant) > 0
        initargs = (config_json, tenant, agent_id, db if lookups else None, tier2)
        if engine == "local" and (workers or 1) <= 1:
            parent_engine.append(Engine.from_config(cfg))
            for shard in _shards(inputs, summary, skip):
                take(shard, score_shard(parent_engine[0], shard, supersedes, tenant, agent_id, tier2))
        else:
            if engine == "local" and multiprocessing.get_start_method() == "fork":
                parent_engine.append(Engine.from_config(cfg))
                _FORKED[config_json] = parent_engine[0]
            with _pool(engine, workers, address, initargs) as pool:
                workers = getattr(pool, "workers", workers) or 1
                # A local worker scores a quarter batch at a time, so that the run's last shards, scored while the
                # other core has nothing left to do, are short; a transaction still appends a batch or more. Ray
                # tasks cost more to start, and stay whole batches.
                per_shard = BATCH if engine == "ray" else max(1, BATCH // LOCAL_SHARDS_PER_BATCH)
                shards = _shards(inputs, summary, skip, per_shard)
                in_flight = workers * 2 * (BATCH // per_shard)
                pending = deque((s, pool.submit(_worker_score, s)) for s in islice(shards, in_flight))
                more = len(pending) == in_flight
                if not more:
                    pool.finish()
                while pending:
                    taken: list[Shard] = []
                    outcomes: list[Outcome] = []
                    # Shards join one transaction until it holds a batch (the commit's fixed cost: checkpoint,
                    # signature, rollup); those already scored behind it join it too, so that when this process
                    # falls behind (the cores busy scoring) it commits fewer, bigger batches. Once the input is
                    # read, each shard is committed as it comes, so the last commit is short.
                    while pending and (
                        not taken
                        or (more and len(outcomes) < BATCH)
                        or (pending[0][1].done() and len(outcomes) < in_flight * per_shard)
                    ):
                        shard, done = pending.popleft()
                        outcomes += decode_outcomes(done.result())
                        taken.append(shard)
                        if more:
                            nxt = next(shards, None)
                            if nxt is None:
                                more = False
                                pool.finish()
                            else:
                                pending.append((nxt, pool.submit(_worker_score, nxt)))
                    take([piece for shard in taken for piece in shard], outcomes)
    finally:
        _FORKED.pop(config_json, None)
        try:
            background.close()  # raises when the WAL could not be checkpointed: the log is closed all the same
        finally:
            if log is not None:
                summary.relinked = log.relinked
                log.close()
    return summary


def _judge_tier2(
    log: Any, tenant: str, tier2_config: Any, pairs: list[tuple[Transcript | None, ReadyRecord]], stored: list[Any]
) -> None:
    from trace_engine.tier2.runner import judge_transcript
    from trace_engine.tier2.store import append_findings

    found: list[dict[str, Any]] = []
    for (transcript, card), result in zip(pairs, stored, strict=True):
        if result.status == "invalid" or transcript is None:
            continue
        for finding in judge_transcript(transcript, tier2_config, call_id=card.call_id, agent_id=card.agent_id):
            finding.setdefault("audit_hash", result.audit_hash)
            found.append(finding)
    if found:
        append_findings(log, tenant, found)
