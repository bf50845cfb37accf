"""Tenancy, the config store and the rule-pack store, over the evidence store's
:class:`~trace_engine.store.interfaces.ServiceStore` (any backend). No HTTP here: the app and
:mod:`trace_engine.api.distribution` (``engine_from_store``) both use these functions.

Agents: an agent's identity is ``(tenant, agent_id)``. Each tenant has its own namespace of agent ids, so two
tenants may both have an ``agent-1`` and neither can see, claim or even detect the other's. Configuring an agent
(or scoring a call under it) registers it in the evidence store's ``agents`` table for that tenant.

Configs: per agent or the org default (``agent_id`` ``""``). Reading an agent's config falls back to the org
default and then to the safe default (``enabled: false``, ``mode: warn``, ``fail_open: true``). The ETag is the
content hash of the stored ``TraceConfigInput``. ``If-Match`` / ``If-None-Match`` are checked against the
effective config inside the write transaction (see :func:`put_config`).

Rule packs: the built-in packs (``builtin: true``) and each tenant's uploads, versioned per tenant. The newest
upload of a ``pack_id`` is its latest active version; older versions stay retrievable by ``version`` and are
listed as ``deprecated``. Uploads are parsed and checked structurally in a compiler process
(:mod:`trace_engine.api.compiler`), refused here if they duplicate a version or a built-in (:func:`check_upload_identity`,
before compiling), compiled and linted there, and stored by :func:`store_upload`. Specs are kept as canonical JSON text and spliced into responses as they are.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from trace_engine.api.errors import ApiError, bad_request, limit_exceeded, problem_error
from trace_engine.compile.limits import LIMITS
from trace_engine.gate.remote import SAFE_DEFAULT  # one definition: what a gate with no config enforces
from trace_engine.store.interfaces import Store

log = logging.getLogger("trace.api")

ORG_DEFAULT = ""
MAX_AGENT_ID = 256
UPLOAD_DEFAULTS = {"jurisdiction": "unspecified", "legal_status": "tenant upload - not reviewed"}


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_etag(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:32]


def now_ms() -> int:
    return int(time.time() * 1000)


# =========================================================================================== agents


def register_agent(store: Store, tenant: str, agent_id: str) -> None:
    """Inside an evidence transaction: record ``(tenant, agent_id)`` as the tenant's (a signed ``agent`` record;
    a known agent is left as it is). Another tenant's agent of the same id is another agent."""
    from trace_engine.store.log import log_for

    tx = log_for(store).current
    assert tx is not None, "registering an agent needs an evidence transaction"
    tx.claim_agent(tenant, agent_id, now_ms())


def agent_tenants(store: Store, agent_id: str) -> list[str]:
    """The tenants that have an agent called ``agent_id`` (for local tools that are not given a tenant; never
    used to answer an HTTP request)."""
    with store.read() as s:
        return s.agent_tenants(agent_id)


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


def get_config(store: Store, tenant: str, agent_id: str | None) -> StoredConfig:
    """The effective config of ``agent_id`` (or the org default when ``None``). The caller checks ownership."""
    from trace_engine.store.events import config_is_signed

    keys = [agent_id, ORG_DEFAULT] if agent_id else [ORG_DEFAULT]
    with store.read() as s:
        for k in keys:
            row = s.config_row(tenant, k)
            if row is not None and not config_is_signed(s, tenant, k, row[0], row[1], row[2]):
                raise _unsigned("config")
            if row is not None:
                source = "agent" if k else "org_default"
                return StoredConfig(agent_id or None, json.loads(row[0]), row[1], row[2], source)
    return StoredConfig(agent_id or None, dict(SAFE_DEFAULT), content_etag(SAFE_DEFAULT), 0, "default")


