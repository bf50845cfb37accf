"""Streaming agent turns: speak what is already safe while the LLM is still writing.

``feed(chunk)`` (in the core) returns the newly safe part of what will be spoken. It holds back only a suffix that
could still change: the last few words (the longest phrase in the enabled packs, in tokens, plus slack), extended
over any run of digits, number words, spelled letters or ``dot``/``at`` words that a detector could still turn into
a hit. Everything before that point is final: the same edits apply to it whatever comes next, so the concatenation
of ``feed`` results and :attr:`AgentStream.tail` equals the text a whole-turn check gives.

Two things make a stream hold everything for a while: a first-turn disclosure that modify mode would prefix (we
cannot know before the turn ends whether the agent says it itself), and a violation that will suppress the turn
(block and handoff modes) — what was already spoken cannot be taken back, so nothing more is released and the
fallback line is the tail. :attr:`AgentStream.suppressing` says so as soon as it is known (once whitespace follows the
violation's last word), so a turn loop can stop the model early.

Work per feed is proportional to the new text plus the words since the last point where the normalizer can restart
(see ``core/src/engine/stream.rs``): the view, the automaton's state and the settled matches are carried from chunk
to chunk, and :meth:`AgentStream.close` decides the whole turn from them instead of checking it again. A feed matches
the turn's complete words: a word still being written (no whitespace after it yet: models stream words in pieces) is
held back, and matched once it is complete, so its prefixes give no hit that comes and goes.

When the caller barges in, :meth:`AgentStream.interrupt` re-scores the turn on what was actually spoken (see
:mod:`trace_engine.gate.bargein`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trace_engine import _core
from trace_engine.gate import bargein
from trace_engine.gate.call import CallEndedError, _check_text
from trace_engine.text.numbers import NUMBER_PASS_WORDS

if TYPE_CHECKING:
    from trace_engine.gate.decision import Decision

#: words a detector may still join to what follows (number words, spoken symbols): the hold-back extends over them
STICKY_WORDS: frozenset[str] = NUMBER_PASS_WORDS | {"dot", "at", "dash", "hyphen", "underscore"}


class AgentStream(_core.StreamCore):
    """One streamed agent turn. Use :meth:`Call.agent_stream`.

    ``feed(chunk) -> str`` adds a chunk and returns what is now safe to speak; ``close() -> Decision`` finishes the
    turn (both in the core: ``close`` checks the turn whole from what the feeds carried and takes the call's barge-in
    checkpoint). Attributes: ``buffer`` (the turn as written so far), ``emitted`` (released by the feeds), ``tail``
    (what remains to speak after ``close``), ``decision`` (the decision at close), ``interrupted``, ``suppressing``,
    ``max_holdback_chars``, ``chunk_latencies_ns``.
    """

    @property
    def spoken(self) -> str:
        """Everything released so far, plus the tail once closed; after :meth:`interrupt`, what was heard."""
        if self._heard is not None:
            return self._heard
        return self.emitted + self.tail

    def _check_feed(self, chunk: Any) -> None:
        if self.call.ended:
            raise CallEndedError(f"feed: call {self.call.call_id!r} has ended")
        _check_text(chunk, "feed")

    def interrupt(self, spoken_chars: int, *, detect_ms: float | None = None) -> Decision:
        """The caller barged in after ``spoken_chars`` characters of what this stream released (the ``feed``
        results, then :attr:`tail`) had been spoken.

        An open stream is closed first on what the model wrote so far, and nothing more is released (the tail is
        dropped). The turn is then re-scored on the spoken text (see :mod:`trace_engine.gate.bargein`): the
        timeline keeps what was said and marks the rest ``interrupted``. Returns the decision on what was
        spoken. Never raises on a gate error (the turn's evidence then stays as committed)."""
        if self.interrupted:
            raise RuntimeError("stream already interrupted")
        if not self.closed:
            spoken_chars = min(spoken_chars, len(self.emitted))  # speech never got more than was released
            self.close()
        self.interrupted = True
        released = self.emitted + self.tail
        spoken_chars = max(0, min(int(spoken_chars), len(released)))
        self._heard = released[:spoken_chars]
        decision = self.decision
        assert decision is not None
        if spoken_chars == len(released):
            return decision  # everything was said: the caller spoke after the turn, not over it
        try:
            return bargein.rescore(
                self.call,
                bargein.recall(self.call, self),
                committed_seq=self._committed_seq,
                original=self.buffer,
                decision=decision,
                released=released,
                spoken_chars=spoken_chars,
                t=self.t,
                detect_ms=detect_ms,
            )
        except Exception:  # noqa: BLE001 - fail open: the evidence keeps the committed turn
            self.call.errors += 1
            return decision
