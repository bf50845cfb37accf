"""Statutory exposure: the damages figures rule packs state, and what they add up to over a window.

**An estimate, not legal advice.** A pack may give a rule the statutory damages a violation can carry
(``damages 500 to 1500 per call citation "47 U.S.C. § 227(c)(5)"``, :class:`trace_engine.ir.Damages`). Over a
window, the estimate multiplies each figure by how often it applies:

* ``per call``: rules whose damages cite the same provision with the same figure make **one claim per call**,
  however many of them fired in it (several do-not-call rules broken in one call are one TCPA violation; the
  FDCPA gives one award per action). The count is the number of calls in which any of them fired.
* ``per violation``: every finding counts (a rule that fired on three turns counts three times).

The range is ``low * count`` to ``high * count`` summed over the claims. It is what the statutes' figures say for
the findings on record, nothing more: it ignores who could sue, consent, defenses, the "more than one call"
conditions some statutes have, class caps and settlement practice. Rules without a figure add nothing (and are
counted, so a reader knows how much of the ranking has none).

Counting follows the exposure read: the latest record of every call whose call time is in the window
(:func:`trace_engine.store.reads.exposure`). A claim of one ``per call`` rule uses the exposure ranking's count;
claims of several rules, and ``per violation`` claims, read :func:`trace_engine.store.reads.rule_activity`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trace_engine import ir
from trace_engine.store.interfaces import Store

CURRENCY = "USD"
DISCLAIMER = (
    "Estimated statutory exposure from the damages figures the rule packs state, multiplied by the findings on "
    "record. An estimate, not legal advice: it does not consider standing, consent, defenses, statutory "
    "conditions, class-action caps or what a court would award."
)

#: (rule_id, pack_id) -> the rule's damages
DamagesTable = dict[tuple[str, str | None], ir.Damages]


def money(amount: int) -> str:
    """``1500`` -> ``$1,500``."""
    return f"${amount:,}"


def amount_range(low: int, high: int) -> str:
    """``$500–$1,500``, or one amount when they are equal."""
    return money(low) if low == high else f"{money(low)}–{money(high)}"


def describe(d: ir.Damages) -> str:
    """``$500–$1,500 per call (47 U.S.C. § 227(c)(5))``."""
    return f"{amount_range(d.low, d.high)} per {d.per} ({d.citation})"


def damages_table(packs: Iterable[ir.Pack]) -> DamagesTable:
    """Every rule of ``packs`` that states damages."""
    return {(r.id, p.pack_id): r.damages for p in packs for r in p.rules if r.damages is not None}


@dataclass(frozen=True, slots=True)
class Claim:
    """One line of the estimate: a figure, the rules that carry it, and how many times it applies."""

    citation: str
    per: str
    low: int
    high: int
    note: str | None
    rules: tuple[tuple[str, str | None], ...]
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "citation": self.citation,
            "per": self.per,
            "low": self.low,
            "high": self.high,
            "note": self.note,
            "rules": [{"rule_id": r, "pack_id": p} for r, p in self.rules],
            "count": self.count,
            "estimated_low": self.low * self.count,
            "estimated_high": self.high * self.count,
        }


def claims(
    table: DamagesTable,
    ranking: list[dict[str, Any]],
    activity: Any = None,
) -> list[Claim]:
    """The claims of an exposure ``ranking`` (``by_rule``). ``activity(rules)`` returns
    :func:`trace_engine.store.reads.rule_activity` for the rules it is given (calls with any of them, findings
    per rule); it is called only for claims the ranking cannot count alone."""
    counts = {(r["rule_id"], r.get("pack_id")): int(r["count"]) for r in ranking}
    groups: dict[tuple, list[tuple[str, str | None]]] = {}
    for key in counts:
        d = table.get(key)
        if d is None:
            continue
        gkey = (d.citation, d.per, d.low, d.high) if d.per == "call" else (d.citation, d.per, d.low, d.high, key)
        groups.setdefault(gkey, []).append(key)
    out: list[Claim] = []
    for gkey, rules in groups.items():
        rules.sort(key=lambda k: (k[1] or "", k[0]))
        first = table[rules[0]]
        if first.per == "call" and len(rules) == 1:
            count = counts[rules[0]]
        elif activity is None:
            raise ValueError("counting this claim needs the rule activity of its rules")
        else:
            got = activity(rules)
            count = got["calls"] if first.per == "call" else sum(got["findings"].get(k, 0) for k in rules)
        notes = sorted({table[k].note for k in rules if table[k].note})
        out.append(Claim(gkey[0], gkey[1], gkey[2], gkey[3], notes[0] if len(notes) == 1 else None if not notes
                         else " / ".join(notes), tuple(rules), count))
    out.sort(key=lambda c: (-c.high * c.count, c.citation))
    return out


def estimate(table: DamagesTable, exposure: dict[str, Any], activity: Any = None) -> dict[str, Any]:
    """The ``estimated_damages`` block of an exposure: ``{"currency", "low", "high", "claims", "rules_with_figure",
    "rules_without_figure", "disclaimer"}`` (see the module docstring)."""
    ranking = exposure.get("by_rule") or []
    cs = claims(table, ranking, activity)
    with_figure = sum(1 for r in ranking if (r["rule_id"], r.get("pack_id")) in table)
    return {
        "object": "trace.exposure_estimate",
        "currency": CURRENCY,
        "low": sum(c.low * c.count for c in cs),
        "high": sum(c.high * c.count for c in cs),
        "claims": [c.to_dict() for c in cs],
        "rules_with_figure": with_figure,
        "rules_without_figure": len(ranking) - with_figure,
        "disclaimer": DISCLAIMER,
    }


# ------------------------------------------------------------------------------------------- a tenant's packs


def tenant_pack(conn: Store, tenant: str, pack_id: str, version: str | None = None) -> ir.Pack | None:
    """The IR of a pack the tenant has (its upload, else the built-in one; the latest version unless one is
    named), or ``None``. Uploads are read through the service's signed-record check."""
    from trace_engine.api import resources

    try:
        rec = resources.find_pack(conn, tenant, pack_id, version, with_spec=True)
    except sqlite3.OperationalError:  # a database without the service tables (rescore only): built-ins
        builtins = resources.builtin_packs().get(pack_id, ())
        rec = next((r for r in builtins if version is None or r.version == version), None)
    if rec is None:
        return None
    return pack_from_spec(rec.etag, rec.spec_json)


