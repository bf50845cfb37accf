"""Regenerate what the detector registry defines outside the code: the JSON schemas' detector enums.

    .venv/bin/python tools/gen_detector_artifacts.py            # rewrite the enums
    .venv/bin/python tools/gen_detector_artifacts.py --check    # exit 1 when a committed file is stale

A detector is defined once, in the native core's registry (``core/src/text/detectors/mod.rs``, read through
:data:`trace_engine.text.detectors.DETECTORS`). Python code derives from it at import (``ir.DETECTORS``, the
config's ``block_pii`` patterns, the guardrail rules, the prefilter hints, the scorecard's redaction kinds);
``trace docs`` writes ``docs/detectors.md``; this script writes the enums of the JSON files that ship as data:

* ``schemas/rule_pack_schema.json`` and its packaged copy ``trace_engine/data/rule_pack_schema.json``:
  ``$defs.matcher_detector.properties.detector.enum`` (the detectors a pack may name);
* ``schemas/scorecard-v1.json``: ``$defs.redaction.properties.kind.enum`` (what a redaction hides: a detector's
  finding or a phrase).

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

from trace_engine.text.detectors import DETECTORS  # noqa: E402

_DETECTOR_ENUM = ("$defs", "matcher_detector", "properties", "detector", "enum")
_REDACTION_ENUM = ("$defs", "redaction", "properties", "kind", "enum")


def targets() -> dict[Path, list[tuple[tuple[str, ...], list[str]]]]:
    """file -> (JSON path, value) pairs it must hold."""
    detectors = list(DETECTORS)
    return {
        ROOT / "schemas" / "rule_pack_schema.json": [(_DETECTOR_ENUM, detectors)],
        ROOT / "trace_engine" / "data" / "rule_pack_schema.json": [(_DETECTOR_ENUM, detectors)],
        ROOT / "schemas" / "scorecard-v1.json": [(_REDACTION_ENUM, [*detectors, "phrase"])],
    }


def render(path: Path, edits: list[tuple[tuple[str, ...], list[str]]]) -> str:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for keys, value in edits:
        node: Any = doc
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = ap.parse_args(argv)
    stale = []
    for path, edits in targets().items():
        text = render(path, edits)
        if path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale) + " (run tools/gen_detector_artifacts.py)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
