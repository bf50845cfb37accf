"""Number words for the normalized view: the tables of the compound-number parser and the digit-run pass.

The number pass runs in the native core (``core/src/text/numbers.rs``) over the item stream of the tokenizer:
each item is ``(text, original span, gap, kind)`` where the gap classifies the original characters between the
previous item and this one (whitespace only or nothing; hyphens and whitespace; anything else, e.g. a comma) and
the kind is a word, written digits, a decimal or a phrase placeholder. This module exposes its word tables.

Rules:

* **Fillers** ("uh", "um", …) are removed first; the gap they leave is the widest of the gaps around them, so
  ``four one uh one one`` still reads as one digit run.
* **Digit items** are: a written run of ASCII digits; ``zero`` … ``nine`` and ``niner`` (unless followed by
  ``hundred`` / ``thousand`` / ``million`` / ``billion``, which makes them part of a compound); ``oh`` / ``o`` /
  ``nought`` / ``naught`` (zero); and
  ``double X`` / ``triple X`` / ``treble X`` with X a single-digit word, ``oh``/``o`` or a one-digit written
  number.
* A **digit run** is a maximal sequence of digit items separated only by whitespace (or by a removed filler).
  It becomes one digit token spanning the whole run: ``four one one one`` → ``4111``,
  ``4111 one one one`` → ``4111111``, ``double five`` → ``55``. Two *written* digit groups never merge with
  each other (``4111 1111`` stays two tokens), so the writer's grouping survives for the detectors (a card
  followed by a written expiry ``4111 1111 1111 1111 12 25`` is still found). A run made only of ``oh``/``o`` is left alone
  (``oh okay`` keeps ``oh``), so ``oh`` is a zero only next to another digit. Commas, dashes, dots and other
  punctuation end a run (``four one five, five five five`` → ``415 555``); detectors read token sequences.
* **Compound numbers** (teens, tens, ``hundred``, scales) become their own digit token and never merge with
  neighbouring digit runs: ``twenty five`` → ``25``, ``nineteen`` → ``19``, ``one hundred`` → ``100``,
  ``two thousand twenty four`` → ``2024``, ``one hundred and five`` → ``105``. Year-style pairs stay apart
  (``nineteen eighty four`` → ``19 84``). Words of a compound may be separated by whitespace or a hyphen.
"""

from __future__ import annotations

from types import MappingProxyType

from trace_engine._core import TEXT_TABLES

__all__ = [
    "UNITS", "TEENS", "TENS", "SCALES", "HUNDRED", "MULTIPLIERS", "ZERO_WORDS", "REPEATERS", "FILLERS",
    "COMPOUND_WORDS", "NUMBER_PASS_WORDS",
]

# The tables are defined once, in the native core (core/src/text/words.rs); these are read-only views of them.
UNITS: MappingProxyType[str, int] = MappingProxyType(TEXT_TABLES["UNITS"])
TEENS: MappingProxyType[str, int] = MappingProxyType(TEXT_TABLES["TEENS"])
TENS: MappingProxyType[str, int] = MappingProxyType(TEXT_TABLES["TENS"])
SCALES: MappingProxyType[str, int] = MappingProxyType(TEXT_TABLES["SCALES"])
HUNDRED: str = TEXT_TABLES["HUNDRED"]
MULTIPLIERS: frozenset[str] = frozenset({HUNDRED, *SCALES})
ZERO_WORDS: frozenset[str] = frozenset(TEXT_TABLES["ZERO_WORDS"])
REPEATERS: MappingProxyType[str, int] = MappingProxyType(TEXT_TABLES["REPEATERS"])
FILLERS: frozenset[str] = frozenset(TEXT_TABLES["FILLERS"])
COMPOUND_WORDS: frozenset[str] = frozenset({*UNITS, *TEENS, *TENS, *MULTIPLIERS})
#: every word the number pass may rewrite or drop
NUMBER_PASS_WORDS: frozenset[str] = frozenset({*COMPOUND_WORDS, *ZERO_WORDS, *REPEATERS, *FILLERS})
