"""The exposure rollup: per tenant, call hour, agent and verdict (and per rule), counts over the latest record of
every call. It is a cache: the writer folds each scorecard in, in the transaction that appends it, from the
scorecard itself (never from a column an attacker could edit afterwards); ``trace verify`` rebuilds it from the
signed records and reports any difference.

A call counts in the hour of its ``call_at`` (call start; scored time when the start is unknown). A record that
supersedes another takes the superseded record's contributions away, so the counts always describe the latest
record of each call, as the read views do.
"""

from __future__ import annotations

from typing import Any

HOUR_MS = 3_600_000
#: stands for a NULL agent_id / pack_id inside the rollup's primary keys
NONE = "\x00"

#: (hour, agent, verdict, frozenset of (rule_id, pack)) of one record
Contribution = tuple[int, str, str, frozenset[tuple[str, str]]]


def call_at(scorecard: dict[str, Any]) -> int:
    """When the call happened: ``started_at`` (Unix ms) when the scorecard has one, else ``scored_at``."""
    started = scorecard.get("started_at")
    if type(started) is int and started >= 0:
        return started
    return int(scorecard["scored_at"])


def contribution(scorecard: dict[str, Any]) -> Contribution:
    """What one scorecard (``Scorecard.to_dict()`` shape) adds to the rollup."""
    agent = scorecard.get("agent_id")
    rules = frozenset(
        (str(f.get("rule_id")), NONE if f.get("pack_id") is None else str(f.get("pack_id")))
        for f in scorecard.get("findings") or ()
        if isinstance(f, dict)
    )
    hour = call_at(scorecard) // HOUR_MS * HOUR_MS
    return hour, NONE if agent is None else str(agent), str(scorecard.get("verdict")), rules


class RollupDelta:
    """Changes to the rollup made by one transaction (or, in verify, the whole rollup rebuilt)."""

    __slots__ = ("verdicts", "rules")

    def __init__(self) -> None:
        self.verdicts: dict[tuple[str, int, str, str], int] = {}
        self.rules: dict[tuple[str, int, str, str, str], int] = {}

    def add(self, tenant: str, c: Contribution, sign: int = 1) -> None:
        hour, agent, verdict, rules = c
        k = (tenant, hour, agent, verdict)
        self.verdicts[k] = self.verdicts.get(k, 0) + sign
        for rule_id, pack in rules:
            kr = (tenant, hour, agent, rule_id, pack)
            self.rules[kr] = self.rules.get(kr, 0) + sign

    def nonzero(self) -> tuple[dict, dict]:
        return (
            {k: n for k, n in self.verdicts.items() if n},
            {k: n for k, n in self.rules.items() if n},
        )


def whole_hours(
    session: Any, tenant: str, edge: int, agent_id: str | None
) -> tuple[dict[str, int], dict[tuple[str, str | None], int]]:
    """Verdict counts and per-rule call counts over every rollup hour at or after ``edge``."""
    verdict_rows, rule_rows = session.rollup_whole_hours(tenant, edge, agent_id)
    verdicts: dict[str, int] = {}
    for verdict, c in verdict_rows:
        verdicts[verdict] = verdicts.get(verdict, 0) + c
    counts: dict[tuple[str, str | None], int] = {}
    for rule_id, pack, c in rule_rows:
        k = (rule_id, None if pack == NONE else pack)
        counts[k] = counts.get(k, 0) + c
    return verdicts, counts


def hourly_verdicts(
    conn: Any, tenant: str, edge: int, agent_id: str | None
) -> dict[int, dict[str, int]]:
    """Per rollup hour at or after ``edge``: verdict counts (the trend behind :func:`whole_hours`)."""
    agent_sql, args = ("", [tenant, edge]) if agent_id is None else (" AND agent = ?", [tenant, edge, agent_id])
    hours: dict[int, dict[str, int]] = {}
    for hour, verdict, c in conn.execute(
        "SELECT hour, verdict, sum(n) FROM rollup_verdicts WHERE tenant = ? AND hour >= ?"
        + agent_sql
        + " GROUP BY hour, verdict",
        args,
    ):
        if c:
            cell = hours.setdefault(hour, {})
            cell[verdict] = cell.get(verdict, 0) + c
    return hours
