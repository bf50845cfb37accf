"""Unicode folding against evasion: the first stage of the normalized view.

What an AI voice agent writes is spoken by a text-to-speech engine, so characters that are not pronounced, or are
pronounced like ASCII ones, must not hide a phrase or a number from the gate. :func:`fold` maps a turn to the text
its tokens are read from, character by character, remembering for every folded character the original character it
came from (so a match in the folded text maps back exactly to the characters a redaction must cut):

1. **Invisible characters are dropped**: every format character (Unicode category Cf: zero-width space, joiner and
   non-joiner, soft hyphen, word joiner, BOM, bidi embeddings/overrides/isolates, tag characters…) and every other
   default-ignorable code point (combining grapheme joiner, variation selectors, Hangul fillers…).
2. **Compatibility forms** (NFKC's compatibility mappings, computed per character as NFKD): fullwidth
   ``４１１１`` and ``ｇｕａｒａｎｔｅｅｄ``, mathematical bold/italic/script letters and digits, circled
   letters, superscripts, ligatures ``ﬁ``, the no-break and other Unicode spaces → one space.
3. **Combining marks are dropped** (Mn, Me): ``guäränteed``, stacked "zalgo" marks, accents (``café`` → ``cafe``).
4. **Every decimal digit** (Unicode Nd: Arabic-Indic ``٤``, Devanagari ``४``, Bengali…) becomes its ASCII digit;
   the minus sign becomes ``-``.
5. **Letter skeletons** (UTS #39 confusables, :mod:`trace_engine.text._confusables`): in a word whose every
   non-ASCII letter has an ASCII lookalike, each is replaced by it (Cyrillic ``е`` in ``guarantееd``, Greek
   ``ο``, Cherokee, small capitals). A word with any other non-ASCII letter is left alone, so real text in another
   script is not turned into nonsense.

ASCII text is returned as it is, with no map. Folding is idempotent (``fold(fold(t)) == fold(t)``) and never raises.

Implemented in the native core (``core/src/text/fold.rs``); steps 1-4 are one lookup per non-ASCII character in a
table generated from this interpreter's ``unicodedata`` (``tools/gen_text_tables.py``).
"""

from __future__ import annotations

from trace_engine._core import fold, fold_char

__all__ = ["fold", "fold_char"]