def check_agent_id(value: Any, param: str = "agent_id") -> str:
    """A usable ``agent_id``: a non-empty string of at most 256 characters without control characters."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_AGENT_ID
        or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
    ):
        raise bad_request(
            f"`{param}` must be a non-empty string of at most {MAX_AGENT_ID} characters without control characters.",
            "invalid_agent_id",
            param=param,
        )
    return value


def unwrap_config(body: Any) -> tuple[str | None, dict[str, Any]]:
    """Accept the raw ``TraceConfigInput`` or ``{agent_id, config}`` (the served ``TraceConfigBody``); returns
    ``(agent_id, config_without_agent_id)``. Every shape error is a 400 listing each violation."""
    from trace_engine.api import schemas

    if not isinstance(body, dict):
        raise bad_request("The config must be a JSON object.", "invalid_config")
    wrapped = "config" in body
    shape = schemas.errors("TraceConfigWrapped" if wrapped else "TraceConfigInput", body)
    facts_only = ("/config/call_defaults", "/call_defaults")
    if shape and all(e["pointer"].startswith(facts_only) for e in shape):
        # the gate's own messages about call facts are better ("did you mean 'call_purpose'?"): use them
        _gate_errors(body["config"] if wrapped and isinstance(body["config"], dict) else body)
    if shape:
        if any(e["pointer"] == "/agent_id" for e in shape):
            check_agent_id(body["agent_id"])  # the specific code for the common mistake
        raise bad_request(
            "The config does not follow TraceConfigInput: " + "; ".join(e["message"] for e in shape[:10]),
            "invalid_config",
            errors=shape,
        )
    if wrapped:
        agent, cfg = body.get("agent_id"), dict(body["config"])
    else:
        agent, cfg = body.get("agent_id"), {k: v for k, v in body.items() if k != "agent_id"}
    return agent, cfg


def _gate_errors(cfg: dict[str, Any]) -> None:
    """400 with the gate's config model's messages when it refuses ``cfg``."""
    from trace_engine.errors import TraceConfigError
    from trace_engine.gate.config import load_config

    try:
        load_config({k: v for k, v in cfg.items() if k != "agent_id"})
    except TraceConfigError as exc:
        errors = [{"code": d.code, "message": d.message} for d in exc.diagnostics]
        raise bad_request(
            "The config does not follow TraceConfigInput: " + "; ".join(e["message"] for e in errors),
            "invalid_config",
            errors=errors,
        ) from None


def validate_config(store: Store, tenant: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Validate against the served ``TraceConfigInput`` (closed, with limits), then the gate's config model and
    the compiler's limits on the guardrails pack; 409 for packs the tenant does not have. Returns what is stored."""
    from trace_engine.api import schemas
    from trace_engine.compile.limits import CODE_LIMITS, check_pack
    from trace_engine.errors import TraceConfigError
    from trace_engine.gate.config import load_config
    from trace_engine.gate.guardrails import guardrails_pack

    if "packs_dir" in cfg:
        raise bad_request(
            "`packs_dir` is a local-only setting; upload custom packs to /v1/trace/rule-packs instead.",
            "invalid_config",
            param="packs_dir",
        )
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
    synthesized = guardrails_pack(model.guardrails)
    beyond = check_pack(synthesized) if synthesized is not None else []
    if beyond:
        name = CODE_LIMITS[beyond[0].code]
        raise limit_exceeded(
            name,
            LIMITS.as_dict()[name],
            "The guardrails exceed the compiler's limits: " + "; ".join(d.message for d in beyond[:5]),
            errors=[{"code": d.code, "message": d.message, "pointer": "/guardrails"} for d in beyond],
        )
    stored = model.model_dump(mode="json", exclude_unset=True)
    stored.pop("agent_id", None)
    stored["enabled"] = model.enabled if "enabled" in cfg else False  # the spec's default, not the local gate's
    problems = []
    for pack_id, ref in model.rule_packs.items():
        if find_pack(store, tenant, pack_id, ref.version) is None:
            want = f"{pack_id}@{ref.version}" if ref.version else pack_id
            problems.append(
                {
                    "code": "unknown_rule_pack",
                    "message": f"no rule pack {want!r} is available to this tenant",
                    "pointer": f"/rule_packs/{pack_id}",
                }
            )
    if problems:
        raise problem_error(
            "unknown_rule_pack",
            "The config names rule packs this tenant does not have: " + ", ".join(p["message"] for p in problems),
            param="rule_packs",
            errors=problems,
        )
    return stored


def _entity_tags(header: str) -> tuple[bool, set[str]]:
    """``(has_star, strong_tags)`` of an ``If-Match`` / ``If-None-Match`` value (weak tags never match strongly)."""
    star, tags = False, set()
    for raw in header.split(","):
        tok = raw.strip()
        if tok == "*":
            star = True
        elif tok and not tok.startswith("W/"):
            tags.add(tok.strip('"'))
    return star, tags


