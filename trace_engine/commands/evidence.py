"""Evidence commands: ``keygen``, ``verify``, ``checkpoint``, ``verify-proof``, ``prove``, ``interactions``,
``violations``, ``exposure``, ``show``.

Every command takes ``--db`` (default ``./trace.db``; a SQLite path or a ``postgresql://`` URL); the read commands take ``--tenant`` (default
``default``) and ``--format text|json`` (lists also ``jsonl`` and ``csv``). Exit codes follow :mod:`trace_engine.cli`:
``verify`` exits 0 when the log is intact, 1 when it was tampered with (naming the record), 2 when the database cannot
be read or no key was given; a read that meets a row not matching its signed record exits 1.

Signing key: ``--key`` names a ``trace.key`` file; without it the log uses ``trace.key`` beside the database and
creates it (with ``trace.pub``) on first use. Give verifiers ``trace.pub`` out of band and have them pass it as
``--pubkey`` (or a ``--trusted-keys`` file); have a second system keep the output of ``trace checkpoint`` and pass
it as ``--checkpoint`` to catch a truncated or rewritten log (docs/evidence.md). ``verify-proof`` never trusts the
key a proof carries: without ``--pubkey`` it checks the proof for consistency, says UNTRUSTED and exits 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from trace_engine.commands._exit import ExitCode
from trace_engine.commands._output import (
    ListFormat,
    TextOrJson,
    emit_json,
    fail,
    format_type,
    print_list,
    stderr_console,
    stdout_console,
    write_text,
)
from trace_engine.commands._views import print_exposure, print_interaction

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = ExitCode.OK, ExitCode.PROBLEMS, ExitCode.USAGE


DB_HELP = "Evidence database: a SQLite file or a postgresql:// URL."
DbOpt = typer.Option("trace.db", "--db", help=DB_HELP)
ExposureFormat = format_type("text", "json", "csv", "markdown")
TenantOpt = typer.Option("default", "--tenant", help="Tenant whose records to read.")
LimitOpt = typer.Option(20, "--limit", min=1, help="Rows per page (capped at 100).")
CursorOpt = typer.Option(None, "--cursor", help="next_cursor from a previous page.")


def _fail(msg: str, code: int) -> typer.Exit:
    return fail(msg, ExitCode(code))


def _load_pubkey(pubkey: str | None):
    from trace_engine.evidence.signing import load_verifier_key

    if pubkey is None:
        return None
    try:
        return load_verifier_key(pubkey)
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read public key {pubkey}: {exc}", EXIT_USAGE) from None


def _trusted_keys(pubkeys: list[str] | None, files: list[Path] | None) -> list:
    from trace_engine.evidence.signing import load_trusted_keys

    keys = [_load_pubkey(p) for p in pubkeys or []]
    for f in files or []:
        try:
            keys.extend(load_trusted_keys(f))
        except (OSError, ValueError) as exc:
            raise _fail(f"cannot read trusted keys {f}: {exc}", EXIT_USAGE) from None
    return keys


def _read_or_exit(fn, *args: Any, **kwargs: Any) -> Any:
    from trace_engine.store.cursor import CursorError
    from trace_engine.store.interfaces import StoreError, UnreadableDatabase
    from trace_engine.store.reads import TamperedRecord

    try:
        return fn(*args, **kwargs)
    except UnreadableDatabase as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except (StoreError, UnicodeDecodeError) as exc:
        raise _fail(f"the database is damaged ({exc}); run `trace verify`", EXIT_USAGE) from None
    except CursorError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except TamperedRecord as exc:
        raise _fail(str(exc), EXIT_PROBLEMS) from None


def _cell(row: dict[str, Any], column: str) -> Any:
    from trace_engine.commands._output import iso_time

    value = row.get(column)
    if column == "scored_at":
        return iso_time(value)
    if column == "packs_enforced" and isinstance(value, str):
        return value.split(",") if value else None
    return value


def _upper(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def register(app: typer.Typer) -> None:
    @app.command("keygen")
    def keygen(
        out: Path = typer.Option(Path("."), "--out", help="Directory for trace.key (0600) and trace.pub."),
        name: str = typer.Option("trace.example/log", "--name", help="Key name used in checkpoint signatures."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing key files."),
    ) -> None:
        """Generate an Ed25519 log signing key: trace.key (private) and trace.pub (verifier key)."""
        from trace_engine.evidence.signing import write_keypair

        try:
            priv, pub = write_keypair(out, name=name, overwrite=force)
        except FileExistsError as exc:
            raise _fail(f"{exc} (use --force to overwrite)", EXIT_USAGE) from None
        except ValueError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        write_text(f"wrote {priv}\nwrote {pub}\n{pub.read_text()}")

    @app.command("verify")
    def verify(
        db: str = DbOpt,
        checkpoint: list[Path] | None = typer.Option(
            None, "--checkpoint", help="Trusted signed checkpoint(s) kept outside the DB (repeatable; a file may hold several)."
        ),
        pubkey: list[str] | None = typer.Option(
            None, "--pubkey", help="Trusted verifier key (trace.pub) file or text (repeatable: every key of a rotation)."
        ),
        trusted_keys: list[Path] | None = typer.Option(
            None, "--trusted-keys", help="File of trusted verifier keys, one per line (# comments)."
        ),
        proof: Path | None = typer.Option(None, "--proof", help="Verify an inclusion proof file instead (no DB)."),
        rebuild_rollup: bool = typer.Option(
            False, "--rebuild-rollup", help="Rewrite an exposure rollup that differs from its (intact) records."
        ),
        fmt: TextOrJson = "text",
    ) -> None:
        """Recompute every hash, link, tree head and signature. Exit 0 intact, 1 tampered, 2 unreadable."""
        if proof is not None:
            _verify_proof_cmd(proof, pubkey[0] if pubkey else None, fmt)
            return
        from trace_engine.evidence.signing import NoteError
        from trace_engine.store.db import UnreadableDatabase
        from trace_engine.store.verify import NoTrustedKey, verify_db

        keys = _trusted_keys(pubkey, trusted_keys)
        witnessed = []
        for c in checkpoint or []:
            try:
                witnessed.append(c.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise _fail(f"cannot read checkpoint {c}: {exc}", EXIT_USAGE) from None
        try:
            report = verify_db(db, pubkeys=keys, trusted_checkpoints=witnessed, rebuild_rollups=rebuild_rollup)
        except (UnreadableDatabase, NoTrustedKey) as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except NoteError as exc:
            raise _fail(f"a --checkpoint file is not a signed checkpoint: {exc}", EXIT_USAGE) from None
        err = stderr_console()
        for w in report.warnings:
            err.print(f"WARNING: {w}", markup=False)
        if fmt == "json":
            emit_json(report.to_dict())
        else:
            con = stdout_console()
            for t in report.tenants:
                name = "directory" if t["tenant"] == "" else f"tenant {t['tenant']}"
                con.print(
                    f"{name}: {t['records']} records, {t['checkpoints']} checkpoints "
                    f"(latest size {t['latest_checkpoint_size']}), root {t['root'][:16]}…"
                    + (f", {t['lost']} scorecards lost in {t['gaps']} gaps" if t["gaps"] else ""),
                    markup=False,
                )
            con.print(f"verifier key: {report.key_source or 'none'}", markup=False)
            for p in report.problems:
                con.print(f"TAMPERED {p.render()}", markup=False)
            if report.omitted:
                con.print(f"... and {report.omitted} more problem(s) of the same kinds", markup=False)
            for t in report.rebuilt:
                con.print(f"rebuilt the exposure rollup of tenant {t} from its signed records", markup=False)
            if not report.ok:
                con.print(f"FAIL: {len(report.problems) + report.omitted} problem(s)", markup=False)
            elif report.trusted:
                con.print("OK: log intact", markup=False)
            else:
                con.print("OK: log consistent, but checked only against the key beside it (not trusted)", markup=False)
        raise typer.Exit(EXIT_OK if report.ok else EXIT_PROBLEMS)

    @app.command("rotate-key")
    def rotate_key(
        db: str = DbOpt,
        key: str = typer.Option(..., "--key", help="The log's current signing key (trace.key)."),
        new_key: str = typer.Option(..., "--new-key", help="The signing key that takes over (from `trace keygen`)."),
    ) -> None:
        """Hand the log over to a new signing key: a key.rotated entry, and every log co-signed by both keys."""
        from trace_engine.evidence.signing import load_signing_key
        from trace_engine.store import open_store
        from trace_engine.store.interfaces import StoreError, UnreadableDatabase
        from trace_engine.store.log import EvidenceLog, LogIntegrityError

        try:
            store = open_store(db, create=False)
        except UnreadableDatabase as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        try:
            new = load_signing_key(new_key)
            with EvidenceLog(store, key) as log:
                old = log.key.verifier.encode()
                signed = log.rotate(new)
        except (UnreadableDatabase, StoreError) as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except LogIntegrityError as exc:
            raise _fail(str(exc), EXIT_PROBLEMS) from None
        except (OSError, ValueError) as exc:
            raise _fail(f"cannot load a key: {exc}", EXIT_USAGE) from None
        finally:
            store.close()
        lines = [f"{'directory' if t == '' else 'tenant ' + t}: co-signed at size {n}" for t, n in signed.items()]
        lines.append(f"old key: {old}\nnew key: {new.verifier.encode()}")
        lines.append("verifiers now need both keys (--pubkey OLD --pubkey NEW, or a --trusted-keys file)")
        write_text("\n".join(lines) + "\n")

    @app.command("checkpoint")
    def checkpoint_cmd(
        db: str = DbOpt,
        tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's log (default: every log)."),
        pubkey: list[str] | None = typer.Option(None, "--pubkey", help="Check the notes against this trusted key."),
        out: str | None = typer.Option(None, "-o", "--out", help="Write the notes here instead of stdout."),
    ) -> None:
        """Print the latest signed checkpoint of every log (C2SP signed notes) for a witness to keep."""
        from trace_engine.evidence.signing import NoteError, parse_checkpoint
        from trace_engine.store import open_store
        from trace_engine.store.interfaces import StoreError, UnreadableDatabase

        keys = _trusted_keys(pubkey, None)
        try:
            with open_store(db, create=False) as store, store.read() as session:
                rows = session.latest_checkpoints(tenant)
        except (UnreadableDatabase, StoreError) as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        notes: list[str] = []
        for t, note in rows:
            if keys:
                try:
                    ck = parse_checkpoint(note)
                    signer, bad = ck.verify_any(keys)
                except NoteError as exc:
                    signer, bad = None, str(exc)
                if signer is None:
                    raise _fail(f"the latest checkpoint of {'the directory' if t == '' else 'tenant ' + t}: {bad}", EXIT_PROBLEMS)
            notes.append(note)
        if not notes:
            raise _fail("no checkpoint" + (f" for tenant {tenant!r}" if tenant is not None else ""), EXIT_PROBLEMS)
        write_text("\n".join(notes), out)

    def _verify_proof_cmd(file: Path, pubkey: str | None, fmt: str) -> None:
        from trace_engine.store.prove import verify_proof

        key = _load_pubkey(pubkey)
        try:
            proof = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(f"cannot read proof {file}: {exc}", EXIT_USAGE) from None
        if not isinstance(proof, dict):
            raise _fail(f"{file}: not a proof object", EXIT_USAGE)
        res = verify_proof(proof, key)
        trusted = key is not None
        if fmt == "json":
            emit_json({**res.to_dict(), "ok": res.ok and trusted, "trusted_key": trusted})
        else:
            con = stdout_console()
            if res.ok and trusted:
                con.print(
                    f"OK: call {res.call_id} (tenant {res.tenant}) is record {res.leaf_index} of a signed log of "
                    f"size {res.tree_size}; key {res.key_source}",
                    markup=False,
                )
            elif res.ok:
                con.print(
                    f"UNTRUSTED: call {res.call_id} is consistent with the key the proof carries, and anyone can make "
                    "such a proof. Pass --pubkey trace.pub (the log's verifier key, obtained out of band) to verify it.",
                    markup=False,
                )
            for p in res.problems:
                con.print(f"FAIL: {p}", markup=False)
        raise typer.Exit(EXIT_OK if res.ok and trusted else EXIT_PROBLEMS)

    @app.command("verify-proof")
    def verify_proof_cmd(
        file: Path = typer.Argument(..., help="Proof JSON written by `trace prove`."),
        pubkey: str | None = typer.Option(
            None, "--pubkey", help="Trusted verifier key (trace.pub). Without it the proof is never trusted (exit 1)."
        ),
        fmt: TextOrJson = "text",
    ) -> None:
        """Verify an inclusion proof offline, without the database, against a trusted --pubkey."""
        _verify_proof_cmd(file, pubkey, fmt)

    @app.command("prove")
    def prove(
        call_id: str = typer.Argument(..., help="The call to prove."),
        db: str = DbOpt,
        tenant: str = TenantOpt,
        key: str | None = typer.Option(None, "--key", help="Log key (trace.key or trace.pub) to check the checkpoint and embed."),
        out: str | None = typer.Option(None, "-o", "--out", help="Write the proof here instead of stdout."),
    ) -> None:
        """Write an inclusion proof for the call's latest scorecard (checkable with `trace verify-proof`). Exit 1 if the
        log does not match its signed checkpoint."""
        from trace_engine.store.interfaces import StoreError, UnreadableDatabase
        from trace_engine.store.prove import ProofError, make_proof

        try:
            proof = make_proof(db, tenant, call_id, key)
        except (UnreadableDatabase, StoreError) as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        except ProofError as exc:
            raise _fail(str(exc), EXIT_PROBLEMS) from None
        except (OSError, ValueError) as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        emit_json(proof, out)

    @app.command("interactions")
    def interactions(
        db: str = DbOpt,
        tenant: str = TenantOpt,
        verdict: str | None = typer.Option(None, "--verdict", help="PASS, WARN or FAIL (any case).", callback=_upper),
        agent_id: str | None = typer.Option(None, "--agent-id"),
        limit: int = LimitOpt,
        cursor: str | None = CursorOpt,
        fmt: ListFormat = "text",
    ) -> None:
        """List scored interactions, newest first."""
        from trace_engine.store.reads import list_interactions

        if verdict is not None and verdict not in ("PASS", "WARN", "FAIL"):
            raise _fail("--verdict must be PASS, WARN or FAIL", EXIT_USAGE)
        res = _read_or_exit(list_interactions, db, tenant, verdict=verdict, agent_id=agent_id, limit=limit, cursor=cursor)
        print_list(
            res,
            ["id", "agent_id", "verdict", "findings", "blocked_turns", "modified_turns", "packs_enforced", "scored_at"],
            f"interactions ({tenant})",
            fmt,
            cells=_cell,
        )

    @app.command("violations")
    def violations_cmd(
        db: str = DbOpt,
        tenant: str = TenantOpt,
        rule_id: str | None = typer.Option(None, "--rule-id"),
        severity: str | None = typer.Option(
            None, "--severity", help="low, medium, high or critical (any case).", callback=_lower
        ),
        agent_id: str | None = typer.Option(None, "--agent-id"),
        interaction_id: str | None = typer.Option(None, "--interaction-id"),
        limit: int = LimitOpt,
        cursor: str | None = CursorOpt,
        fmt: ListFormat = "text",
    ) -> None:
        """List violations (every fired rule of the latest scorecards), newest first."""
        from trace_engine.store.reads import list_violations

        if severity is not None and severity not in ("low", "medium", "high", "critical"):
            raise _fail("--severity must be low, medium, high or critical", EXIT_USAGE)
        res = _read_or_exit(
            list_violations, db, tenant, rule_id=rule_id, severity=severity, agent_id=agent_id,
            interaction_id=interaction_id, limit=limit, cursor=cursor,
        )
        print_list(
            res,
            ["interaction_id", "rule_id", "severity", "action_taken", "at_t", "citation", "reason"],
            f"violations ({tenant})",
            fmt,
            cells=_cell,
        )

    @app.command("exposure")
    def exposure_cmd(
        db: str = DbOpt,
        tenant: str = TenantOpt,
        window_days: int = typer.Option(30, "--window-days", min=1, max=365),
        agent_id: str | None = typer.Option(None, "--agent-id"),
        pack: str | None = typer.Option(
            None, "--pack", help="Only this pack's rules (the headline then counts calls with one of its findings)."
        ),
        fmt: ExposureFormat = "text",
    ) -> None:
        """Compliance exposure over a trailing window: gap rate, verdict mix, per-rule ranking, estimated
        statutory exposure (an estimate, not legal advice). --format markdown is a report; csv the ranking."""
        from trace_engine.report import exposure_report, to_csv, to_markdown
        from trace_engine.store.db import connect

        def run() -> dict[str, Any]:
            conn = connect(db, create=False)
            try:
                return exposure_report(conn, tenant, window_days, agent_id=agent_id, pack_id=pack)
            finally:
                conn.close()

        report = _read_or_exit(run)
        if fmt == "json":
            exp = report["exposure"]
            emit_json({**exp, "by_rule": [r for r in exp["by_rule"] if pack is None or r["pack_id"] == pack]}
                      if pack else exp)
        elif fmt == "markdown":
            write_text(to_markdown(report))
        elif fmt == "csv":
            write_text(to_csv(report))
        else:
            print_exposure(report, stdout_console())

    @app.command("show")
    def show(
        call_id: str = typer.Argument(...),
        db: str = DbOpt,
        tenant: str = TenantOpt,
        fmt: TextOrJson = "text",
    ) -> None:
        """Show one interaction's evidence: scorecard, audit hash, tier-2 findings, derived metrics."""
        from trace_engine.store.reads import interaction_detail

        res = _read_or_exit(interaction_detail, db, tenant, call_id)
        if res is None:
            raise _fail(f"no interaction {call_id!r} for tenant {tenant!r}", EXIT_PROBLEMS)
        if fmt == "json":
            emit_json(res)
            return
        print_interaction(res, stdout_console())
