"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast: every evidence record's body is one.

:func:`canonical_bytes` returns exactly ``rfc8785.dumps(obj)``. The reference implementation is pure Python and
costs ~100 µs for a typical scorecard (4.5 kB), which would cap the append rate; the native core
(``trace_engine._core.canonical_json``, ``core/src/canon.rs``) writes the same bytes in a few microseconds. It
handles every plain JSON value (``dict``, ``list``, ``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``, and
``str``/``int`` subclasses such as enums) and hands anything else to ``rfc8785.dumps``, which writes it or raises
the error it always raised:

* an integer outside the I-JSON safe range ±(2**53 - 1), NaN or an infinity, a lone surrogate, a key that is not a
  string, an unsupported type (``rfc8785.CanonicalizationError`` and its subclasses);
* a subclass of ``dict``, ``list``, ``tuple`` or ``float`` (the reference converts those through methods a subclass
  may override), or nesting deeper than 200 levels.

``tests/test_evidence_canonical.py`` checks equality with ``rfc8785.dumps`` on generated values: floats over the
whole double range, keys outside the Basic Multilingual Plane (RFC 8785 sorts by UTF-16 code units), escapes,
nesting, subclasses.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from trace_engine._core import canonical_json as _native


def canonical_bytes(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``obj`` (identical to ``rfc8785.dumps(obj)``, and raising what it
    raises)."""
    out = _native(obj)
    return out if out is not None else rfc8785.dumps(obj)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
