"""Config pull: the gate fetches its config and the packs it enforces from a Trace service.

This is the client half of config distribution, kept beside the gate so that the gate never imports the web API
(no FastAPI, Starlette or uvicorn, nothing under ``trace_engine.api``): it needs only ``httpx``, imported when a
pull happens. The server half (the endpoints, and ``engine_from_store`` reading the service's own database) is
:mod:`trace_engine.api.distribution`.

``engine_from_service(url, key, agent_id)`` fetches ``GET /v1/trace/config?agent_id=`` and, for each enabled pack
of its ``rule_packs``, ``GET /v1/trace/rule-packs/{id}?version=`` (the version pinned in the config, else the
latest active), whose ``spec`` is the pack's JSON form. Every response is cached with its ETag (in memory, and in
``cache_dir`` when given) and revalidated with ``If-None-Match``, so an unchanged config costs a 304 per object.
When the service is unreachable (connection error, timeout or 5xx) the last good config and packs from the cache
are enforced; with nothing cached the safe default (:data:`SAFE_DEFAULT`: no packs, ``warn``, fail-open) is used.
A 4xx (bad key, wrong scope, another tenant's agent, a pack that no longer exists) is a :class:`DistributionError`:
that is a misconfiguration, not an outage.

The engine gets every pack from the service, never from local files, so a tenant's uploads and the server's
built-in versions are what the gate enforces. ``engine.distribution`` records where the config came from
(``service``, ``cache``, ``store`` or ``default``), its ETag and the pack versions. The cache never holds the API
key: it is keyed by a hash of the URL, a digest of the key and the agent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger("trace.gate.remote")

#: What a gate enforces when it has no config at all: nothing, warn only, fail-open. The service serves it for an
#: agent with no config and no org default; the client falls back to it when it has nothing cached.
SAFE_DEFAULT: dict[str, Any] = {
    "enabled": False,
    "channels": ["voice"],
    "rule_packs": {},
    "guardrails": {"mode": "warn", "fail_open": True},
}

_MEMORY: dict[str, dict[str, Any]] = {}
_MEMORY_LOCK = threading.Lock()


class DistributionError(Exception):
    """The service answered, but refused (401/403/404/400): fix the key, scope, agent or config."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status


class _Unreachable(Exception):
    pass


def _cache_key(url: str, key: str, agent_id: str | None) -> str:
    ident = hashlib.sha256(key.encode()).hexdigest()[:16]  # never the key itself
    return hashlib.sha256(f"{url.rstrip('/')}|{ident}|{agent_id or ''}".encode()).hexdigest()[:32]


