"""schemathesis with ``--checks all`` over the served OpenAPI 3.1 document, against a real ``trace serve`` on
loopback: a bounded run of ``benchmarks/fuzz_api.py`` (every phase: examples, coverage, fuzzing, stateful), which
must end with 0 failures and no stack trace or key in the server's log. The full run is the same script with more
examples (``.venv/bin/python benchmarks/fuzz_api.py --max-examples 1000``).
"""

from __future__ import annotations

import io
import json
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

pytest.importorskip("schemathesis")

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
EXAMPLES = int(os.environ.get("TRACE_FUZZ_EXAMPLES", "5"))


def test_schemathesis_all_checks_zero_failures():
    sys.path.insert(0, str(BENCH))
    try:
        import fuzz_api
    finally:
        sys.path.remove(str(BENCH))
    out = io.StringIO()
    with redirect_stdout(out):
        code = fuzz_api.main(["--max-examples", str(EXAMPLES), "--seed", "7"])
    text = out.getvalue()
    summary = json.loads(text.strip().splitlines()[-1])
    assert code == 0 and summary["failures"] == 0 and summary["errors"] == 0, text[-6000:]
    assert summary["server_tracebacks"] == 0 and summary["server_key_leaks"] == 0
