"""Tier-2 commands: ``findings`` (the ``TraceFinding`` list envelope; ``--alerts`` for the alerts feed)."""

from __future__ import annotations

from enum import StrEnum

import typer

from trace_engine.commands._output import emit_json, stderr_console, stdout_console

EXIT_USAGE = 2


class Fmt(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("findings")
    def findings_cmd(
        db: str = typer.Option("trace.db", "--db", help="Evidence database (SQLite)."),
        tenant: str = typer.Option("default", "--tenant", help="Tenant whose records to read."),
        check_id: str | None = typer.Option(None, "--check-id", help="ambiguous_optout, context_pii, ..."),
        severity: str | None = typer.Option(None, "--severity", help="low, medium, high or critical."),
        interaction_id: str | None = typer.Option(None, "--interaction-id"),
        alerts: bool = typer.Option(False, "--alerts", help="Only escalate or critical findings (the alerts feed)."),
        limit: int = typer.Option(20, "--limit", min=1, help="Rows per page (capped at 100)."),
        cursor: str | None = typer.Option(None, "--cursor", help="next_cursor from a previous page."),
        fmt: Fmt = typer.Option(Fmt.table, "--format", help="table (rich) or json."),
    ) -> None:
        """List Tier-2 findings (advisory, model-judged), newest first."""
        from trace_engine.store.cursor import CursorError
        from trace_engine.store.db import UnreadableDatabase
        from trace_engine.tier2.store import list_findings

        if severity is not None and severity not in ("low", "medium", "high", "critical"):
            stderr_console().print("error: --severity must be low, medium, high or critical", markup=False)
            raise typer.Exit(EXIT_USAGE)
        try:
            res = list_findings(db, tenant, check_id=check_id, severity=severity, interaction_id=interaction_id,
                                alerts=alerts, limit=limit, cursor=cursor)
        except (UnreadableDatabase, CursorError) as exc:
            stderr_console().print(f"error: {exc}", markup=False)
            raise typer.Exit(EXIT_USAGE) from None
        if fmt == Fmt.json:
            emit_json(res)
            return
        from rich.table import Table

        cols = ["interaction_id", "check_id", "severity", "action", "confidence", "at_t", "reason"]
        table = Table(title=f"tier-2 findings ({tenant})" + (" - alerts" if alerts else ""))
        for c in cols:
            table.add_column(c)
        for row in res["data"]:
            table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in cols])
        con = stdout_console()
        con.print(table)
        if res.get("has_more"):
            con.print(f"more: --cursor {res['next_cursor']}", markup=False)
