"""Comments survive fmt and convert: trailing comments keep their line, and the JSON form carries every comment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trace_engine.dsl import format_pack_source, format_source, load_pack, load_pack_text, print_pack
from trace_engine.dsl.comments import Comment, key_to_pointer, pointer_to_key
from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack, schema_validator
from trace_engine.dsl.lint import lint_pack

REPO = Path(__file__).resolve().parents[1]
IDENTITY = sorted((REPO / "tests" / "fixtures" / "identity").glob("*.trace"))

SUPPRESSED = """pack p
version "1"
jurisdiction "US"
legal_status "draft"

phrases unused [ "never used" ]  # trace: ignore[TL010]

rule p-001 {
  title "t"   severity low
  citation "c"
  reason "r"
  must_not_say "bad thing"    # trace: ignore[TL003]
  example "a bad thing"
}
"""


def test_trailing_comment_stays_on_its_line():
    out = format_source(SUPPRESSED, "p.trace")
    assert '  must_not_say "bad thing"  # trace: ignore[TL003]\n' in out
    assert 'phrases unused [  # trace: ignore[TL010]\n' in out  # TL010 points at the set, so the comment does
    assert format_source(out, "p.trace") == out  # idempotent


def test_suppressions_still_apply_after_fmt():
    def codes(text: str) -> set[str]:
        pack, source = load_pack_text(text, "p.trace")
        return {d.code for d in lint_pack(pack, source)}

    bare = SUPPRESSED.replace("# trace: ignore[TL003]", "").replace("# trace: ignore[TL010]", "")
    assert {"TL010"} <= codes(bare)  # the fixture does trigger what it silences
    assert "TL010" not in codes(SUPPRESSED)
    assert codes(format_source(SUPPRESSED, "p.trace")) == codes(SUPPRESSED)


@pytest.mark.parametrize("path", IDENTITY, ids=lambda p: p.name)
def test_trace_json_trace_keeps_every_comment(path: Path, tmp_path: Path):
    text = path.read_text(encoding="utf-8")
    pack, source = load_pack(path)
    as_json = dump_json_pack(pack, comments=source.comments)
    data = json.loads(as_json)
    assert not list(schema_validator().iter_errors(data))
    assert [c["text"] for c in data.get("comments", [])] == [
        line.strip() for line in text.splitlines() if line.strip().startswith("#")
    ]
    json_file = tmp_path / "p.json"
    json_file.write_text(as_json, encoding="utf-8")
    back, back_source = load_pack(json_file)
    assert back == pack
    assert print_pack(back, back_source.comments) == text  # identity fixtures are already canonical
    assert format_pack_source(as_json, "p.json") == as_json  # the JSON is canonical too


def test_convert_keeps_trailing_comments_through_json():
    pack, source = load_pack_text(SUPPRESSED, "p.trace")
    data = json.loads(dump_json_pack(pack, comments=source.comments))
    assert {"at": "/rules/0/checks/0", "text": "# trace: ignore[TL003]", "trailing": True} in data["comments"]
    assert {"at": "/phrases/unused", "text": "# trace: ignore[TL010]", "trailing": True} in data["comments"]
    back, back_source = load_json_pack(json.dumps(data), "p.json")
    assert print_pack(back, back_source.comments) == format_source(SUPPRESSED, "p.trace")


def test_pointer_keys_round_trip_and_unknown_pointers_go_to_the_end():
    pack, source = load_pack(REPO / "tests" / "fixtures" / "identity" / "comments.trace")
    for comment in source.comments:
        if comment.anchor is not None:
            assert pointer_to_key(key_to_pointer(comment.anchor, pack), pack) == comment.anchor
    data = json.loads(dump_json_pack(pack))
    data["comments"] = [{"at": "/rules/9/checks/4", "text": "# orphan"}, {"text": "# end"}]
    back, back_source = load_json_pack(json.dumps(data), "x.json")
    assert back_source.comments == [Comment("# orphan", None), Comment("# end", None)]
    assert print_pack(back, back_source.comments).endswith("}\n\n# orphan\n# end\n")


def test_bad_comments_in_json_are_schema_errors():
    pack, _ = load_pack(REPO / "rule_packs" / "pii.trace")
    data = json.loads(dump_json_pack(pack))
    data["comments"] = [{"at": "/rules/0", "text": "no hash"}]
    with pytest.raises(Exception) as info:
        load_json_pack(json.dumps(data), "x.json")
    assert "TJ002" in str(info.value)
