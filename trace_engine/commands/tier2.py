"""Tier-2 commands: ``findings`` (the ``TraceFinding`` list envelope; ``--alerts`` for the alerts feed)."""

from __future__ import annotations

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import ListFormat, fail, print_list


def register(app: typer.Typer) -> None:
    @app.command("findings")
    def findings_cmd(
        db: str = typer.Option("trace.db", "--db", help="Evidence database: a SQLite file or a postgresql:// URL."),
        tenant: str = typer.Option("default", "--tenant", help="Tenant whose records to read."),
        check_id: str | None = typer.Option(None, "--check-id", help="ambiguous_optout, context_pii, ..."),
        severity: str | None = typer.Option(
            None, "--severity", help="low, medium, high or critical (any case).",
            callback=lambda v: v.lower() if v is not None else None,
        ),
        interaction_id: str | None = typer.Option(None, "--interaction-id"),
        alerts: bool = typer.Option(False, "--alerts", help="Only escalate or critical findings (the alerts feed)."),
        limit: int = typer.Option(20, "--limit", min=1, help="Rows per page (capped at 100)."),
        cursor: str | None = typer.Option(None, "--cursor", help="next_cursor from a previous page."),
        fmt: ListFormat = "text",
    ) -> None:
        """List Tier-2 findings (advisory, model-judged), newest first."""
        from trace_engine.store.cursor import CursorError
        from trace_engine.store.interfaces import StoreError, UnreadableDatabase
        from trace_engine.tier2.store import list_findings

        if severity is not None and severity not in ("low", "medium", "high", "critical"):
            raise fail("--severity must be low, medium, high or critical", ExitCode.USAGE)
        try:
            res = list_findings(db, tenant, check_id=check_id, severity=severity, interaction_id=interaction_id,
                                alerts=alerts, limit=limit, cursor=cursor)
        except (UnreadableDatabase, CursorError, StoreError) as exc:
            raise fail(str(exc), ExitCode.USAGE) from None
        cols = ["interaction_id", "check_id", "severity", "action", "confidence", "at_t", "reason"]
        print_list(res, cols, f"tier-2 findings ({tenant})" + (" - alerts" if alerts else ""), fmt)
