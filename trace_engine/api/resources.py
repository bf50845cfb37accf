"""Tenancy, the config store and the rule-pack store, over one SQLite connection. No HTTP here: the app and
:mod:`trace_engine.api.distribution` (``engine_from_store``) both use these functions.

Agents: an agent belongs to the tenant that first configured it or scored calls under it (the first row for the
``agent_id`` in the evidence store's ``agents`` table). Another tenant's agent is reported as not found.

Configs: per agent or the org default (``agent_id`` ``""``). Reading an agent's config falls back to the org
default and then to the safe default (``enabled: false``, ``mode: warn``, ``fail_open: true``). The ETag is the
content hash of the stored ``TraceConfigInput``.

Rule packs: the built-in packs (``builtin: true``) and each tenant's uploads, versioned per tenant. The newest
upload of a ``pack_id`` is its latest active version; older versions stay retrievable by ``version`` and are
listed as ``deprecated``. Uploads are parsed, compiled and linted before they are stored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from trace_engine.api.errors import ApiError, bad_request, conflict, not_found

log = logging.getLogger("trace.api")

SAFE_DEFAULT: dict[str, Any] = {
    "enabled": False,
    "channels": ["voice"],
    "rule_packs": {},
    "guardrails": {"mode": "warn", "fail_open": True},
}
ORG_DEFAULT = ""
MAX_PACK_BYTES = 1_000_000
UPLOAD_DEFAULTS = {"jurisdiction": "unspecified", "legal_status": "tenant upload - not reviewed"}


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_etag(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:32]


def now_ms() -> int:
    return int(time.time() * 1000)


# =========================================================================================== agents


def agent_owner(conn: sqlite3.Connection, agent_id: str) -> str | None:
    row = conn.execute(
        "SELECT tenant FROM agents WHERE agent_id = ? ORDER BY rowid LIMIT 1", (agent_id,)
    ).fetchone()
    return row[0] if row else None


def require_agent(conn: sqlite3.Connection, tenant: str, agent_id: str, *, must_exist: bool = True) -> None:
    """404 unless ``agent_id`` belongs to ``tenant`` (or, without ``must_exist``, belongs to nobody yet)."""
    owner = agent_owner(conn, agent_id)
    if owner == tenant or (owner is None and not must_exist):
        return
    raise not_found(f"No agent {agent_id!r} for this tenant.")


def _claim_agent(conn: sqlite3.Connection, tenant: str, agent_id: str) -> None:
    """Inside an evidence transaction: make ``tenant`` the owner of an unowned agent (a signed ``agent`` record);
    404 when another owns it."""
    from trace_engine.store.log import log_for

    owner = agent_owner(conn, agent_id)
    if owner is None:
        tx = log_for(conn).current
        assert tx is not None, "claiming an agent needs an evidence transaction"
        tx.claim_agent(tenant, agent_id, now_ms())
    elif owner != tenant:
        raise not_found(f"No agent {agent_id!r} for this tenant.")


# =========================================================================================== configs


@dataclass(slots=True)
class StoredConfig:
    agent_id: str | None
    config: dict[str, Any]
    etag: str
    updated_at: int
    source: str  # "agent" | "org_default" | "default"

    def to_api(self) -> dict[str, Any]:
        cfg = dict(self.config)
        if self.agent_id is not None:
            cfg["agent_id"] = self.agent_id
        return {
            "object": "trace.config",
            "agent_id": self.agent_id,
            "enabled": bool(self.config.get("enabled", False)),
            "mode": (self.config.get("guardrails") or {}).get("mode", "warn"),
            "etag": self.etag,
            "updated_at": self.updated_at,
            "config": cfg,
            "source": self.source,
        }


def get_config(conn: sqlite3.Connection, tenant: str, agent_id: str | None) -> StoredConfig:
    """The effective config of ``agent_id`` (or the org default when ``None``). The caller checks ownership."""
    from trace_engine.store.events import config_is_signed

    keys = [agent_id, ORG_DEFAULT] if agent_id else [ORG_DEFAULT]
    for k in keys:
        row = conn.execute(
            "SELECT body, etag, updated_at FROM trace_configs WHERE tenant = ? AND agent_id = ?", (tenant, k)
        ).fetchone()
        if row is not None and not config_is_signed(conn, tenant, k, row[0], row[1], row[2]):
            raise _unsigned("config")
        if row is not None:
            source = "agent" if k else "org_default"
            return StoredConfig(agent_id or None, json.loads(row[0]), row[1], row[2], source)
    return StoredConfig(agent_id or None, dict(SAFE_DEFAULT), content_etag(SAFE_DEFAULT), 0, "default")


def unwrap_config(body: Any) -> tuple[str | None, dict[str, Any]]:
    """Accept the raw ``TraceConfigInput`` or ``{agent_id, config}``; returns ``(agent_id, config_without_agent_id)``."""
    if not isinstance(body, dict):
        raise bad_request("The config must be a JSON object.", "invalid_config")
    if "config" in body and set(body) <= {"agent_id", "config"}:
        inner = body["config"]
        if not isinstance(inner, dict):
            raise bad_request("`config` must be a JSON object.", "invalid_config", param="config")
        outer_agent = body.get("agent_id")
        inner_agent = inner.get("agent_id")
        if outer_agent is not None and inner_agent is not None and outer_agent != inner_agent:
            raise bad_request("`agent_id` and `config.agent_id` differ.", "invalid_config", param="agent_id")
        agent = outer_agent if outer_agent is not None else inner_agent
        cfg = {k: v for k, v in inner.items() if k != "agent_id"}
    else:
        agent = body.get("agent_id")
        cfg = {k: v for k, v in body.items() if k != "agent_id"}
    if agent is not None and (not isinstance(agent, str) or not agent.strip() or len(agent) > 256):
        raise bad_request(
            "`agent_id` must be a non-empty string (at most 256 characters).",
            "invalid_config",
            param="agent_id",
        )
    return agent, cfg


def validate_config(conn: sqlite3.Connection, tenant: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Validate with the gate's config model and check the packs it names; returns what is stored."""
    from trace_engine.errors import TraceConfigError
    from trace_engine.gate.config import load_config

    if "packs_dir" in cfg:
        raise bad_request(
            "`packs_dir` is a local-only setting; upload custom packs to /v1/trace/rule-packs instead.",
            "invalid_config",
            param="packs_dir",
        )
    from trace_engine.api import schemas

    shape = schemas.errors("TraceConfigInput", cfg)
    if shape:
        raise bad_request(
            "The config does not follow TraceConfigInput: " + "; ".join(e["message"] for e in shape[:10]),
            "invalid_config",
            errors=shape,
        )
    try:
        model = load_config(cfg)
    except TraceConfigError as exc:
        errors = [{"code": d.code, "message": d.message} for d in exc.diagnostics]
        raise bad_request(
            "The config does not follow TraceConfigInput: " + "; ".join(e["message"] for e in errors),
            "invalid_config",
            errors=errors,
        ) from None
    stored = model.model_dump(mode="json", exclude_unset=True)
    stored.pop("agent_id", None)
    stored["enabled"] = (
        model.enabled if "enabled" in cfg else False
    )  # the spec's default, not the local gate's
    problems = []
    for pack_id, ref in model.rule_packs.items():
        if find_pack(conn, tenant, pack_id, ref.version) is None:
            want = f"{pack_id}@{ref.version}" if ref.version else pack_id
            problems.append(
                {
                    "code": "unknown_rule_pack",
                    "message": f"no rule pack {want!r} is available",
                    "pointer": f"/rule_packs/{pack_id}",
                }
            )
    if problems:
        raise bad_request(
            "The config names rule packs that do not exist: " + ", ".join(p["message"] for p in problems),
            "invalid_config",
            param="rule_packs",
            errors=problems,
        )
    return stored


