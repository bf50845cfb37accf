"""Streaming agent turns: speak what is already safe while the LLM is still writing.

``feed(chunk)`` re-checks the buffered turn and returns the newly safe part of what will be spoken. It holds back
only a suffix that could still change: the last few words (the longest phrase in the enabled packs, in tokens,
plus slack), extended over any run of digits, number words, spelled letters or ``dot``/``at`` words that a detector
could still turn into a hit. Everything before that point is final: the same edits apply to it whatever comes next,
so the concatenation of ``feed`` results and :attr:`AgentStream.tail` equals the text a whole-turn check gives.

Two things make a stream hold everything for a while: a first-turn disclosure that modify mode would prefix (we
cannot know before the turn ends whether the agent says it itself), and a violation that will suppress the turn
(block and handoff modes) — what was already spoken cannot be taken back, so nothing more is released and the
fallback line is the tail. :attr:`AgentStream.suppressing` says so as soon as it is known, so a turn loop can stop
the model early.

When the caller barges in, :meth:`AgentStream.interrupt` re-scores the turn on what was actually spoken (see
:mod:`reference_gate.gate.bargein`).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from typing import TYPE_CHECKING

from reference_gate.gate import bargein
from reference_gate.gate.decision import Decision
from reference_gate.gate.session import removal_extent
from reference_gate.text.normalize import normalize
from reference_gate.text.numbers import NUMBER_PASS_WORDS

if TYPE_CHECKING:
    from reference_gate.gate.session import Call

#: raw words that can be part of a detector hit spanning several words
_STICKY_WORDS = NUMBER_PASS_WORDS | {"dot", "at", "dash", "hyphen", "underscore"}


def _word_starts(text: str) -> list[int]:
    starts = []
    prev_space = True
    for i, ch in enumerate(text):
        space = ch.isspace()
        if prev_space and not space:
            starts.append(i)
        prev_space = space
    return starts


#: what a word's slice is trimmed of before it is judged: every character ``str.isspace`` accepts (a word's slice runs
#: to the next word, so it ends in whatever whitespace separates them, a no-break space too), and punctuation
_TRIM = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace()) + ",;:!?\"()[]"


def _sticky(word: str) -> bool:
    """Whether a detector could still take ``word`` into a hit with the words after it. The word is judged as
    written and as the detectors read it: punctuation the normalizer splits at glues words ("one\u2013one" is read
    "1 1", a card's digits) and folding turns letters into others ("\uff4f\uff4e\uff45" is "1"), so it is sticky when
    any of its normalized tokens is."""
    core = word.strip(_TRIM).casefold()
    if not core:
        return True
    return _sticky_token(core) or any(_sticky_token(token) for token in normalize(core).tokens)


def _joins_numbers(word: str) -> bool:
    """Whether ``word`` is an ``and``, which the number pass reads inside a compound ("one hundred and five" is
    105): held with the number words before it, or a digit run that later grows back over the compound would release
    its first words before the detectors see the whole number."""
    return word.strip(_TRIM).casefold() == "and"


def _sticky_token(core: str) -> bool:
    if core in _STICKY_WORDS or len(core) == 1:
        return True
    return any(ch.isdigit() or ch in "@._-" for ch in core)


class AgentStream:
    """One streamed agent turn. Use :meth:`Call.agent_stream`."""

    def __init__(self, call: Call, t: float | None) -> None:
        self.call = call
        self.t = t
        self.buffer = ""
        self.emitted = ""
        self.tail = ""
        self.closed = False
        self.failed = False
        self.chunk_latencies_ns: list[int] = []
        self.max_holdback_chars = 0
        #: the turn will be suppressed (block/handoff) whatever comes next, as far as the text so far shows
        self.suppressing = False
        #: the decision at close (for :meth:`interrupt`)
        self.decision: Decision | None = None
        self._committed_seq = -1
        self.interrupted = False
        self._heard: str | None = None

    @property
    def spoken(self) -> str:
        """Everything released so far, plus the tail once closed; after :meth:`interrupt`, what was heard."""
        if self._heard is not None:
            return self._heard
        return self.emitted + self.tail

    def feed(self, chunk: str) -> str:
        """Add ``chunk``; return the part of the turn that is now safe to speak (possibly empty).

        A chunk that arrives after :meth:`close` (the LLM still writing after a barge-in) is dropped: nothing more
        of this turn is spoken, and ``""`` is returned. Raises ``TypeError`` for a chunk that is not a ``str`` and
        :class:`~reference_gate.gate.session.CallEndedError` once the call has ended; never on content.
        """
        if chunk.__class__ is not str or self.call.ended:
            self._check_feed(chunk)
        if self.closed:
            return ""
        started = time.perf_counter_ns()
        self.buffer += chunk
        if self.failed:
            self.emitted += chunk
            return chunk
        try:
            delta = self._release()
        except Exception:  # noqa: BLE001 - fail open: pass the text through, as the whole-turn gate would
            self.failed = True
            self.call.errors += 1  # close() records the turn redacted by the detectors alone (never raw)
            delta = self.buffer[len(self.emitted) :] if self.buffer.startswith(self.emitted) else ""
            self.emitted += delta
        self.chunk_latencies_ns.append(time.perf_counter_ns() - started)
        return delta

    def _check_feed(self, chunk: object) -> None:
        from reference_gate.gate.session import CallEndedError, _check_text

        if self.call.ended:
            raise CallEndedError(f"feed: call {self.call.call_id!r} has ended")
        _check_text(chunk, "feed")

    def _release(self) -> str:
        call = self.call
        text = self.buffer
        starts = _word_starts(text)
        # a word with no whitespace after it yet is still being written (" Hel", then "lo"): the turn is evaluated
        # without it, so its prefixes give no hit that comes and goes ("hell"); it is held back either way
        seen = text[: starts[-1]] if starts and not text[-1].isspace() else text
        outcome = call._evaluate(seen, self.t, final=False)
        plan = call._plan(outcome)
        self.suppressing = bool(plan.suppress)
        if plan.suppress or outcome.unresolved_prefix:
            return ""
        safe = self._safe_end(text, call.program.hold_back_tokens)
        # an edit that reaches the safe end is held back whole, from the start of the word it starts in and the
        # sticky run before that word: a later hit may take it in from further back (while "12345-6789 hundred..."
        # is written, a hit reads from "6789"; the whole turn reads "12345-6789" and masks from "12345"), so
        # releasing up to the edit's start, mid-word, would speak "12345-"; repeated until no edit reaches it
        moved = True
        while moved:
            moved = False
            for start, end, repl in plan.edits:
                if repl == "":
                    start, end = removal_extent(text, start, end)
                if start < safe <= end:
                    word = max(0, bisect_right(starts, start) - 1)
                    safe = min(start, self._hold_from(text, starts, word)) if starts else start
                    moved = True
        rendered = plan.render(self.buffer, upto=safe)
        self.max_holdback_chars = max(self.max_holdback_chars, len(self.buffer) - safe)
        if not rendered.startswith(self.emitted):
            return ""  # never contradict what was already released; hold until close
        delta = rendered[len(self.emitted) :]
        self.emitted = rendered
        return delta

    @staticmethod
    def _safe_end(text: str, hold_words: int) -> int:
        """The original offset before which nothing can change any more."""
        starts = _word_starts(text)
        if not starts:
            return len(text)
        ends_clean = text[-1].isspace()
        held = hold_words if ends_clean else hold_words + 1
        if len(starts) <= held:
            return 0
        return AgentStream._hold_from(text, starts, len(starts) - held)

    @staticmethod
    def _hold_from(text: str, starts: list[int], i: int) -> int:
        """Where the safe text ends when word ``i`` is held: the run of sticky words before it is held too (a
        detector may still join them to it), and one more word."""

        def word(k: int) -> str:
            return text[starts[k] : (starts[k + 1] if k + 1 < len(starts) else len(text))]

        while i > 0 and (_sticky(word(i - 1)) or (i > 1 and _joins_numbers(word(i - 1)) and _sticky(word(i - 2)))):
            i -= 1
        if i > 0:
            i -= 1  # one more word: the local part of a spoken email, or a number's lead-in
        safe = starts[i]
        while safe > 0 and text[safe - 1] in " \t,;:":
            safe -= 1  # a removal in the held words may take the comma before them too
        return safe

    def close(self) -> Decision:
        """Finish the turn: returns the whole-turn :class:`Decision`; :attr:`tail` is what remains to speak."""
        if self.closed:
            raise RuntimeError("stream already closed")
        self.closed = True
        call = self.call
        if self.failed:
            decision = call._unavailable(self.buffer, self.t, 0, commit=None)
            self.tail = self.buffer[len(self.emitted) :]
            self.decision, self._committed_seq = decision, call.seq
            return decision
        bargein.remember(call, self)
        decision = call.agent_turn(self.buffer, self.t)
        self.decision, self._committed_seq = decision, call.seq
        text = decision.text or ""
        if decision.action in ("block", "handoff"):
            self.tail = text if not self.emitted else (" " + text if text else "")
        elif text.startswith(self.emitted):
            self.tail = text[len(self.emitted) :]
        else:  # cannot happen when _release holds correctly; say the rest of the decided text rather than repeat
            self.tail = text[len(self.emitted) :] if len(text) > len(self.emitted) else ""
        return decision

    def interrupt(self, spoken_chars: int, *, detect_ms: float | None = None) -> Decision:
        """The caller barged in after ``spoken_chars`` characters of what this stream released (the ``feed``
        results, then :attr:`tail`) had been spoken.

        An open stream is closed first on what the model wrote so far, and nothing more is released (the tail is
        dropped). The turn is then re-scored on the spoken text (see :mod:`reference_gate.gate.bargein`): the
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
