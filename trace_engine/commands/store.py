"""Store commands: ``trace store migrate`` (apply the schema migrations), ``trace store copy SRC DST`` (move a log
between backends), ``trace store info``.

``--db`` / ``SRC`` / ``DST`` are a SQLite path or a ``postgresql://`` URL. Exit codes follow
:mod:`trace_engine.commands._exit`: 2 when a database cannot be opened or written, 1 when a copy does not match
its source.
"""

from __future__ import annotations

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import TextOrJson, emit_json, fail, stdout_console

store_app = typer.Typer(help="The evidence database: migrate its schema, copy it between backends.", no_args_is_help=True)

DbOpt = typer.Option("trace.db", "--db", help="Evidence database: a SQLite file or a postgresql:// URL.")


@store_app.command("migrate")
def migrate(
    db: str = DbOpt,
    target: int | None = typer.Option(None, "--to", min=1, help="Stop at this schema version (default: the latest)."),
    fmt: TextOrJson = "text",
) -> None:
    """Apply the pending schema migrations (versioned SQL files per backend). A database from an older Trace is
    upgraded in place; running it again does nothing."""
    from trace_engine.store import open_store
    from trace_engine.store.interfaces import StoreError, UnreadableDatabase

    try:
        store = open_store(db, create=True, migrate=False, check_schema=False)
    except UnreadableDatabase as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    try:
        before = store.schema_version()
        applied = store.migrate(target=target)
        after = store.schema_version()
    except (UnreadableDatabase, StoreError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    finally:
        store.close()
    if fmt == "json":
        emit_json({"object": "trace.store.migration", "db": store.url, "from": before, "to": after, "applied": applied})
        return
    con = stdout_console()
    for name in applied:
        con.print(f"applied {name}", markup=False)
    con.print(f"{store.url}: schema version {after}" + (" (already up to date)" if not applied else ""), markup=False)


@store_app.command("copy")
def copy_cmd(
    src: str = typer.Argument(..., help="The database to copy from (path or URL)."),
    dst: str = typer.Argument(..., help="The database to copy into (path or URL); must hold no records."),
    fmt: TextOrJson = "text",
) -> None:
    """Copy every log, checkpoint, projection and service row from SRC to DST, in one transaction on DST. The copy
    verifies with the same roots (`trace verify --db DST`); every log's size and latest checkpoint are compared
    after the copy (exit 1 if any differs)."""
    from trace_engine.store.copy import CopyError, copy_store
    from trace_engine.store.interfaces import StoreError, UnreadableDatabase

    try:
        report = copy_store(src, dst)
    except (UnreadableDatabase, StoreError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    except CopyError as exc:
        raise fail(str(exc), ExitCode.PROBLEMS) from None
    if fmt == "json":
        emit_json(report)
        return
    con = stdout_console()
    for t in report["logs"]:
        name = "directory" if t["tenant"] == "" else f"tenant {t['tenant']}"
        con.print(f"{name}: {t['size']} records, latest checkpoint at size {t['checkpoint_size']}", markup=False)
    rows = ", ".join(f"{n} {k}" for k, n in report["rows"].items() if n)
    con.print(f"copied {report['src']} -> {report['dst']}: {rows}", markup=False)


@store_app.command("info")
def info(db: str = DbOpt, fmt: TextOrJson = "text") -> None:
    """The backend, schema version and logs of a database (read-only)."""
    from trace_engine.store import open_store
    from trace_engine.store.interfaces import StoreError, UnreadableDatabase

    try:
        with open_store(db, create=False) as store, store.read() as s:
            tenants = sorted(t for t in s.log_tenants() if isinstance(t, str))
            logs = [{"tenant": t, "size": s.log_tail(t)[0]} for t in tenants]
            out = {"object": "trace.store", "db": store.url, "backend": store.kind,
                   "schema_version": store.schema_version(), "logs": logs}
    except (UnreadableDatabase, StoreError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    if fmt == "json":
        emit_json(out)
        return
    con = stdout_console()
    con.print(f"{out['db']}: {out['backend']}, schema version {out['schema_version']}", markup=False)
    for t in logs:
        con.print(f"  {'directory' if t['tenant'] == '' else 'tenant ' + t['tenant']}: {t['size']} records", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
