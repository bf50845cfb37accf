"""The dashboard's Diff page: a draft pack against the tenant's recent calls, before it is uploaded.

The draft (the ``.trace`` language or the JSON form) goes through the same gauntlet as an upload: a ``.trace``
draft is parsed here (its size bounded first) and turned into the JSON form, then a compiler process
(:mod:`trace_engine.api.compiler`, with its time and memory budget) checks its structure, limits, compilation and
lint. Only a draft that passes is compiled again in this process to score with.

**Before** is what the tenant enforces now: the org-default config's packs, each as the tenant has it (its upload,
else the built-in one); without a config, the packs named by the recent calls. **After** is the same with the
draft in place of its ``pack_id`` (or added). The config's guardrails and call defaults apply to both. The calls
are the tenant's latest ``calls`` by call time, rebuilt from their stored scorecards
(:func:`trace_engine.diff.transcript_from_scorecard`: PII is already redacted in them, so detector rules cannot
fire on either side, which the page says). Nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trace_engine import damages
from trace_engine.diff import DiffRun, Side, transcript_from_scorecard
from trace_engine.store import reads
from trace_engine.store.interfaces import Store

MAX_DRAFT_BYTES = 512 * 1024
DEFAULT_CALLS = 200
MAX_CALLS = 1000


@dataclass
class DraftProblem(Exception):
    """The draft cannot be compared: ``errors`` are ``{code, message, location?}`` to show the author."""

    message: str
    errors: list[dict[str, Any]]


def draft_to_json(text: str) -> bytes:
    """The draft as the JSON form an upload takes (a ``.trace`` draft is parsed and converted here)."""
    from trace_engine.dsl import load_pack_text
    from trace_engine.dsl.jsonform import pack_to_dict
    from trace_engine.errors import TraceError

    if len(text.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise DraftProblem(f"The draft is larger than {MAX_DRAFT_BYTES // 1024} KB.", [])
    if not text.strip():
        raise DraftProblem("Paste a rule pack (the .trace language or its JSON form).", [])
    if text.lstrip().startswith("{"):
        return text.encode("utf-8")
    try:
        pack, _ = load_pack_text(text, "draft.trace")
    except TraceError as exc:
        raise DraftProblem("The draft does not parse.", [_diag(d) for d in exc.diagnostics[:50]]) from None
    except RecursionError:
        raise DraftProblem("The draft is nested too deeply.", []) from None
    try:
        return json.dumps(pack_to_dict(pack), ensure_ascii=False).encode("utf-8")
    except ValueError as exc:
        raise DraftProblem(f"The draft has no JSON form: {exc}.", []) from None


def _diag(d: Any) -> dict[str, Any]:
    loc = getattr(d, "location", None)
    return {"code": d.code, "message": d.message, "location": loc.to_dict() if loc is not None else None}


def checked_draft(compilers: Any, text: str) -> tuple[Any, list[dict[str, Any]]]:
    """The draft's IR after a compiler process accepted it, and its lint warnings; raises :class:`DraftProblem`."""
    from trace_engine.api.compiler import CompileFailed, CompilerBusy
    from trace_engine.dsl.jsonform import pack_from_dict

    raw = draft_to_json(text)
    try:
        outcome = compilers.compile(raw)
    except CompilerBusy:
        raise DraftProblem("Every rule-pack compiler is busy; try again in a moment.", []) from None
    except CompileFailed as exc:
        raise DraftProblem(f"The draft is too complex to compile: {exc}.", []) from None
    if outcome["status"] != "ok":
        stage = {"structure": "does not follow the rule-pack schema", "parse": "does not parse",
                 "limits": "exceeds the compiler's limits", "compile": "does not compile",
                 "lint": "has lint errors"}.get(outcome.get("stage"), "was refused")
        raise DraftProblem(f"The draft {stage}.", outcome.get("errors") or [])
    return pack_from_dict(json.loads(outcome["spec"])), outcome.get("warnings") or []


def packs_in_force(conn: Store, tenant: str, recent: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """``(config without rule_packs, [IR packs])``: what the tenant enforces now (see the module docstring)."""
    from trace_engine.api import resources

    stored = resources.get_config(conn, tenant, None)
    cfg = dict(stored.config)
    enabled = [pid for pid, ref in (cfg.get("rule_packs") or {}).items() if (ref or {}).get("enabled", True)]
    if stored.source == "default" or not enabled:
        named = {p.split("@", 1)[0] for c in recent for p in (c["scorecard"].get("packs_enforced") or ())}
        enabled = sorted(p for p in named if p != "guardrails")
    versions = {pid: (ref or {}).get("version") for pid, ref in (cfg.get("rule_packs") or {}).items()}
    packs = [p for p in (damages.tenant_pack(conn, tenant, pid, versions.get(pid)) for pid in sorted(enabled)) if p]
    cfg["rule_packs"] = {}
    cfg.pop("enabled", None)
    return cfg, packs


def run(conn: Store, tenant: str, draft: Any, calls: int = DEFAULT_CALLS) -> dict[str, Any]:
    """Compare the draft (IR) with the packs in force over the ``calls`` latest calls; the diff report."""
    from trace_engine.gate.config import load_config
    from trace_engine.gate.engine import Engine
    from trace_engine.rescore import offline_config

    calls = max(1, min(MAX_CALLS, int(calls)))
    recent = reads.list_calls(conn, tenant, limit=calls, with_scorecards=True)["data"]
    cfg, packs = packs_in_force(conn, tenant, recent)
    config = offline_config(load_config(cfg))
    before = Side("packs in force", Engine.from_config(config, packs=packs))
    after_packs = [p for p in packs if p.pack_id != draft.pack_id] + [draft]
    after = Side(f"draft {draft.pack_id}@{draft.version}", Engine.from_config(config, packs=after_packs))
    run = DiffRun(before, after)
    for item in recent:
        run.score(transcript_from_scorecard(item["scorecard"]), tenant=tenant)
    report = run.report()
    report["window"] = {
        "calls": len(recent),
        "oldest_ms": recent[-1]["call_at"] if recent else None,
        "newest_ms": recent[0]["call_at"] if recent else None,
    }
    return report
