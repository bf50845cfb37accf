"""The normalized view of a turn: the text Trace matches phrases, patterns and detectors against.

Every normalized token remembers the span of original characters it came from, so a match found in the
normalized text maps back exactly to the characters a redaction must cut.

Rules (deterministic, linear time, never raise):

0. **Unicode folding** (:mod:`trace_engine.text.fold`, non-ASCII text only): invisible format characters
   (zero-width, soft hyphen, bidi controls, BOM…) dropped; compatibility forms (fullwidth, mathematical
   alphanumerics, no-break space…) and every Unicode decimal digit made ASCII; combining marks dropped;
   confusable letters (Cyrillic ``е``…) replaced by their ASCII skeleton in words made only of such letters and
   ASCII. Tokens are read from the folded text; their spans are mapped back to the original characters.
1. **Case and quotes.** Tokens are case-folded (``str.casefold``). Curly apostrophes (’ ‘ ʼ) count as ``'``;
   other quotes are punctuation.
2. **Tokens.** A word is a run of letters/digits (Unicode ``\\w`` without ``_``); punctuation at word edges is
   dropped and whitespace collapses to one space. Inside a word:

   * an apostrophe between letters keeps the word together (contractions, ``o'clock``);
   * a hyphen splits (``re-call`` → ``re call``, ``4111-1111`` → ``4111 1111``); so do slashes, parentheses…;
   * a dot between two characters of which at least one is not a digit becomes the token ``dot``
     (``jane.doe`` → ``jane dot doe``, ``example.com`` → ``example dot com``), an underscore becomes
     ``underscore``; a comma splits;
   * digit groups: ``12.99`` (exactly two groups joined by a dot) stays one decimal token; ``1,000`` /
     ``1,000,000.50`` (thousands grouping) becomes ``1000`` / ``1000000.50``; any other dot/comma-joined digit
     groups (``415.555.0198``, ``192.168.1.1``) split into separate digit tokens with no ``dot`` token.
     Consequently a sentence written without a space after its period (``no.Then``) reads ``no dot then``.
3. **Symbols.** ``@`` → ``at``; ``%`` → ``percent``; ``$12`` / ``$ 12.99`` → ``12 dollars`` /
   ``12.99 dollars`` where *both* tokens map to the whole ``$12`` span (so original starts stay
   non-decreasing); a lone ``$`` → ``dollars``.
4. **Contractions** expand to several tokens that all map to the contraction's original span:
   ``don't`` → ``do not``, ``can't``/``cannot`` → ``can not``, ``won't`` → ``will not``, ``ain't`` → ``is not``,
   ``i'm`` → ``i am``, ``it's``/``he's``/``that's``… → ``… is``, ``let's`` → ``let us``, ``y'all`` → ``you all``,
   ``gonna`` → ``going to``, ``wanna`` → ``want to``, ``gotta`` → ``got to`` (full table in :data:`CONTRACTIONS`).
   Other words: ``X'll`` → ``X will``, ``X've`` → ``X have``, ``X're`` → ``X are``, ``X'd`` → ``X would``,
   ``X'm`` → ``X am``, ``Xn't`` → ``X not``; a trailing possessive ``'s`` is dropped (``john's`` → ``john``,
   ``90's`` → ``90``); any other apostrophe word is kept as one token (``o'clock``).
5. **Spelled words**: three or more single letters, each a word of its own, separated all by spaces or all by
   the same one of ``- . _ * / | + ~ · •`` become one word spanning them (``g u a r a n t e e d``, ``g.u.a.r.a.n.t.e.e.d``,
   ``s a m at …`` → ``sam at …``, ``U.S.A.`` → ``usa``), except a run of ``o`` only (zeros between digits).
   **Fillers** ``uh um uhm umm er erm ah hmm hm mm`` are removed; they never break a phrase or a digit run.
6. **Numbers** (see :mod:`trace_engine.text.numbers`): ``zero``–``nine`` (and ``niner``) are digits; whitespace-adjacent
   digit words merge into one digit token, also with an adjacent written group (``four one one one`` →
   ``4111``, ``4111 one one`` → ``411111``), but two written groups stay apart (``4111 1111``); ``oh``/``o`` is ``0`` only inside such a run; ``double five`` → ``55``,
   ``triple seven`` → ``777``; compounds are their own token (``twenty five`` → ``25``,
   ``two thousand twenty four`` → ``2024``). Punctuation (comma, dash, dot) ends a digit run.

Phrases in rule packs go through the same rules (:func:`normalize_phrase`), except that ``{variable}``
placeholders and ``*`` gap tokens pass through untouched as single tokens.

Implemented in the native core (``core/src/text/normalize.rs``, one pass over the characters, no allocation per
token); the view is :class:`NormalizedText`, offsets in characters as ``str`` indexes them. The frozen Python
implementation it replaced is the oracle it is held to (``tests/reference_gate/text``,
``tests/test_text_equivalence.py``, ``benchmarks/text_equivalence.py``).
"""

from __future__ import annotations

from types import MappingProxyType

from trace_engine._core import TEXT_TABLES, NormalizedText, normalize, normalize_phrase

__all__ = ["NormalizedText", "normalize", "normalize_phrase", "CONTRACTIONS"]

#: contractions and their expansions (the native table, read-only)
CONTRACTIONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(TEXT_TABLES["CONTRACTIONS"])
#: contraction suffixes of any other word, in the order they are tried (``None``: a possessive, dropped)
_GENERIC_SUFFIXES: tuple[tuple[str, str | None], ...] = TEXT_TABLES["GENERIC_SUFFIXES"]