def put_config(
    conn: sqlite3.Connection, tenant: str, body: Any, agent_id_param: str | None = None
) -> StoredConfig:
    agent, cfg = unwrap_config(body)
    if agent_id_param is not None:
        if agent is not None and agent != agent_id_param:
            raise bad_request(
                "The body's `agent_id` differs from the query's.", "invalid_config", param="agent_id"
            )
        agent = agent_id_param
    if agent is not None and not agent.strip():
        raise bad_request("`agent_id` must not be empty.", "invalid_config", param="agent_id")
    stored = validate_config(conn, tenant, cfg)
    etag = content_etag(stored)
    ts = now_ms()
    from trace_engine.store.log import transaction

    with transaction(conn) as tx:
        if agent is not None:
            _claim_agent(conn, tenant, agent)
        body = canonical_json(stored)
        conn.execute(
            "INSERT INTO trace_configs(tenant, agent_id, body, etag, updated_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(tenant, agent_id) DO UPDATE SET body = excluded.body, etag = excluded.etag, "
            "updated_at = excluded.updated_at",
            (tenant, agent or ORG_DEFAULT, body, etag, ts),
        )
        tx.append_event(
            tenant, "config", {"agent_id": agent or ORG_DEFAULT, "body": body, "etag": etag, "updated_at": ts}
        )
    return StoredConfig(agent, stored, etag, ts, "agent" if agent else "org_default")


