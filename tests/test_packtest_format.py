"""The ``.calls`` pack-test format: parsing, markers, diagnostics (word for word) and discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trace_engine.errors import TraceError, TraceSyntaxError
from trace_engine.packtest import Marker, PackTestCall, PackTestTurn, check_rule_ids, discover, parse_calls

REPO = Path(__file__).resolve().parent.parent

EXAMPLE = """\
# comment
=== call: opt-out is honored
meta: {"direction": "outbound", "business_name": "Acme Solar", "agent_name": "Sam", "recording_enabled": true}
agent: hi this is sam calling from acme solar, this call may be recorded   # ok: tcpa-001, ok: tcpa-007
caller: please stop calling me
agent: i'm sorry, we have a great offer before you go   # ruleid: tcpa-004
@42.5 agent: you can reach us at four one five, five five five, zero one nine eight   # ok: tcpa-002
end   # ruleid: tcpa-002
"""


def errors(text: str) -> list[str]:
    """``line:col CODE message`` for every diagnostic ``text`` produces."""
    with pytest.raises(TraceSyntaxError) as info:
        parse_calls(text, "t.calls")
    return [f"{d.location.line}:{d.location.col} {d.code} {d.message}" for d in info.value.diagnostics]


def only_error(text: str) -> tuple[str, str | None]:
    with pytest.raises(TraceSyntaxError) as info:
        parse_calls(text, "t.calls")
    assert len(info.value.diagnostics) == 1, info.value.render()
    d = info.value.diagnostics[0]
    return f"{d.location.line}:{d.location.col} {d.code} {d.message}", d.hint


# --------------------------------------------------------------------------------------------- parsing


def test_example_from_the_spec():
    (call,) = parse_calls(EXAMPLE, "x.calls")
    assert isinstance(call, PackTestCall)
    assert call.name == "opt-out is honored"
    assert call.line == 2
    assert call.metadata == {
        "direction": "outbound",
        "business_name": "Acme Solar",
        "agent_name": "Sam",
        "recording_enabled": True,
    }
    assert call.variables == {}
    assert [t.role for t in call.turns] == ["agent", "caller", "agent", "agent"]
    first = call.turns[0]
    assert first == PackTestTurn(
        line=4,
        role="agent",
        text="hi this is sam calling from acme solar, this call may be recorded",
        t=None,
        markers=[Marker("ok", "tcpa-001", 4), Marker("ok", "tcpa-007", 4)],
    )
    assert call.turns[1].markers == []
    assert call.turns[2].markers == [Marker("ruleid", "tcpa-004", 6)]
    assert call.turns[3].t == 42.5
    assert call.turns[3].text.startswith("you can reach us")
    assert call.start_markers == []
    assert call.end_markers == [Marker("ruleid", "tcpa-002", 8)]


def test_vars_start_and_todo_markers():
    text = (
        "=== call: a\n"
        'vars: {"business_name": "Acme"}\n'
        "start   # ruleid: tcpa-005, todook: tcpa-001\n"
        "agent: hello   # todoruleid: brand-005\n"
    )
    (call,) = parse_calls(text, "x.calls")
    assert call.variables == {"business_name": "Acme"}
    assert call.metadata == {}
    assert call.start_markers == [Marker("ruleid", "tcpa-005", 3), Marker("todook", "tcpa-001", 3)]
    assert call.turns[0].markers == [Marker("todoruleid", "brand-005", 4)]
    assert call.turns[0].markers[0].todo and call.turns[0].markers[0].expects_finding
    assert not call.start_markers[1].expects_finding
    assert [m.rule_id for m in call.all_markers()] == ["tcpa-005", "tcpa-001", "brand-005"]


def test_hash_inside_text_is_text():
    text = "=== call: a\nagent: press # to continue, or # 2 for billing   # ok: x-1\n"
    (call,) = parse_calls(text, "x.calls")
    assert call.turns[0].text == "press # to continue, or # 2 for billing"
    assert call.turns[0].markers == [Marker("ok", "x-1", 2)]


def test_last_hash_starts_the_marker_comment():
    text = "=== call: a\nagent: room # 5 # ruleid: x-1\n"
    (call,) = parse_calls(text, "x.calls")
    assert call.turns[0].text == "room # 5"
    assert [m.rule_id for m in call.turns[0].markers] == ["x-1"]


def test_trailing_hash_without_marker_is_text():
    (call,) = parse_calls("=== call: a\ncaller: we're number # one\n", "x.calls")
    assert call.turns[0].text == "we're number # one"
    assert call.turns[0].markers == []


def test_multiple_calls_comments_blank_lines_and_indentation():
    text = (
        "# header comment\n\n"
        "=== call: first\n"
        "  agent: hi\n"
        "   # an indented comment\n"
        "=== call:   second   \n"
        "caller: hello\n"
        "agent: hi   # ok:r-1 ,  ruleid:r-2\n"
    )
    calls = parse_calls(text, "x.calls")
    assert [c.name for c in calls] == ["first", "second"]
    assert calls[0].turns[0].text == "hi"
    assert calls[1].turns[1].markers == [Marker("ok", "r-1", 8), Marker("ruleid", "r-2", 8)]


def test_times_and_text_whitespace():
    text = "=== call: a\n@0 agent:   hi there  \n@3 caller: hey\n@3 agent: same time is fine\n"
    (call,) = parse_calls(text, "x.calls")
    assert [t.t for t in call.turns] == [0.0, 3.0, 3.0]
    assert call.turns[0].text == "hi there"


def test_metadata_only_call_with_start():
    (call,) = parse_calls(
        '=== call: hours\nmeta: {"local_time": "2026-01-01T22:00:00-05:00"}\nstart # ruleid: tcpa-005\n', "x"
    )
    assert call.turns == []
    assert call.start_markers == [Marker("ruleid", "tcpa-005", 3)]


def test_empty_file_has_no_calls():
    assert parse_calls("", "x.calls") == []
    assert parse_calls("# only a comment\n\n", "x.calls") == []


# --------------------------------------------------------------------------------------------- diagnostics


def test_line_outside_a_call():
    msg, hint = only_error("agent: hi\n")
    assert msg == "1:1 TT001 line outside a call"
    assert hint == "start the first call with `=== call: NAME`"


def test_unrecognized_line():
    msg, hint = only_error("=== call: a\nagent: hi\nstrat\n")
    assert msg == "3:1 TT002 unrecognized line"
    assert hint == "did you mean `start`?"


def test_unknown_role_with_hint():
    msg, hint = only_error("=== call: a\nuser: hi\n")
    assert msg == "2:1 TT002 unknown line kind `user:`"
    assert hint == "did you mean `agent:`?"


def test_capitalized_role():
    msg, hint = only_error("=== call: a\nAgent: hi\n")
    assert msg == "2:1 TT002 unknown line kind `Agent:`"
    assert hint == "roles are lower case: `agent:`"


def test_malformed_call_header():
    msg, hint = only_error("== call a\n")
    assert msg == "1:1 TT002 malformed call header"
    assert hint == "a call starts with `=== call: NAME`"


def test_invalid_json():
    msg, hint = only_error('=== call: a\nmeta: {"a": 1,}\nagent: hi\n')
    assert msg == "2:15 TT003 invalid JSON in `meta:`: Expecting property name enclosed in double quotes"
    assert hint == "the value must be a JSON object on one line, keys in double quotes"


def test_json_not_an_object():
    msg, hint = only_error("=== call: a\nvars: [1, 2]\nagent: hi\n")
    assert msg == "2:7 TT003 `vars:` must be a JSON object, not an array"
    assert hint == 'write `vars: {"key": "value"}`'


def test_meta_twice_and_meta_after_turns():
    assert errors("=== call: a\nmeta: {}\nmeta: {}\nagent: hi\nvars: {}\n") == [
        "3:1 TT004 `meta:` given twice in call `a`",
        "5:1 TT004 `vars:` after the call has started",
    ]


def test_bad_time():
    msg, hint = only_error("=== call: a\n@soon agent: hi\n")
    assert msg == "2:1 TT005 bad time `@soon`"
    assert hint == "write the turn's start in seconds: `@42.5 agent: ...`"
    assert errors("=== call: a\n@-1 agent: hi\n") == ["2:1 TT005 bad time `@-1`"]
    assert errors("=== call: a\n@nan agent: hi\n") == ["2:1 TT005 bad time `@nan`"]


def test_time_going_backwards():
    msg, hint = only_error("=== call: a\n@10 agent: hi\n@4.5 caller: hey\n")
    assert msg == "3:1 TT011 turn starts at 4.5s, before the previous turn (10s)"
    assert hint == "turns are listed in the order they happen"


def test_unknown_marker_kind():
    msg, hint = only_error("=== call: a\nagent: hi   # rule: tcpa-001\n")
    assert msg == "2:15 TT006 unknown marker kind `rule`"
    assert hint == "did you mean `ruleid`?"


def test_marker_without_colon():
    msg, hint = only_error("=== call: a\nagent: hi   # ruleid tcpa-001\n")
    assert msg == "2:15 TT006 marker `ruleid tcpa-001` has no colon"
    assert hint == "write `ruleid: RULE_ID`"


def test_marker_without_rule_id_and_empty_item():
    assert errors("=== call: a\nagent: hi   # ok:, ruleid: x-1,\n") == [
        "2:15 TT006 `ok:` marker has no rule id",
        "2:32 TT006 empty marker",
    ]


def test_bad_rule_id():
    msg, _ = only_error("=== call: a\nagent: hi   # ok: tcpa/001\n")
    assert msg == "2:19 TT006 bad rule id `tcpa/001`"


def test_marker_glued_to_text():
    msg, hint = only_error("=== call: a\nagent: hi# ruleid: x-1\n")
    assert msg == "2:10 TT006 marker comment must start with ` # ` (a space on both sides of `#`)"
    assert hint == "write `TEXT   # ruleid: RULE_ID`"


def test_conflicting_and_duplicate_markers():
    assert errors("=== call: a\nagent: hi   # ok: x-1, ruleid: x-1, ok: y-1, ok: y-1\n") == [
        "2:24 TT007 `x-1` is marked both `ok` and `ruleid`",
        "2:46 TT007 `ok: y-1` given twice on one line",
    ]


def test_start_and_end_placement():
    assert errors("=== call: a\nagent: hi\nstart\nend\nend\ncaller: late\n") == [
        "3:1 TT008 `start` after the first turn",
        "5:1 TT008 `end` given twice",
        "6:1 TT008 turn after `end`",
    ]


def test_text_after_end():
    msg, hint = only_error("=== call: a\nagent: hi\nend of call\n")
    assert msg == "3:5 TT002 unexpected text after `end`"
    assert hint == "`end` takes only a marker comment: `end   # ruleid: RULE_ID`"


def test_call_names():
    assert errors("=== call: a\nagent: hi\n=== call: a\nagent: hi\n=== call:\nagent: hi\n") == [
        "3:1 TT009 duplicate call name `a` (first used on line 1)",
        "5:1 TT009 call has no name",
    ]


def test_empty_call_and_empty_turn():
    assert errors("=== call: a\n=== call: b\ncaller:\n") == [
        "1:1 TT010 call `a` has no turns",
        "3:1 TT012 `caller:` turn has no text",
    ]


def test_all_errors_are_reported_in_line_order_and_render():
    text = "agent: stray\n=== call: a\nmeta: nope\n@x agent: hi\nagent: ok   # bogus: r-1\n"
    with pytest.raises(TraceSyntaxError) as info:
        parse_calls(text, "bad.calls")
    codes = [(d.location.line, d.code) for d in info.value.diagnostics]
    assert codes == [(1, "TT001"), (3, "TT003"), (4, "TT005"), (5, "TT006")]
    rendered = info.value.render()
    assert rendered.splitlines()[:4] == [
        "bad.calls:1:1 TT001 line outside a call",
        "    agent: stray",
        "    ^^^^^^^^^^^^",
        "    hint: start the first call with `=== call: NAME`",
    ]
    assert "bad.calls:5:15 TT006 unknown marker kind `bogus`" in rendered


def test_check_rule_ids():
    text = "=== call: a\nagent: hi   # ruleid: tcpa-01, ok: tcpa-002\n"
    calls = parse_calls(text, "x.calls")
    diags = check_rule_ids(calls, {"tcpa-001", "tcpa-002"}, "x.calls", text)
    assert [(d.code, d.message, d.location.line, d.location.col, d.hint) for d in diags] == [
        (
            "TT013",
            "`ruleid: tcpa-01` names a rule the pack does not define",
            2,
            23,
            "did you mean `tcpa-001`?",
        )
    ]


# --------------------------------------------------------------------------------------------- discovery


def test_discover(tmp_path: Path):
    (tmp_path / "a.trace").write_text("pack a\n")
    (tmp_path / "a.calls").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("{}")
    (tmp_path / "sub" / "b.calls").write_text("")
    (tmp_path / "sub" / "orphan.calls").write_text("")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.trace").write_text("")
    (tmp_path / ".hidden" / "c.calls").write_text("")
    (tmp_path / "both.trace").write_text("")
    (tmp_path / "both.json").write_text("{}")
    (tmp_path / "both.calls").write_text("")
    (tmp_path / "lonely.trace").write_text("")

    t = str(tmp_path)
    expected = [
        (os.path.join(t, "a.trace"), os.path.join(t, "a.calls")),
        (os.path.join(t, "both.trace"), os.path.join(t, "both.calls")),
        (os.path.join(t, "sub", "b.json"), os.path.join(t, "sub", "b.calls")),
    ]
    assert discover([t]) == expected
    # a file and its directory given together: no duplicates
    assert discover([os.path.join(t, "a.trace"), t]) == expected
    # a pack file finds its tests; a pack without tests gives nothing
    assert discover([os.path.join(t, "a.trace")]) == [expected[0]]
    assert discover([os.path.join(t, "lonely.trace")]) == []
    # a .calls file given by name finds its pack
    assert discover([os.path.join(t, "sub", "b.calls")]) == [expected[2]]


def test_discover_errors(tmp_path: Path):
    orphan = tmp_path / "orphan.calls"
    orphan.write_text("")
    with pytest.raises(TraceError) as info:
        discover([str(orphan)])
    (d,) = info.value.diagnostics
    assert (d.code, d.message) == ("TT020", "no pack next to this test file")
    assert d.hint == f"expected `{tmp_path / 'orphan'}.trace` or `{tmp_path / 'orphan'}.json`"
    with pytest.raises(FileNotFoundError):
        discover([str(tmp_path / "missing")])


# --------------------------------------------------------------------------------------------- shipped packs


def test_shipped_pack_tests_parse_and_name_real_rules():
    from trace_engine.dsl import load_pack

    pairs = discover([str(REPO / "rule_packs")])
    stems = sorted(Path(calls).stem for _, calls in pairs)
    assert stems == ["brand_voice", "debt_collection", "hipaa", "pii", "tcpa"]
    for pack_path, calls_path in pairs:
        pack, _ = load_pack(pack_path)
        text = Path(calls_path).read_text(encoding="utf-8")
        calls = parse_calls(text, calls_path)
        ids = {r.id for r in pack.rules}
        assert check_rule_ids(calls, ids, calls_path, text) == []
        # every rule has at least three expected findings and three expected passes
        for rule_id in ids:
            markers = [m for c in calls for m in c.all_markers() if m.rule_id == rule_id]
            fire = [m for m in markers if m.expects_finding]
            quiet = [m for m in markers if not m.expects_finding]
            assert len(fire) >= 3, (calls_path, rule_id, "fire")
            assert len(quiet) >= 3, (calls_path, rule_id, "ok")
