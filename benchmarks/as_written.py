"""Text as a language model writes it: what ``equivalence.py --non-ascii`` and ``text_equivalence.py --non-ascii``
put in the corpora's turns, which have almost none of it (35 of 169,487 agent turns are not ASCII).

Curly apostrophes and quotes, em dashes, ellipses, accented words and no-break spaces are where the text layer
leaves its ASCII paths (folding, the scanner over characters, pieces cut at restart points), and where a stream's
restart points and quiet feeds meet text that is not ASCII.
"""

from __future__ import annotations

import random

#: what :func:`as_written` puts in: (ASCII text, what replaces it, the share of its places replaced)
NON_ASCII_MARKS = [
    ("'", "\u2019", 0.8),  # a curly apostrophe
    (", ", " \u2014 ", 0.15),  # an em dash
    ("...", "\u2026", 1.0),  # an ellipsis
    (". ", ".\u00a0", 0.05),  # a no-break space
    (" cafe", " caf\u00e9", 1.0),
    ("resume", "r\u00e9sum\u00e9", 1.0),
    (" Jose ", " Jos\u00e9 ", 1.0),
    (" hotel ", " h\u00f4tel ", 0.3),
]


def as_written(text: str, rng: random.Random) -> str:
    """``text`` with the characters a language model writes (:data:`NON_ASCII_MARKS`), at places drawn from ``rng``,
    and a quoted word in curly quotes now and then."""
    for plain, marked, share in NON_ASCII_MARKS:
        if plain in text:
            parts = text.split(plain)
            text = parts[0] + "".join((marked if rng.random() < share else plain) + p for p in parts[1:])
    words = text.split(" ")
    if len(words) > 4 and rng.random() < 0.2:
        k = rng.randrange(len(words))
        words[k] = f"\u201c{words[k]}\u201d"
    return " ".join(words)