# ======================================================================================== rule packs


@dataclass(slots=True)
class PackRecord:
    id: str
    pack_id: str
    version: str
    builtin: bool
    jurisdiction: str | None
    legal_status: str | None
    etag: str
    created_at: int
    spec: dict[str, Any]
    status: str = "active"

    def to_api(self, with_spec: bool = False) -> dict[str, Any]:
        out = {
            "object": "trace.rule_pack",
            "id": self.id,
            "pack_id": self.pack_id,
            "version": self.version,
            "builtin": self.builtin,
            "jurisdiction": self.jurisdiction,
            "legal_status": self.legal_status,
            "etag": self.etag,
            "status": self.status,
            "created_at": self.created_at,
        }
        if with_spec:
            out["spec"] = self.spec
        return out


def _version_key(version: str) -> tuple:
    from trace_engine.packs import _version_key as vk

    try:
        return vk(version)
    except Exception:  # noqa: BLE001 - any odd version string sorts last
        return ((2, 0, version),)


@functools.cache
def builtin_packs() -> dict[str, tuple[PackRecord, ...]]:
    """pack_id -> built-in versions, newest first (loaded once per process)."""
    from trace_engine.dsl.jsonform import pack_to_dict
    from trace_engine.packs import available_packs

    out: dict[str, list[PackRecord]] = {}
    for pack_id, files in available_packs().items():
        for f in files:
            if not f.builtin:
                continue
            try:
                spec = pack_to_dict(f.pack)
            except ValueError:
                log.warning("built-in pack %s has no JSON form; not served", pack_id)
                continue
            try:
                created = int(f.path.stat().st_mtime * 1000)
            except OSError:
                created = 0
            out.setdefault(pack_id, []).append(
                PackRecord(
                    id="tpack_"
                    + hashlib.sha256(f"builtin/{pack_id}/{f.pack.version}".encode()).hexdigest()[:20],
                    pack_id=pack_id,
                    version=f.pack.version,
                    builtin=True,
                    jurisdiction=f.pack.jurisdiction,
                    legal_status=f.pack.legal_status,
                    etag=content_etag(spec),
                    created_at=created,
                    spec=spec,
                )
            )
    result = {}
    for pack_id, recs in out.items():
        recs.sort(key=lambda r: _version_key(r.version), reverse=True)
        for i, r in enumerate(recs):
            r.status = "active" if i == 0 else "deprecated"
        result[pack_id] = tuple(recs)
    return result


_PACK_COLS = "id, pack_id, version, jurisdiction, legal_status, etag, created_at, spec"


