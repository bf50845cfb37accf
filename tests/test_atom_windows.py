"""A bounded regex runs only around its atoms' hits (core/src/engine/atomwindow.rs). That is exact only if every
match of the regex contains one of its atoms (``trace_engine/compile/atoms.py``): a match without one is found by a
run over the whole turn (the frozen gate's RE2 pass, and the native gate before windowing) whenever an atom occurs
anywhere in the turn, but never by the windowed run. These tests hold the atoms to that, on RE2's reading of the
pattern, and the native gate to the frozen one on patterns whose atoms were not sound."""

from __future__ import annotations

from pathlib import Path

import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_gate.gate.engine import Engine as ReferenceEngine

from trace_engine import Engine
from trace_engine.compile.atoms import atoms_or_none

PACK = """pack probe
version "1.0.0"
jurisdiction "US"
legal_status "draft"
description "one pattern"

pattern p /{regex}/

rule probe-001 {{
  title "probe"
  severity high
  citation "none"
  reason "the pattern matched"
  must_not_say p
}}
"""

#: (pattern, a turn with an atom far from a match that contains none)
UNSOUND = [
    # `[:` opens a bracket expression in RE2 (`[:a]` is the class of ":" and "a"); only inside one is `[:alpha:]` a
    # POSIX class. Read as one, `[:a]|bbb:]` vanished into `\w` and left "ccc" as the atom every match "contains".
    (r"[:a]|bbb:]ccc", "a word here and then many more words follow until ccc"),
    (r"x[:y]z|qqq:]rrr", "an xyz and then many more words follow until rrr"),
]


def _findings(engine: Engine | ReferenceEngine, text: str) -> list[tuple]:
    call = engine.start_call("probe", metadata={"direction": "outbound"})
    return sorted((f.rule_id, tuple(f.span or ())) for f in call.agent_turn(text).findings)


@pytest.mark.parametrize(("regex", "text"), UNSOUND)
def test_the_native_gate_finds_what_a_whole_turn_run_finds(tmp_path: Path, regex: str, text: str) -> None:
    (tmp_path / "probe.trace").write_text(PACK.format(regex=regex), encoding="utf-8")
    cfg = {"packs_dir": [str(tmp_path)], "rule_packs": {"probe": {"enabled": True}}, "guardrails": {"mode": "warn"}}
    whole = [m.span() for m in re2.compile(regex).finditer(text) if m.end() > m.start()]
    assert whole  # the pattern matches this turn
    ref = _findings(ReferenceEngine.from_config(cfg), text)
    assert len(ref) >= 1
    assert _findings(Engine.from_config(cfg), text) == ref


@pytest.mark.parametrize(("regex", "text"), UNSOUND)
def test_atoms_are_sound_on_re2_reading(regex: str, text: str) -> None:
    atoms = atoms_or_none(regex)
    for m in re2.compile(regex).finditer(text):
        assert not atoms or any(a in m.group(0) for a in atoms), (atoms, m.group(0))


#: pieces of patterns, RE2's brackets and POSIX classes among them (the normalized text is lower case)
PIECES = ["a", "b", "c", "ab", "abc", ":", "]", "[", "[:a]", ":]", "[ab]", "[^a]", "|", "(", ")", "(?:", "?", "*",
          "+", "{2}", r"\b", "^", r"\.", ".", r"\Q", r"\E", r"\pL", "(?i)", r"\141", " ", "[[:alpha:]]",
          "[[:^alpha:]]", r"\z", r"\A"]


@pytest.mark.filterwarnings("ignore::FutureWarning")  # Python's parser on a `[` inside brackets
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=10),
       st.lists(st.text(alphabet="abc:[]. ", max_size=30), min_size=1, max_size=4))
def test_every_re2_match_contains_an_atom(pieces: list[str], texts: list[str]) -> None:
    regex = "".join(pieces)
    try:
        compiled = re2.compile(regex)
    except re2.error:
        return
    atoms = atoms_or_none(regex, 2)
    if not atoms:
        return
    for text in texts:
        for m in compiled.finditer(text):
            if m.end() > m.start():
                assert any(a in m.group(0) for a in atoms), (regex, atoms, text, m.group(0))
