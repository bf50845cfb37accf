"""Generate ``core/src/text/tables.rs``: the Unicode tables of the native text layer.

    .venv/bin/python tools/gen_text_tables.py            # rewrite the tables
    .venv/bin/python tools/gen_text_tables.py --check    # exit 1 when the committed tables are stale

Two sources, each the one the text layer is defined by:

* **Python's own Unicode database** (``unicodedata``, Unicode 14.0.0 on CPython 3.11) for the per-character fold
  (steps 1-4 of :mod:`trace_engine.text.fold`: invisible characters dropped, NFKD compatibility forms, marks dropped,
  decimal digits made ASCII) and for the character classes the tokenizer's rules are written in (``str.isalnum``
  — Python's ``\\w`` without ``_`` —, ``isalpha``, ``isdigit``, ``isdecimal``, ``isspace``) and ``str.casefold``.
  Why tables instead of the ``unicode-normalization`` crate at run time: the crate follows the latest Unicode
  (16.0), the text layer is specified (and held to its frozen Python reference) on the Unicode of the interpreter;
  characters assigned since 14.0 would fold differently. A precomputed fold is also one lookup per non-ASCII
  character instead of a decomposition and a category test per produced character.
* **Unicode's confusables.txt** (UTS #39) as shipped offline by the PyPI package ``confusable-homoglyphs`` for the
  letter skeletons (step 5 of the fold). Why a generated table: the package loads an 884 KB JSON file (about 55 ms)
  and the skeleton map is derived from it; the derived table is ~500 entries.

Skeleton rule, for every non-ASCII letter ``c`` in the confusables data:

* the data is bidirectional (source -> prototype and prototype -> source); an entry of ``c`` that is made of
  ASCII letters is ``c``'s prototype (an ASCII letter is never a source mapped to a non-ASCII prototype);
* ``c``'s own prototype is preferred; for an upper-case ``c`` the UTS #39 prototype ``l`` (the I/l class) is read
  as ``i``, because Trace case-folds and an upper-case lookalike stands for ``I``;
* otherwise the prototype of ``c``'s case-folded or upper-case form (Cyrillic ``т`` -> ``Т`` -> ``T``);
* the result is case-folded; letters that NFKD plus mark stripping already turn into the same ASCII (fullwidth,
  mathematical alphanumerics, accented Latin) are left out, the fold handles them.

``tests/test_text_tables.py`` runs ``--check`` (skipped on a Python whose Unicode version differs from the
tables').
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "core" / "src" / "text" / "tables.rs"

#: Default_Ignorable_Code_Point ranges (Unicode DerivedCoreProperties) that are not Cf; Cf is dropped by category.
IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
#: characters with no compatibility mapping that are read like an ASCII one
EXTRA: dict[str, str] = {"\u2212": "-", "\u2043": "-"}
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def _ignorable(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in IGNORABLE_RANGES)


def fold_char(ch: str) -> str:
    """Steps 1-4 of the fold for one character (the definition the Rust table is made from)."""
    cat = unicodedata.category(ch)
    if cat == "Cf" or _ignorable(ord(ch)):
        return ""
    if cat in ("Cs", "Co", "Cn"):
        return ch
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if c.isascii():
            out.append(c)
            continue
        sub = unicodedata.category(c)
        if sub in ("Mn", "Me", "Cf") or _ignorable(ord(c)):
            continue
        if sub == "Nd":
            out.append(str(unicodedata.decimal(c)))
        else:
            out.append(EXTRA.get(c, c))
    return "".join(out)


def hangul_fold(cp: int) -> str:
    """The arithmetic NFKD of a Hangul syllable (Unicode §3.12), as ``fold.rs`` computes it."""
    s = cp - HANGUL_FIRST
    out = chr(0x1100 + s // 588) + chr(0x1161 + (s % 588) // 28)
    return out + chr(0x11A7 + s % 28) if s % 28 else out


# ------------------------------------------------------------------------------------------- skeletons


def _ascii_prototypes(data: dict, c: str) -> list[str]:
    out = []
    for entry in data.get(c, ()):
        glyph = entry["c"].replace("\u200e", "")  # the data wraps right-to-left glyphs in LRM marks
        if glyph.isascii() and glyph.isalpha():
            out.append(glyph.casefold())
    return out


def _nfkd_base(c: str) -> str:
    return "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.category(x).startswith("M"))


def build_skeletons() -> dict[str, str]:
    from confusable_homoglyphs.confusables import confusables_data as data

    table: dict[str, str] = {}
    for c in sorted(data):
        if len(c) != 1 or c.isascii() or not c.isalpha():
            continue
        own = _ascii_prototypes(data, c)
        if own and c.casefold() != c:
            own = ["i" if p == "l" else p for p in own]
        candidates = own
        for variant in (c.casefold(), c.upper()):
            if not candidates and len(variant) == 1 and not variant.isascii():
                candidates = _ascii_prototypes(data, variant)
        if not candidates:
            continue
        base = _nfkd_base(c).casefold()
        if base.isascii() and base.isalpha():
            continue  # the fold's NFKD step already makes it ASCII
        table[c] = candidates[0]
    return table


# ------------------------------------------------------------------------------------------- rendering

_CODEPOINTS = [cp for cp in range(0x80, 0x110000) if not 0xD800 <= cp <= 0xDFFF]


def _ranges(pred: Callable[[int], bool]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in _CODEPOINTS:
        if pred(cp):
            if out and out[-1][1] == cp - 1:
                out[-1] = (out[-1][0], cp)
            else:
                out.append((cp, cp))
    return out


def _rust_str(s: str) -> str:
    return '"' + "".join(c if c.isascii() and c.isalnum() else f"\\u{{{ord(c):x}}}" for c in s) + '"'


def _rows(items: Iterable[str], per_row: int) -> list[str]:
    items = list(items)
    return ["    " + " ".join(items[i : i + per_row]) for i in range(0, len(items), per_row)]


def _range_table(name: str, doc: str, ranges: list[tuple[int, int]]) -> list[str]:
    lines = [f"/// {doc}", f"pub static {name}: &[(u32, u32)] = &["]
    lines += _rows((f"(0x{a:x}, 0x{b:x})," for a, b in ranges), 6)
    return lines + ["];", ""]


def _map_table(name: str, doc: str, entries: dict[int, str]) -> list[str]:
    lines = [f"/// {doc}", f"pub static {name}: &[(u32, &str)] = &["]
    lines += _rows((f"(0x{cp:x}, {_rust_str(s)})," for cp, s in sorted(entries.items())), 4)
    return lines + ["];", ""]


def render() -> str:
    from importlib.metadata import version

    drop = _ranges(lambda cp: fold_char(chr(cp)) == "")
    fold: dict[int, str] = {}
    for cp in _CODEPOINTS:
        r = fold_char(chr(cp))
        if HANGUL_FIRST <= cp <= HANGUL_LAST:
            if r != hangul_fold(cp):
                raise SystemExit(f"U+{cp:04X}: the Hangul rule in fold.rs no longer matches unicodedata")
            continue
        if r and r != chr(cp):
            fold[cp] = r
    skeletons = {ord(c): s for c, s in build_skeletons().items()}
    casefold = {cp: chr(cp).casefold() for cp in _CODEPOINTS if chr(cp).casefold() != chr(cp)}
    lines = [
        "// GENERATED by tools/gen_text_tables.py from Python's unicodedata and confusable-homoglyphs; do not edit.",
        "//! Unicode tables of the text layer, exactly as the Python reference sees characters.",
        "//!",
        "//! Ranges are inclusive code point ranges of NON-ASCII characters, sorted; ASCII is decided in code.",
        "",
        '/// The Unicode version of Python\'s `unicodedata` the tables were made from.',
        f'pub const UNICODE_VERSION: &str = "{unicodedata.unidata_version}";',
        '/// The confusable-homoglyphs release the skeletons were made from.',
        f'pub const CONFUSABLES_VERSION: &str = "{version("confusable-homoglyphs")}";',
        "",
    ]
    lines += _range_table("FOLD_DROP", "Characters the fold drops (format characters, default ignorables, marks).", drop)
    lines += _map_table(
        "FOLD_MAP",
        "Characters the fold rewrites (NFKD, marks dropped, decimal digits made ASCII); Hangul syllables are "
        "decomposed arithmetically instead.",
        fold,
    )
    lines += _map_table("SKELETON", "UTS #39 letter skeletons: a non-ASCII letter and its ASCII lookalike.", skeletons)
    lines += _map_table("CASEFOLD", "`str.casefold` of the non-ASCII characters it changes.", casefold)
    lines += _range_table("ALNUM", "`str.isalnum` (Python's `\\w` without `_`).", _ranges(lambda cp: chr(cp).isalnum()))
    lines += _range_table("ALPHA", "`str.isalpha`.", _ranges(lambda cp: chr(cp).isalpha()))
    lines += _range_table("DIGIT", "`str.isdigit`.", _ranges(lambda cp: chr(cp).isdigit()))
    lines += _range_table("DECIMAL", "`str.isdecimal` (Python's `\\d`).", _ranges(lambda cp: chr(cp).isdecimal()))
    lines += _range_table("SPACE", "`str.isspace` (Python's `\\s`).", _ranges(lambda cp: chr(cp).isspace()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed tables instead of writing")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run tools/gen_text_tables.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
