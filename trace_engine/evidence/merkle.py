"""RFC 6962 Merkle trees: leaf hashes, tree heads, inclusion proofs, and an incremental frontier.

* ``leaf_hash(data) = SHA-256(0x00 || data)``
* ``node_hash(l, r) = SHA-256(0x01 || l || r)``
* ``MTH`` of n leaves: the leaf hash for n == 1, ``SHA-256("")`` for n == 0, else
  ``node_hash(MTH(D[0:k]), MTH(D[k:n]))`` with k the largest power of two below n.

:class:`Frontier` keeps one perfect-subtree root per set bit of the size, so appending is O(log n) amortized
and the root of the current tree is O(log n): the RFC 6962 root is those peaks folded right to left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_sha = hashlib.sha256
EMPTY_ROOT = _sha(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves."""
    f = Frontier()
    for h in leaves:
        f.append(h)
    return f.root()


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 audit path for leaf ``index`` in the tree over ``leaves`` (hashed leaves)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise IndexError(f"leaf index {index} outside tree of size {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    # Walk down, collecting sibling subtree roots; the path is ordered leaf-to-root.
    stack: list[bytes] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            stack.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            stack.append(root(leaves[lo : lo + k]))
            lo = lo + k
    path = list(reversed(stack))
    return path


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """Recompute the tree head from a leaf hash and its audit path (RFC 9162 §2.1.3.2). Raises ValueError."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside tree of size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ValueError("audit path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path too short")
    return r


class Frontier:
    """An append-only RFC 6962 tree that remembers only the roots of its perfect subtrees."""

    __slots__ = ("size", "_peaks")

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []  # largest (leftmost) first

    def append(self, h: bytes) -> None:
        peaks = self._peaks
        n = self.size
        peaks.append(h)
        while n & 1:  # merge equal-height subtrees
            r = peaks.pop()
            peaks[-1] = node_hash(peaks[-1], r)
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        r = self._peaks[-1]
        for p in reversed(self._peaks[:-1]):
            r = node_hash(p, r)
        return r

    def copy(self) -> Frontier:
        f = Frontier()
        f.size = self.size
        f._peaks = list(self._peaks)
        return f