def _upload(row: tuple, status: str) -> PackRecord:
    return PackRecord(
        row[0], row[1], row[2], False, row[3], row[4], row[5], row[6], json.loads(row[7]), status
    )


def _unsigned(what: str) -> ApiError:
    """A stored row that its signed evidence record does not vouch for: never served."""
    return ApiError(500, "evidence_mismatch", f"The stored {what} does not match its signed record; run `trace verify`.")


def tenant_packs(conn: sqlite3.Connection, tenant: str, pack_id: str | None = None) -> list[PackRecord]:
    """The tenant's uploads (all versions), newest upload of each pack_id first and ``active``. Each is checked
    against its signed ``rule_pack`` record first."""
    from trace_engine.store.events import pack_is_signed

    sql = f"SELECT {_PACK_COLS} FROM trace_rule_packs WHERE tenant = ?"
    args: list[Any] = [tenant]
    if pack_id is not None:
        sql += " AND pack_id = ?"
        args.append(pack_id)
    sql += " ORDER BY pack_id, created_at DESC, rowid DESC"
    out: list[PackRecord] = []
    seen: set[str] = set()
    for row in conn.execute(sql, args).fetchall():
        if not pack_is_signed(conn, tenant, row[1], row[2], row[7], row[5]):
            raise _unsigned(f"rule pack {row[1]}@{row[2]}")
        status = "deprecated" if row[1] in seen else "active"
        seen.add(row[1])
        out.append(_upload(row, status))
    return out


def list_packs(conn: sqlite3.Connection, tenant: str) -> list[PackRecord]:
    out = [r for recs in sorted(builtin_packs().items()) for r in recs[1]]
    out.extend(tenant_packs(conn, tenant))
    return out


def find_pack(
    conn: sqlite3.Connection, tenant: str, pack_id: str, version: str | None = None
) -> PackRecord | None:
    """The tenant's upload ``pack_id`` (at ``version``, else its latest), else the built-in one, else ``None``."""
    uploads = tenant_packs(conn, tenant, pack_id)
    if uploads:
        if version is None:
            return uploads[0]
        return next((r for r in uploads if r.version == version), None)
    builtins = builtin_packs().get(pack_id, ())
    if version is None:
        return builtins[0] if builtins else None
    return next((r for r in builtins if r.version == version), None)


def _diag(d: Any) -> dict[str, Any]:
    out = {"code": d.code, "level": d.level, "message": d.message, "location": d.location.to_dict()}
    if d.hint:
        out["hint"] = d.hint
    return out


