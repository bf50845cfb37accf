"""RFC 8785 canonical bytes: the native writer (core/src/canon.rs) equals the ``rfc8785`` package byte for byte,
and whatever it leaves to the package comes out (or fails) exactly as the package does."""

import enum
import json
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine import _core
from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.synthetic import synthetic_scorecard

SAFE = 2**53 - 1
canonical_json = _core.canonical_json

# keys and strings from every plane, including the two ranges whose UTF-16 order differs from code point order
# (U+E000-FFFF sorts after a surrogate pair), escapes and control characters
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x01\x08\x0c\x1f\x7f\"\\/\t\n\r\u2028\ue000\uffff\ufb01\U0001f600\U00010000\U0010ffff"),
    ),
    max_size=12,
)
# every double: bit patterns cover subnormals, both exponent extremes and the 1e21 / 1e-7 notation switches
doubles = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(0, 2**64 - 1).map(lambda bits: struct.unpack("<d", bits.to_bytes(8, "little"))[0]).filter(
        lambda f: f == f and abs(f) != float("inf")
    ),
    st.sampled_from([1e21, 1e20, 9.999999999999999e20, 1e-7, 1e-6, 9.999999999999999e-7, 5e-324, 2.2250738585072014e-308,
                     1.7976931348623157e308, 0.1, 1 / 3, 2.0**53, 2.0**53 + 2, -0.0, 123456789012345680000.0]),
)
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | doubles | texts
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5)
    | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(texts, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_native_matches_rfc8785(v):
    want = rfc8785.dumps(v)
    got = canonical_json(v)
    assert got is not None, "a plain JSON value must not fall back to the pure-Python writer"
    assert got == want
    assert canonical_bytes(v) == want


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**70), 2**70))
def test_integers_outside_ijson_fail_as_the_reference_does(n):
    if -SAFE <= n <= SAFE:
        assert canonical_bytes(n) == rfc8785.dumps(n) == str(n).encode()
    else:
        assert canonical_json(n) is None
        with pytest.raises(rfc8785.IntegerDomainError):
            canonical_bytes({"n": [n]})


@pytest.mark.parametrize(
    "bad, error",
    [
        (float("nan"), rfc8785.FloatDomainError),
        (float("inf"), rfc8785.FloatDomainError),
        ({"k": [-float("inf")]}, rfc8785.FloatDomainError),
        ("lone \ud800 surrogate", rfc8785.CanonicalizationError),
        ({"\udfff": 1}, UnicodeEncodeError),  # the reference fails while sorting the keys
        ({1: "int key"}, rfc8785.CanonicalizationError),
        ({"set": {1, 2}}, rfc8785.CanonicalizationError),
        ([b"bytes"], rfc8785.CanonicalizationError),
    ],
)
def test_rejections_are_the_references(bad, error):
    assert canonical_json(bad) is None
    with pytest.raises(error):
        rfc8785.dumps(bad)
    with pytest.raises(error):
        canonical_bytes(bad)


class Verdict(enum.StrEnum):
    PASS = "PASS"


class Level(enum.IntEnum):
    HIGH = 3


class Ordered(dict):
    def __iter__(self):  # the reference may consult this; the native writer must not guess
        return iter(sorted(super().__iter__(), reverse=True))


def test_subclasses_come_out_as_the_reference_writes_them():
    for v in [
        {"verdict": Verdict.PASS, "level": Level.HIGH},
        Ordered(b=1, a=2),
        {"nested": Ordered(z=[1], y=None)},
        [type("L", (list,), {})([1, 2])],
        type("F", (float,), {})(1.5),
    ]:
        assert canonical_bytes(v) == rfc8785.dumps(v)
    assert canonical_json({"verdict": Verdict.PASS, "level": Level.HIGH}) == b'{"level":3,"verdict":"PASS"}'


def test_deep_nesting_is_left_to_the_reference():
    shallow: object = "x"
    for _ in range(90):  # 180 levels
        shallow = {"a": [shallow]}
    assert canonical_json(shallow) == rfc8785.dumps(shallow)
    deep: object = "x"
    for _ in range(400):
        deep = [deep]
    assert canonical_json(deep) is None
    assert canonical_bytes(deep) == rfc8785.dumps(deep)


def test_edge_cases():
    for v in [
        {"a": -0.0, "b": 1e-5, "c": 1.0, "d": 1e21, "e": 1.5e300, "f": 123.456, "g": 5e-324},
        {"\u00e9": 1, "e": 2, "\U0001f600": 3, "\ufb01": 4},
        {"s": "\x00\x1f\x7f\u2028\"\\/\t\n\r\b\f"},
        [2**53 - 1, -(2**53) + 1, 9007199254740992.0, 1.2345678901234567e20],
        {"": {"": []}, "long": "y" * 1000 + "\n" + "z" * 7},
    ]:
        assert canonical_json(v) == rfc8785.dumps(v)
    # the RFC's own sample (RFC 8785 §3.2.2 and appendix): member order by UTF-16 code units
    assert canonical_json({"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
                           "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}) == (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
        '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode("utf-8")


def test_scorecards_match():
    for i in range(50):
        d = synthetic_scorecard(i).to_dict()
        assert canonical_json(d) == rfc8785.dumps(d)
        assert json.loads(canonical_bytes(d)) == json.loads(rfc8785.dumps(d))
