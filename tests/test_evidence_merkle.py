import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine.evidence.merkle import (
    EMPTY_ROOT,
    Frontier,
    inclusion_path,
    leaf_hash,
    node_hash,
    root,
    root_from_inclusion,
)


def ref_mth(leaves):
    """RFC 6962 §2.1, literally."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m, leaves):
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def leaves(n):
    return [leaf_hash(str(i).encode()) for i in range(n)]


def test_leaf_and_node_prefixes():
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert root([]) == EMPTY_ROOT


@pytest.mark.parametrize("n", list(range(1, 34)) + [100, 257])
def test_roots_and_paths(n):
    ls = leaves(n)
    assert root(ls) == ref_mth(ls)
    for m in range(n):
        p = inclusion_path(ls, m)
        assert p == ref_path(m, ls)
        assert root_from_inclusion(ls[m], m, n, p) == ref_mth(ls)


def test_bad_paths_rejected():
    ls = leaves(10)
    p = inclusion_path(ls, 3)
    assert root_from_inclusion(ls[4], 3, 10, p) != root(ls)
    with pytest.raises(ValueError):
        root_from_inclusion(ls[3], 3, 10, p[:-1])
    with pytest.raises(ValueError):
        root_from_inclusion(ls[3], 3, 10, p + [ls[0]])
    with pytest.raises(ValueError):
        root_from_inclusion(ls[3], 10, 10, p)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300))
def test_frontier_matches_reference_at_every_size(n):
    f = Frontier()
    ls = leaves(n)
    for i, h in enumerate(ls):
        f.append(h)
        if i in (0, n // 2, n - 1):
            assert f.root() == ref_mth(ls[: i + 1])
    g = f.copy()
    g.append(ls[0])
    assert f.size == n and g.size == n + 1 and f.root() == ref_mth(ls)
