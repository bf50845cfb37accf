"""Performance is measured in benchmarks/, never asserted in tests: no assertion may compare elapsed wall-clock time.

A busy CI machine must pass. Linear time is tested by counting work (lines executed, SQLite VM steps); "never blocks"
by what the other side has (not) done yet, with only a generous deadlock guard.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CLOCKS = re.compile(r"perf_counter|monotonic\(|time\.time\(|process_time|\belapsed\b|\bt0\b|\bstarted\b")


def test_no_assertion_compares_wall_clock_time():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        timed: set[str] = set()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            assign = re.match(r"\s*(\w+)\s*=\s*.*(perf_counter|monotonic\(|time\.time\()", code)
            if assign:
                timed.add(assign.group(1))
            if not code.lstrip().startswith("assert"):
                continue
            if CLOCKS.search(code) or any(re.search(rf"\b{re.escape(name)}\b", code) for name in timed):
                offenders.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not offenders, "wall-clock assertions (count work instead, or move to benchmarks/):\n" + "\n".join(offenders)