_PACKS: dict[str, ir.Pack] = {}


def pack_from_spec(etag: str, spec_json: str) -> ir.Pack:
    """The IR of a stored pack (its canonical JSON form), cached by etag: the schema check behind it costs tens of
    milliseconds a pack."""
    from trace_engine.dsl.jsonform import pack_from_dict

    pack = _PACKS.get(etag)
    if pack is None:
        pack = pack_from_dict(json.loads(spec_json))
        if len(_PACKS) > 256:
            _PACKS.clear()
        _PACKS[etag] = pack
    return pack


def tenant_damages(conn: Store, tenant: str, pack_ids: Iterable[str | None]) -> DamagesTable:
    """The damages figures of the named packs as the tenant has them now (latest versions)."""
    table: DamagesTable = {}
    for pack_id in sorted({p for p in pack_ids if p}):
        pack = tenant_pack(conn, tenant, pack_id)
        if pack is not None:
            table.update(damages_table([pack]))
    return table


def exposure_with_estimate(
    conn: Store,
    tenant: str,
    exposure: dict[str, Any],
    *,
    since_ms: int,
    agent_id: str | None = None,
) -> dict[str, Any]:
    """``exposure`` (a :func:`~trace_engine.store.reads.exposure` result over the window starting at
    ``since_ms``) with its ``estimated_damages``."""
    from trace_engine.store.reads import rule_activity

    table = tenant_damages(conn, tenant, (r.get("pack_id") for r in exposure.get("by_rule") or ()))

    def activity(rules: list[tuple[str, str | None]]) -> dict[str, Any]:
        return rule_activity(conn, tenant, rules, since_ms=since_ms, agent_id=agent_id)

    return {**exposure, "estimated_damages": estimate(table, exposure, activity)}
