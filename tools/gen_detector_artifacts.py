"""Regenerate what the detector registry defines outside the code: the JSON schemas' detector enums and
``docs/detectors.md``.

    .venv/bin/python tools/gen_detector_artifacts.py            # rewrite what is stale
    .venv/bin/python tools/gen_detector_artifacts.py --check    # exit 1 when a committed file is stale

A detector is defined once, in the native core's registry (``core/src/text/detectors/mod.rs``, read through
:data:`trace_engine.text.detectors.DETECTORS`). Python code derives from it at import (``ir.DETECTORS``, the
config's ``block_pii`` patterns, the guardrail rules, the prefilter hints, the scorecard's redaction kinds); this
script writes the files that ship as data (the list: ``ADDING_A_DETECTOR["generated"]``):

* ``schemas/rule_pack_schema.json`` and its packaged copy ``trace_engine/data/rule_pack_schema.json``:
  ``$defs.matcher_detector.properties.detector.enum`` (the detectors a pack may name);
* ``schemas/scorecard-v1.json``: ``$defs.redaction.properties.kind.enum`` (what a redaction hides: a detector's
  finding or a phrase);
* ``docs/detectors.md`` (``trace docs`` writes it too, with the other generated pages).

``tests/test_detector_registry.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trace_engine.text.detectors import DETECTORS, detectors_markdown  # noqa: E402

_DETECTOR_ENUM = ("$defs", "matcher_detector", "properties", "detector", "enum")
_REDACTION_ENUM = ("$defs", "redaction", "properties", "kind", "enum")


def _with_enums(path: Path, edits: list[tuple[tuple[str, ...], list[str]]]) -> str:
    """``path``'s JSON with the values at ``edits``' paths replaced, in the committed layout (2-space indent)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    for keys, value in edits:
        node: Any = doc
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[Path, str]:
    """Every generated file -> the text it must hold."""
    detectors = list(DETECTORS)
    pack_schema = [(_DETECTOR_ENUM, detectors)]
    return {
        ROOT / "schemas" / "rule_pack_schema.json": _with_enums(ROOT / "schemas" / "rule_pack_schema.json", pack_schema),
        ROOT / "trace_engine" / "data" / "rule_pack_schema.json": _with_enums(
            ROOT / "trace_engine" / "data" / "rule_pack_schema.json", pack_schema
        ),
        ROOT / "schemas" / "scorecard-v1.json": _with_enums(
            ROOT / "schemas" / "scorecard-v1.json", [(_REDACTION_ENUM, [*detectors, "phrase"])]
        ),
        ROOT / "docs" / "detectors.md": detectors_markdown(),
    }


def stale(texts: dict[Path, str] | None = None) -> list[Path]:
    """Generated files whose committed text differs from what the registry gives (``texts``: :func:`rendered`)."""
    texts = rendered() if texts is None else texts
    return [p for p, text in texts.items() if not p.exists() or p.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = ap.parse_args(argv)
    texts = rendered()
    old = stale(texts)
    if args.check:
        if old:
            names = ", ".join(str(p.relative_to(ROOT)) for p in old)
            print(f"stale: {names} (run tools/gen_detector_artifacts.py)", file=sys.stderr)
            return 1
        return 0
    for path in old:
        path.write_text(texts[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