def create_pack(conn: sqlite3.Connection, tenant: str, raw: bytes) -> tuple[PackRecord, list[dict[str, Any]]]:
    """Parse, compile, lint and store an upload. Returns the record and the lint warnings.

    400 ``invalid_rule_pack`` lists every error (parse, schema, compile or lint error) with its location in the
    request body; 409 when the pack_id is a built-in's or the tenant already has that pack_id and version.
    """
    from trace_engine.compile import compile_packs
    from trace_engine.dsl.jsonform import load_json_pack, pack_to_dict
    from trace_engine.dsl.lint import lint_pack
    from trace_engine.errors import TraceError

    if len(raw) > MAX_PACK_BYTES:
        raise ApiError(413, "payload_too_large", f"A rule pack may be at most {MAX_PACK_BYTES} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("The request body is not UTF-8.", "invalid_rule_pack") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None  # load_json_pack reports where the JSON is broken
    if isinstance(data, dict):
        # the seed spec requires only pack_id, version and rules; the JSON form also wants these two. They are
        # inserted right after the opening brace, so every other line and column of the body stays where it was.
        missing = {k: v for k, v in UPLOAD_DEFAULTS.items() if k not in data}
        if missing:
            at = text.index("{") + 1
            text = (
                text[:at]
                + " ".join(f"{json.dumps(k)}: {json.dumps(v)}," for k, v in missing.items())
                + text[at:]
            )
    filename = "rule-pack.json"
    try:
        pack, source = load_json_pack(text, filename)
    except TraceError as exc:
        errors = [_diag(d) for d in exc.diagnostics]
        raise _pack_problem("The rule pack does not parse", errors) from None
    except RecursionError:
        raise bad_request("The rule pack is nested too deeply.", "invalid_rule_pack") from None
    try:
        compile_packs([pack])
    except TraceError as exc:
        raise _pack_problem("The rule pack does not compile", [_diag(d) for d in exc.diagnostics]) from None
    except Exception as exc:  # noqa: BLE001 - a compiler failure must be a 400 for the upload, never a 500
        log.warning("rule pack upload failed to compile: %s", type(exc).__name__)
        raise _pack_problem(
            "The rule pack does not compile",
            [
                {
                    "code": "TC000",
                    "level": "error",
                    "message": f"compile failed ({type(exc).__name__})",
                    "location": {"file": filename, "line": 1, "col": 1, "end_line": 1, "end_col": 2},
                }
            ],
        ) from None
    try:
        findings = lint_pack(pack, source)
    except Exception as exc:  # noqa: BLE001
        log.warning("lint failed on an upload: %s", type(exc).__name__)
        findings = []
    lint_errors = [_diag(d) for d in findings if d.level == "error"]
    if lint_errors:
        raise _pack_problem("The rule pack has lint errors", lint_errors)
    warnings = [_diag(d) for d in findings if d.level != "error"]
    if pack.pack_id in builtin_packs():
        raise conflict(
            f"pack_id {pack.pack_id!r} is a built-in pack; choose another pack_id.", pack_id=pack.pack_id
        )
    spec = pack_to_dict(pack)
    etag = content_etag(spec)
    rec_id = "tpack_" + hashlib.sha256(f"{tenant}/{pack.pack_id}/{pack.version}".encode()).hexdigest()[:20]
    ts = now_ms()
    from trace_engine.store.log import transaction

    with transaction(conn) as tx:
        exists = conn.execute(
            "SELECT 1 FROM trace_rule_packs WHERE tenant = ? AND pack_id = ? AND version = ?",
            (tenant, pack.pack_id, pack.version),
        ).fetchone()
        if exists:
            raise conflict(
                f"Rule pack {pack.pack_id!r} version {pack.version!r} already exists; upload a new version.",
                pack_id=pack.pack_id,
                version=pack.version,
            )
        last = conn.execute(
            "SELECT max(created_at) FROM trace_rule_packs WHERE tenant = ? AND pack_id = ?",
            (tenant, pack.pack_id),
        ).fetchone()[0]
        if last is not None and ts <= last:
            ts = last + 1  # the newest upload is the latest active, even within one millisecond
        spec_text = canonical_json(spec)
        conn.execute(
            "INSERT INTO trace_rule_packs(tenant, pack_id, version, id, spec, etag, jurisdiction, legal_status, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                tenant,
                pack.pack_id,
                pack.version,
                rec_id,
                spec_text,
                etag,
                pack.jurisdiction,
                pack.legal_status,
                ts,
            ),
        )
        tx.append_event(
            tenant,
            "rule_pack",
            {
                "pack_id": pack.pack_id, "version": pack.version, "id": rec_id, "spec": spec_text, "etag": etag,
                "jurisdiction": pack.jurisdiction, "legal_status": pack.legal_status, "created_at": ts,
            },
        )
    rec = PackRecord(
        rec_id, pack.pack_id, pack.version, False, pack.jurisdiction, pack.legal_status, etag, ts, spec
    )
    return rec, warnings


def _pack_problem(title: str, errors: list[dict[str, Any]]) -> ApiError:
    lines = [
        f"{e['location']['line']}:{e['location']['col']} {e['code']} {e['message']}" for e in errors[:20]
    ]
    more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
    return bad_request(
        f"{title}: {len(errors)} error(s): " + "; ".join(lines) + more, "invalid_rule_pack", errors=errors
    )