def put_config(
    store: Store,
    tenant: str,
    body: Any,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> StoredConfig:
    """Validate and store a config. ``if_match`` / ``if_none_match`` (raw header values) are checked against the
    effective config (what ``GET`` returned) inside the write transaction: a stale ETag is 412
    ``precondition_failed``. ``If-Match: *`` always holds; ``If-None-Match: *`` holds only when the agent (or the
    org default) has no config of its own yet."""
    agent, cfg = unwrap_config(body)
    stored = validate_config(store, tenant, cfg)
    etag = content_etag(stored)
    ts = now_ms()
    from trace_engine.store.log import transaction

    with transaction(store) as tx:
        tx.lock([tenant])  # the tenant's writes are serialized from here: the precondition holds until commit
        current = get_config(store, tenant, agent)
        own = current.source == ("agent" if agent else "org_default")
        failed = None
        if if_match is not None:
            star, tags = _entity_tags(if_match)
            if not star and current.etag not in tags:
                failed = "If-Match does not name the current ETag: the config changed since it was read"
        if if_none_match is not None and failed is None:
            star, tags = _entity_tags(if_none_match)
            if (star and own) or current.etag in tags:
                failed = (
                    "If-None-Match: * but the config already exists"
                    if star
                    else "If-None-Match names the current ETag"
                )
        if failed is not None:
            raise ApiError(412, "precondition_failed", failed + ".", headers={"ETag": f'"{current.etag}"'})
        if agent is not None:
            register_agent(store, tenant, agent)
        text = canonical_json(stored)
        tx.session.upsert_config((tenant, agent or ORG_DEFAULT, text, etag, ts))
        tx.append_event(
            tenant, "config", {"agent_id": agent or ORG_DEFAULT, "body": text, "etag": etag, "updated_at": ts}
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
    spec_json: str  # canonical JSON of the pack's JSON form
    status: str = "active"

    @property
    def spec(self) -> dict[str, Any]:
        return json.loads(self.spec_json)

    def to_api(self) -> dict[str, Any]:
        """The ``TraceRulePack`` fields without ``spec`` (see :meth:`to_json` for the single-pack form)."""
        return {
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

    def to_json(self, **extra: Any) -> bytes:
        """The single-pack response body, ``spec`` included: the stored JSON text is spliced in as it is, so a
        2 MB pack costs the server a copy, not a parse and a dump."""
        head = json.dumps({**self.to_api(), **extra}, ensure_ascii=False, separators=(",", ":"))
        return (head[:-1] + ',"spec":' + self.spec_json + "}").encode("utf-8")


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
                    id="tpack_" + hashlib.sha256(f"builtin/{pack_id}/{f.pack.version}".encode()).hexdigest()[:20],
                    pack_id=pack_id,
                    version=f.pack.version,
                    builtin=True,
                    jurisdiction=f.pack.jurisdiction,
                    legal_status=f.pack.legal_status,
                    etag=content_etag(spec),
                    created_at=created,
                    spec_json=canonical_json(spec),
                )
            )
    result = {}
    for pack_id, recs in out.items():
        recs.sort(key=lambda r: _version_key(r.version), reverse=True)
        for i, r in enumerate(recs):
            r.status = "active" if i == 0 else "deprecated"
        result[pack_id] = tuple(recs)
    return result


def _unsigned(what: str) -> ApiError:
    """A stored row that its signed evidence record does not vouch for: never served."""
    return ApiError(500, "evidence_mismatch", f"The stored {what} does not match its signed record; run `trace verify`.")


def tenant_packs(
    store: Store, tenant: str, pack_id: str | None = None, *, with_spec: bool = True
) -> list[PackRecord]:
    """The tenant's uploads (all versions), newest upload of each pack_id first and ``active``. Each is checked
    against its signed ``rule_pack`` record first (which needs the spec: ``with_spec`` is kept for callers, the
    spec is always read)."""
    from trace_engine.store.events import pack_is_signed

    out: list[PackRecord] = []
    seen: set[str] = set()
    with store.read() as s:
        for row in s.pack_rows(tenant, pack_id):
            if not pack_is_signed(s, tenant, row[1], row[2], row[7], row[5]):
                raise _unsigned(f"rule pack {row[1]}@{row[2]}")
            status = "deprecated" if row[1] in seen else "active"
            seen.add(row[1])
            out.append(PackRecord(row[0], row[1], row[2], False, row[3], row[4], row[5], row[6], row[7], status))
    return out


def list_packs(store: Store, tenant: str) -> list[PackRecord]:
    out = [r for _, recs in sorted(builtin_packs().items()) for r in recs]
    out.extend(tenant_packs(store, tenant))
    return out


def find_pack(
    store: Store, tenant: str, pack_id: str, version: str | None = None, *, with_spec: bool = False
) -> PackRecord | None:
    """The tenant's upload ``pack_id`` (at ``version``, else its latest), else the built-in one, else ``None``."""
    uploads = tenant_packs(store, tenant, pack_id, with_spec=with_spec)
    if uploads:
        if version is None:
            return uploads[0]
        return next((r for r in uploads if r.version == version), None)
    builtins = builtin_packs().get(pack_id, ())
    if version is None:
        return builtins[0] if builtins else None
    return next((r for r in builtins if r.version == version), None)


def check_upload_identity(store: Store, tenant: str, pack_id: str, version: str) -> None:
    """Refuse, before anything is compiled, an upload whose ``pack_id`` is a built-in's or whose version the
    tenant already has (409)."""
    if pack_id in builtin_packs():
        raise problem_error(
            "builtin_pack_id", f"pack_id {pack_id!r} is a built-in pack; choose another pack_id.", param="pack_id"
        )
    with store.read() as s:
        _refuse_existing(s, tenant, pack_id, version)


def _refuse_existing(session: Any, tenant: str, pack_id: str, version: str) -> None:
    if session.pack_exists(tenant, pack_id, version):
        raise problem_error(
            "rule_pack_exists",
            f"Rule pack {pack_id!r} version {version!r} already exists; upload a new version.",
            param="version",
        )


def with_upload_defaults(text: str, data: dict[str, Any]) -> str:
    """The seed requires only ``pack_id``, ``version`` and ``rules``; the JSON form also wants ``jurisdiction``
    and ``legal_status``. They are inserted right after the opening brace, so every other line and column of the
    body stays where it was (diagnostics point into what the client sent)."""
    missing = {k: v for k, v in UPLOAD_DEFAULTS.items() if k not in data}
    if not missing:
        return text
    at = text.index("{") + 1
    return text[:at] + " ".join(f"{json.dumps(k)}: {json.dumps(v)}," for k, v in missing.items()) + text[at:]


def store_upload(store: Store, tenant: str, compiled: dict[str, Any]) -> PackRecord:
    """Store a pack the compiler accepted (:func:`trace_engine.api.compiler.compile_upload`'s ``ok`` outcome);
    409 when the same version was stored meanwhile."""
    meta = compiled["pack"]
    pack_id, version = meta["pack_id"], meta["version"]
    spec_json: str = compiled["spec"]
    etag = hashlib.sha256(spec_json.encode("utf-8")).hexdigest()[:32]
    rec_id = "tpack_" + hashlib.sha256(f"{tenant}/{pack_id}/{version}".encode()).hexdigest()[:20]
    ts = now_ms()
    from trace_engine.store.log import transaction

    with transaction(store) as tx:
        tx.lock([tenant])
        _refuse_existing(tx.session, tenant, pack_id, version)  # again, inside the write: a concurrent upload may have won
        last = tx.session.last_pack_upload(tenant, pack_id)
        if last is not None and ts <= last:
            ts = last + 1  # the newest upload is the latest active, even within one millisecond
        tx.session.insert_pack(
            (tenant, pack_id, version, rec_id, spec_json, etag, meta["jurisdiction"], meta["legal_status"], ts)
        )
        tx.append_event(
            tenant,
            "rule_pack",
            {
                "pack_id": pack_id, "version": version, "id": rec_id, "spec": spec_json, "etag": etag,
                "jurisdiction": meta["jurisdiction"], "legal_status": meta["legal_status"], "created_at": ts,
            },
        )
    return PackRecord(rec_id, pack_id, version, False, meta["jurisdiction"], meta["legal_status"], etag, ts, spec_json)


def create_pack(store: Store, tenant: str, raw: bytes) -> tuple[PackRecord, list[dict[str, Any]]]:
    """Upload a pack in this process (local tools, tests, benchmarks): the same steps as ``POST
    /v1/trace/rule-packs`` without the compiler process and its budgets. Returns the record and the lint warnings;
    raises :class:`ApiError` (400 with every diagnostic, 409 for a duplicate or a built-in ``pack_id``)."""
    from trace_engine.api.compiler import compile_upload, read_upload

    header, text = read_upload(raw)
    outcome = header
    if text is not None:
        check_upload_identity(store, tenant, header["pack_id"], header["version"])
        outcome = compile_upload(text)
    if outcome["status"] != "ok":
        errors = outcome["errors"]
        if outcome.get("limit"):
            raise limit_exceeded(outcome["limit"]["name"], outcome["limit"]["max"], "The rule pack exceeds a limit.", errors=errors)
        raise bad_request(f"The rule pack is invalid: {len(errors)} error(s).", "invalid_rule_pack", errors=errors)
    return store_upload(store, tenant, outcome), outcome["warnings"]
