"""Running the judges: inline beside the gate (:class:`Tier2Runner`) and offline (:func:`judge_transcript`).

Inline, the runner is a gate observer (``Engine.from_config(cfg, observers=(runner,))``). ``on_turn`` keeps the
call's last ``window_turns`` turns and appends ``(call, window)`` to a bounded deque: O(1), no model work, no I/O.
When the deque is full the *oldest* item is dropped and counted (``runner.dropped``): under pressure the freshest
turns matter most. A single worker judges items in order and

* appends each ``preempt_next`` instruction to ``call.preempt`` (the gate hands it to the next agent
  ``Decision.preempt``) and calls ``on_preempt(call, finding)``;
* calls ``on_finding(finding)``; keeps ``escalate``/``critical`` findings in ``runner.alerts``;
* writes findings to the evidence DB's ``tier2_findings`` table (``db=``), keyed to the call.

``mode="thread"`` judges in a daemon thread. ``mode="process"`` keeps only a tiny dispatcher thread in the
gate's process and judges in one spawned worker process, so model work never holds the gate's GIL (use it when
the gate's p99 matters; see ``benchmarks/tier2_quality.py``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from trace_engine.tier2.config import Tier2Config
from trace_engine.tier2.context import CallContext, ContextTracker
from trace_engine.tier2.encoder import EncoderUnavailable
from trace_engine.tier2.judges import JudgeContext, Turn, applies, get_judge, make_finding

ALERT_ACTIONS = {"escalate"}
#: the checks that need the sentence encoder (the ``tier2`` extra)
ENCODER_CHECKS = frozenset({"ambiguous_optout", "brand_tone", "minimum_necessary", "hallucination"})


def require_encoder(config: Tier2Config) -> None:
    """Fail early, with the install hint, when a configured check needs the encoder and it is not installed."""
    if config.enabled and ENCODER_CHECKS.intersection(config.checks):
        from trace_engine.tier2.encoder import check_installed

        check_installed()


def _judges(config: Tier2Config) -> list[Any]:
    out: list[Any] = []
    llm_checks = set(config.llm.checks) if config.llm.enabled and config.llm.url else set()
    for check in config.checks:
        if not (check in llm_checks and config.llm.replace_local):
            out.append(get_judge(check))
        if check in llm_checks:
            from trace_engine.tier2.llm import LLMJudge

            out.append(LLMJudge(check, config.llm))
    return out


_JUDGE_CACHE: dict[int, tuple[Tier2Config, list[Any]]] = {}


def judge_window(
    config: Tier2Config,
    window: tuple[Turn, ...],
    *,
    call_id: str | None = None,
    agent_id: str | None = None,
    turn_index: int | None = None,
    call: CallContext | None = None,
) -> list[dict[str, Any]]:
    """Judge the last turn of ``window`` with every configured check; return ``TraceFinding`` dicts.

    ``call`` is the call's context as of this turn (:class:`ContextTracker`); without it the checks read the
    context from the window alone. A missing encoder raises :class:`EncoderUnavailable`; any other error in one
    judge is swallowed so that it cannot silence the others."""
    if not window or not config.enabled:
        return []
    cached = _JUDGE_CACHE.get(id(config))
    if cached is None or cached[0] is not config:
        cached = _JUDGE_CACHE[id(config)] = (config, _judges(config))
    ctx = JudgeContext(config, call_id, agent_id, call)
    last = window[-1]
    out: list[dict[str, Any]] = []
    for judge in cached[1]:
        if not applies(judge, last.role):
            continue
        try:
            verdicts = judge.judge(window, ctx)
        except EncoderUnavailable:
            raise
        except Exception:  # noqa: BLE001 - one broken judge must not silence the others
            continue
        for v in verdicts:
            if v.confidence >= config.min_confidence:
                out.append(make_finding(v, interaction_id=call_id, agent_id=agent_id, at_t=last.t,
                                        turn_index=turn_index))
    return out


def _turns_of(transcript: Any) -> list[Turn]:
    """Accepts a :class:`trace_engine.transcripts.Transcript`, ``{"turns": [...]}`` (also nested under
    ``transcript``), or a list of ``{role, text, t|start_ms}`` dicts / ``(role, text, t)`` tuples. Roles
    ``assistant``/``bot`` read as agent, ``user``/``customer`` as caller."""
    if hasattr(transcript, "turns"):
        transcript = transcript.turns
    if isinstance(transcript, dict):
        transcript = transcript.get("transcript", transcript)
        if isinstance(transcript, dict):
            transcript = transcript.get("turns", [])
    out = []
    for t in transcript or []:
        if isinstance(t, dict):
            role, text = t.get("role"), t.get("text") or ""
            at = t.get("t")
            if at is None and t.get("start_ms") is not None:
                at = t["start_ms"] / 1000.0
        else:
            role, text, at = (tuple(t) + (None,))[:3]
        role = {"assistant": "agent", "bot": "agent", "user": "caller", "customer": "caller"}.get(role, role)
        if role in ("agent", "caller"):
            out.append(Turn(role, text, at))
    return out


def judge_transcript(
    transcript: Any, config: Any = None, *, call_id: str | None = None, agent_id: str | None = None
) -> list[dict[str, Any]]:
    """Offline Tier-2 for one call (``trace rescore --tier2``): every turn judged with its recent window.

    ``config`` is anything :meth:`Tier2Config.from_any` accepts (the block, a whole config with ``tier2``,
    a path, ``None``). ``call_id``/``agent_id`` default to the transcript's own when it has them.
    """
    cfg = Tier2Config.from_any(config)
    if call_id is None:
        call_id = getattr(transcript, "call_id", None) or (
            transcript.get("call_id") if isinstance(transcript, dict) else None)
    if agent_id is None:
        agent_id = getattr(transcript, "agent_id", None) or (
            transcript.get("agent_id") if isinstance(transcript, dict) else None)
    turns = _turns_of(transcript)
    require_encoder(cfg)
    tracker = ContextTracker()
    findings: list[dict[str, Any]] = []
    for i in range(len(turns)):
        window = tuple(turns[max(0, i + 1 - cfg.window_turns) : i + 1])
        call = tracker.feed(turns[i].role, turns[i].text)
        findings.extend(judge_window(cfg, window, call_id=call_id, agent_id=agent_id, turn_index=i, call=call))
    return findings


# ------------------------------------------------------------------------------------------ process mode

_WORKER_CONFIG: Tier2Config | None = None


def _init_worker(config_json: str) -> None:
    global _WORKER_CONFIG
    _WORKER_CONFIG = Tier2Config.model_validate_json(config_json)


def _judge_remote(window: tuple[tuple[str, str, float | None], ...], call_id: str | None, agent_id: str | None,
                  turn_index: int, call: CallContext | None = None) -> list[dict[str, Any]]:
    assert _WORKER_CONFIG is not None
    return judge_window(_WORKER_CONFIG, tuple(Turn(*w) for w in window), call_id=call_id, agent_id=agent_id,
                        turn_index=turn_index, call=call)


class Tier2Runner:
    """The inline observer. See the module docstring."""

    def __init__(
        self,
        config: Any = None,
        *,
        db: Any = None,
        on_preempt: Callable[[Any, dict[str, Any]], None] | None = None,
        on_finding: Callable[[dict[str, Any]], None] | None = None,
        mode: str = "thread",
        keep_findings: int = 10_000,
    ) -> None:
        self.config = Tier2Config.from_any(config)
        self.db = db
        self.on_preempt = on_preempt
        self.on_finding = on_finding
        self.mode = mode
        self._queue: deque[tuple[Any, tuple[Turn, ...], int, frozenset[str]]] = deque()
        #: per call, the context tracker (worker thread only: it sees a call's turns in order)
        self._trackers: dict[int, ContextTracker] = {}
        self._cv = threading.Condition()
        self._windows: dict[int, tuple[deque[Turn], list[int]]] = {}
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._pool: Any = None
        self.enqueued = 0
        self.dropped = 0
        self.judged = 0
        self.errors = 0
        self.findings: deque[dict[str, Any]] = deque(maxlen=keep_findings)
        self.alerts: deque[dict[str, Any]] = deque(maxlen=keep_findings)

    # ------------------------------------------------------------------ observer hooks (gate thread)

    def on_turn(self, call: Any, role: str, text: str, t: float | None) -> None:
        if not self.config.enabled:
            return
        key = id(call)
        st = self._windows.get(key)
        if st is None:
            st = self._windows[key] = (deque(maxlen=self.config.window_turns), [0])
        win, counter = st
        win.append(Turn(role, text, t))
        idx = counter[0]
        counter[0] = idx + 1
        states = getattr(call, "states", None)
        # the gate's question-and-answer states as of this turn (verified, right party, third party...)
        on = frozenset(k for k, v in states.items() if v) if isinstance(states, dict) and states else frozenset()
        item = (call, tuple(win), idx, on)
        with self._cv:
            if len(self._queue) >= self.config.queue_size:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(item)
            self.enqueued += 1
            self._cv.notify()
        if self._thread is None:
            self.start()

    def on_end(self, call: Any, scorecard: Any) -> None:
        self._windows.pop(id(call), None)
        with self._cv:
            self._queue.append((call, (), -1, frozenset()))  # the worker forgets the call's context in order
            self._cv.notify()

    # ------------------------------------------------------------------ worker

    def start(self) -> None:
        require_encoder(self.config)
        with self._cv:
            if self._thread is not None:
                return
            if self.mode == "process":
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker, initargs=(self.config.model_dump_json(),),
                )
            self._thread = threading.Thread(target=self._run, name="trace-tier2", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._busy = False
                    self._cv.notify_all()
                    self._cv.wait()
                if self._stop and not self._queue:
                    self._busy = False
                    self._cv.notify_all()
                    return
                call, window, idx, states = self._queue.popleft()
                self._busy = True
            try:
                if idx < 0:
                    self._trackers.pop(id(call), None)
                    continue
                tracker = self._trackers.get(id(call))
                if tracker is None:
                    tracker = self._trackers[id(call)] = ContextTracker()
                ctx = tracker.feed(window[-1].role, window[-1].text, states)
                self._handle(call, window, idx, ctx)
            except Exception:  # noqa: BLE001 - the worker never dies
                self.errors += 1

    def _judge(self, call: Any, window: tuple[Turn, ...], idx: int, ctx: CallContext) -> list[dict[str, Any]]:
        call_id, agent_id = getattr(call, "call_id", None), getattr(call, "agent_id", None)
        if self._pool is not None:
            payload = tuple((w.role, w.text, w.t) for w in window)
            return self._pool.submit(_judge_remote, payload, call_id, agent_id, idx, ctx).result()
        return judge_window(self.config, window, call_id=call_id, agent_id=agent_id, turn_index=idx, call=ctx)

    def _handle(self, call: Any, window: tuple[Turn, ...], idx: int, ctx: CallContext) -> None:
        findings = self._judge(call, window, idx, ctx)
        self.judged += 1
        if not findings:
            return
        for f in findings:
            if f["action"] == "preempt_next" and f.get("preempt_instruction"):
                pending = getattr(call, "preempt", None)
                if isinstance(pending, list) and not getattr(call, "ended", False):
                    if f["preempt_instruction"] not in pending:
                        pending.append(f["preempt_instruction"])
                if self.on_preempt is not None:
                    try:
                        self.on_preempt(call, f)
                    except Exception:  # noqa: BLE001
                        self.errors += 1
            self.findings.append(f)
            if f["action"] in ALERT_ACTIONS or f["severity"] == "critical":
                self.alerts.append(f)
            if self.on_finding is not None:
                try:
                    self.on_finding(f)
                except Exception:  # noqa: BLE001
                    self.errors += 1
        if self.db is not None:
            from trace_engine.tier2.store import append_findings

            try:
                append_findings(self.db, getattr(call, "tenant", "default"), findings)
            except Exception:  # noqa: BLE001
                self.errors += 1

    # ------------------------------------------------------------------ control

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued item is judged; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def stats(self) -> dict[str, int]:
        return {"enqueued": self.enqueued, "dropped": self.dropped, "judged": self.judged,
                "findings": len(self.findings), "alerts": len(self.alerts), "errors": self.errors,
                "queued": len(self._queue)}

    def alert_feed(self) -> list[dict[str, Any]]:
        return list(self.alerts)


def warm_up(config: Any = None) -> None:
    """Load every configured check's models now (otherwise the first judged turn does)."""
    cfg = Tier2Config.from_any(config)
    for role in ("agent", "caller"):
        judge_window(cfg, (Turn(role, "hello, my date of birth is may first nineteen eighty"),), call_id="warmup")


def tier2_observer_for_bench(config: Any = None, mode: str = "process") -> Tier2Runner:
    """An observer for ``trace bench``'s ``gate_with_tier2``: default checks, no DB. Call ``.close()`` after."""
    return Tier2Runner(config, mode=mode)


def iter_windows(turns: Iterable[Turn], size: int) -> Iterable[tuple[Turn, ...]]:
    buf: deque[Turn] = deque(maxlen=size)
    for t in turns:
        buf.append(t)
        yield tuple(buf)