def _load_cache(cache_dir: str | os.PathLike[str] | None, ck: str) -> dict[str, Any]:
    with _MEMORY_LOCK:
        mem = _MEMORY.get(ck)
    if mem is not None:
        return json.loads(json.dumps(mem))
    if cache_dir is None:
        return {}
    path = Path(cache_dir) / f"{ck}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(cache_dir: str | os.PathLike[str] | None, ck: str, state: dict[str, Any]) -> None:
    with _MEMORY_LOCK:
        _MEMORY[ck] = json.loads(json.dumps(state))
    if cache_dir is None:
        return
    d = Path(cache_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".trace-cache-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh)
        os.replace(tmp, d / f"{ck}.json")
    except OSError as exc:
        log.warning("cannot write the config cache in %s: %s", d, exc.strerror or exc)


def enabled_refs(config: dict[str, Any]) -> list[tuple[str, str | None]]:
    """``(pack_id, pinned version or None)`` of each pack a ``TraceConfigInput`` enables, in id order."""
    refs = []
    for pack_id, ref in sorted((config.get("rule_packs") or {}).items()):
        ref = ref or {}
        if ref.get("enabled", True):
            refs.append((pack_id, ref.get("version")))
    return refs


def build_engine(config: dict[str, Any], specs: list[dict[str, Any]], *, source: str, etag: str | None, **kw: Any):
    """An :class:`~trace_engine.gate.engine.Engine` enforcing ``specs`` (JSON-form packs) under ``config``
    (``TraceConfigInput``), with ``engine.distribution`` saying where they came from."""
    from trace_engine.dsl.jsonform import pack_from_dict
    from trace_engine.gate.engine import Engine

    cfg = {k: v for k, v in config.items() if k not in ("rule_packs", "packs_dir")}
    packs = [pack_from_dict(s) for s in specs]
    engine = Engine.from_config(cfg, packs=packs, **kw)
    engine.distribution = {  # type: ignore[attr-defined]
        "source": source,
        "config_etag": etag,
        "rule_packs": {p.pack_id: p.version for p in packs},
        "enabled": bool(config.get("enabled", False)),
    }
    return engine


def _get(client: Any, path: str, etag: str | None) -> tuple[int, dict[str, Any] | None, str | None]:
    import httpx

    headers = {"If-None-Match": f'"{etag}"'} if etag else {}
    try:
        resp = client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        raise _Unreachable(type(exc).__name__) from None
    if resp.status_code >= 500:
        raise _Unreachable(f"HTTP {resp.status_code}")
    if resp.status_code == 304:
        return 304, None, etag
    if resp.status_code != 200:
        try:
            body = resp.json()
            msg = body.get("detail") or (body.get("error") or {}).get("message") or resp.text
        except ValueError:
            msg = resp.text
        raise DistributionError(resp.status_code, str(msg)[:500])
    try:
        body = resp.json()
    except ValueError:
        raise _Unreachable("response is not JSON") from None
    new_etag = (resp.headers.get("etag") or "").strip().removeprefix("W/").strip('"') or body.get("etag")
    return 200, body, new_etag


def engine_from_service(
    url: str,
    key: str,
    agent_id: str | None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    timeout: float = 2.0,
    client: Any = None,
    **engine_kw: Any,
):
    """Pull ``agent_id``'s config and packs from the service at ``url`` and build an engine (see module doc)."""
    import httpx

    ck = _cache_key(url, key, agent_id)
    cached = _load_cache(cache_dir, ck)
    own = client is None
    if own:
        client = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout, headers={"Authorization": f"Bearer {key}"}
        )
    try:
        q = f"?agent_id={quote(agent_id, safe='')}" if agent_id else ""
        status, body, etag = _get(client, f"/v1/trace/config{q}", cached.get("config_etag"))
        if status == 304:
            config, etag = cached["config"], cached["config_etag"]
        else:
            assert body is not None
            config = body.get("config") or {}
        packs_cache: dict[str, Any] = cached.get("packs", {})
        new_packs: dict[str, Any] = {}
        specs = []
        for pack_id, version in enabled_refs(config):
            slot = f"{pack_id}@{version or ''}"
            prev = packs_cache.get(slot)
            path = f"/v1/trace/rule-packs/{quote(pack_id, safe='')}"
            if version:
                path += f"?version={quote(version, safe='')}"
            pst, pbody, petag = _get(client, path, prev.get("etag") if prev else None)
            if pst == 304 and prev:
                entry = prev
            else:
                assert pbody is not None
                entry = {"etag": petag, "spec": pbody.get("spec") or {}}
            new_packs[slot] = entry
            specs.append(entry["spec"])
        state = {"config_etag": etag, "config": config, "packs": new_packs}
        engine = build_engine(config, specs, source="service", etag=etag, **engine_kw)
        if state != cached:
            _save_cache(cache_dir, ck, state)
        return engine
    except _Unreachable as exc:
        if cached.get("config") is not None:
            log.warning(
                "trace service unreachable (%s); enforcing the last good config %s",
                exc,
                cached.get("config_etag"),
            )
            config = cached["config"]
            slots = cached.get("packs", {})
            specs = [
                slots[f"{p}@{v or ''}"]["spec"] for p, v in enabled_refs(config) if f"{p}@{v or ''}" in slots
            ]
            return build_engine(config, specs, source="cache", etag=cached.get("config_etag"), **engine_kw)
        log.warning("trace service unreachable (%s) and nothing cached; using the safe default config", exc)
        return build_engine(dict(SAFE_DEFAULT), [], source="default", etag=None, **engine_kw)
    finally:
        if own:
            client.close()
