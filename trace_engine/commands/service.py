"""Service commands: ``serve`` (the HTTP API) and ``keys create`` / ``keys list`` / ``keys revoke``.

``trace serve --db DB [--host 127.0.0.1] [--port 8080]`` binds to loopback unless told otherwise; its other options
are the server settings (:mod:`trace_engine.api.settings`: rate limits, compiler budgets). ``DB`` is a SQLite file
or a ``postgresql://`` URL (several API servers may serve one PostgreSQL database).
``trace keys create --db DB --tenant T --scopes trace:read,trace:configure`` prints the key once; only its
SHA-256 hash is stored. ``--format text|json`` as everywhere (``keys list`` also ``jsonl`` and ``csv``). Exit codes
follow :mod:`trace_engine.commands._exit` (2 for usage errors and unreadable databases).
"""

from __future__ import annotations

import logging
import sys

import typer

from trace_engine.api.settings import ServerSettings
from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import (
    ListFormat,
    TextOrJson,
    emit_json,
    fail,
    iso_time,
    print_list,
    stderr_console,
    write_text,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = ExitCode.OK, ExitCode.PROBLEMS, ExitCode.USAGE
_DEFAULTS = ServerSettings()


def _fail(msg: str, code: int) -> typer.Exit:
    return fail(msg, ExitCode(code))


def _open(db: str, create: bool, key: str | None = None):
    from trace_engine.api.tables import open_db
    from trace_engine.store.interfaces import UnreadableDatabase
    from trace_engine.store.log import use_key

    try:
        store = open_db(db, create=create)
    except UnreadableDatabase as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if key is not None:
        use_key(store, key)
    return store


KeyOpt = typer.Option(None, "--key", help="Log signing key (default: trace.key beside the database).")


def serve(
    db: str = typer.Option("trace.db", "--db", help="Evidence database: a SQLite file (created when missing) or a postgresql:// URL."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    key: str = KeyOpt,
    rate_limit: float = typer.Option(
        _DEFAULTS.rate_limit, "--rate-limit", min=0, help="Requests per second per API key (0: no limit)."
    ),
    rate_burst: int = typer.Option(_DEFAULTS.rate_burst, "--rate-burst", min=1, help="Burst size per key."),
    upload_rate: float = typer.Option(
        _DEFAULTS.upload_rate, "--upload-rate", min=0, help="Rule-pack uploads per second per key (0: no limit)."
    ),
    upload_burst: int = typer.Option(_DEFAULTS.upload_burst, "--upload-burst", min=1, help="Upload burst per key."),
    tenant_compiles: int = typer.Option(
        _DEFAULTS.tenant_compiles, "--tenant-compiles", min=1, help="Compilations one tenant may have at once."
    ),
    compile_workers: int = typer.Option(
        _DEFAULTS.compile_workers, "--compile-workers", min=1, help="Rule-pack compiler processes."
    ),
    compile_queue: int = typer.Option(
        _DEFAULTS.compile_queue, "--compile-queue", min=0, help="Uploads that may wait for a compiler."
    ),
    compile_seconds: float = typer.Option(
        _DEFAULTS.compile_seconds, "--compile-seconds", min=1, help="CPU-time budget of one compilation."
    ),
    compile_wall_seconds: float = typer.Option(
        _DEFAULTS.compile_wall_seconds,
        "--compile-wall-seconds",
        min=1,
        help="Wall-clock ceiling of one compilation (a starved compiler: 503).",
    ),
    compile_memory_mb: int = typer.Option(
        _DEFAULTS.compile_memory_mb, "--compile-memory-mb", min=256, help="Memory budget of a compiler process."
    ),
) -> None:
    """Run the Trace HTTP API (the seed spec's /v1/trace/* operations). Limits: docs/api.md."""
    import uvicorn

    from trace_engine.api.app import create_app
    from trace_engine.store.interfaces import UnreadableDatabase

    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise _fail(f"unknown log level {log_level!r}", EXIT_USAGE)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        settings = ServerSettings(
            rate_limit=rate_limit,
            rate_burst=rate_burst,
            upload_rate=upload_rate,
            upload_burst=upload_burst,
            tenant_compiles=tenant_compiles,
            compile_workers=compile_workers,
            compile_queue=compile_queue,
            compile_seconds=compile_seconds,
            compile_wall_seconds=compile_wall_seconds,
            compile_memory_mb=compile_memory_mb,
        )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    try:
        app = create_app(db, settings, key=key)
    except UnreadableDatabase as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot load the signing key: {exc}", EXIT_USAGE) from None
    # uvicorn's own access log prints query strings; ours (trace.api.access) prints escaped paths only
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level.lower(), server_header=False)


keys_app = typer.Typer(help="API keys: create (printed once), list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    db: str = typer.Option("trace.db", "--db", help="Evidence database: a SQLite file (created when missing) or a postgresql:// URL."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant the key acts for."),
    scopes: str = typer.Option(
        "trace:read", "--scopes", help="Comma-separated: trace:read, trace:configure, trace:*, *."
    ),
    note: str = typer.Option(None, "--note", help="A label stored with the key."),
    fmt: TextOrJson = "text",
    json_out: bool = typer.Option(False, "--json", hidden=True, help="Same as --format json (kept for scripts)."),
    key: str = KeyOpt,
) -> None:
    """Create an API key. The key is printed once and cannot be shown again."""
    from trace_engine.api.auth import create_key, parse_scopes

    try:
        parsed = parse_scopes(scopes)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    from trace_engine.store.interfaces import StoreError
    from trace_engine.store.log import LogIntegrityError

    store = _open(db, create=True, key=key)
    try:
        api_key, key_id = create_key(store, tenant, parsed, note)
    except LogIntegrityError as exc:
        raise _fail(str(exc), EXIT_PROBLEMS) from None
    except (OSError, ValueError, StoreError) as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    finally:
        store.close()
    if json_out or fmt == "json":
        emit_json({"key": api_key, "key_id": key_id, "tenant": tenant, "scopes": sorted(parsed)})
    else:
        write_text(api_key + "\n")
        stderr_console().print(
            f"created {key_id} for tenant {tenant} with scopes {','.join(sorted(parsed))}; "
            "store the key now, it is not shown again",
            markup=False,
        )


@keys_app.command("list")
def keys_list(
    db: str = typer.Option("trace.db", "--db", help="Evidence database: a SQLite file or a postgresql:// URL."),
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's keys."),
    fmt: ListFormat = "text",
) -> None:
    """List keys (ids, tenants, scopes; never the keys)."""
    store = _open(db, create=False)
    try:
        with store.read() as s:
            rows = s.api_keys(tenant)
    finally:
        store.close()
    keys = [
        {"key_id": r[0], "tenant": r[1], "scopes": r[2].split(","), "created_at": r[3], "revoked_at": r[4], "note": r[5]}
        for r in rows
    ]
    if fmt == "json":
        emit_json(keys)  # a plain array, as before
        return

    def cell(row: dict, column: str) -> object:
        value = row.get(column)
        return iso_time(value) if column in ("created_at", "revoked_at") and value is not None else value

    columns = ["key_id", "tenant", "scopes", "created_at", "revoked_at", "note"]
    print_list({"data": keys}, columns, "API keys" + (f" ({tenant})" if tenant else ""), fmt, cells=cell)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(..., help="The key_id to revoke."),
    db: str = typer.Option("trace.db", "--db", help="Evidence database: a SQLite file or a postgresql:// URL."),
    key: str = KeyOpt,
) -> None:
    """Revoke a key by its id."""
    from trace_engine.api.auth import revoke_key
    from trace_engine.store.interfaces import StoreError
    from trace_engine.store.log import LogIntegrityError

    store = _open(db, create=False, key=key)
    try:
        ok = revoke_key(store, key_id)
    except LogIntegrityError as exc:
        raise _fail(str(exc), EXIT_PROBLEMS) from None
    except (OSError, ValueError, StoreError) as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    finally:
        store.close()
    if not ok:
        raise _fail(f"no active key {key_id}", EXIT_PROBLEMS)
    stderr_console().print(f"revoked {key_id}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
