"""``trace build`` artifacts: a compiled pack set on disk as data, never as code.

Loading an artifact runs no code from it: the file is JSON, checked before anything in it is used, and the
packs in it are compiled again on load from their JSON form (no DSL parsing). The file is one JSON object::

    {"trace_artifact": 2,
     "payload": {"kind": "ir-packs", "engine_version": "...", "etag": "...", "packs_enforced": [...],
                 "etag_input": {...config the etag covers...}, "packs": [<pack JSON form>...]},
     "sha256": "<hex SHA-256 of the RFC 8785 bytes of payload>",
     "signature": null | {"alg": "ed25519", "key": "<verifier key>", "sig": "<base64 signature of those bytes>"}}

Checks on load, in order, each with its own error code: size (at most :data:`MAX_BYTES`), strict JSON (no
``NaN``, no duplicate keys), the format number, the SHA-256 of the payload, the signature when trusted keys are
given (one of them must have signed it), the engine version, each pack's JSON form (schema and references), and
finally the etag the compiled packs give, which must be the one recorded.

The hash guards against damage; anyone who can edit the file can also recompute it. Against tampering, sign at
build time (``trace build --key trace.key``) and load with the trusted verifier keys
(``Engine.from_artifact(path, cfg, trusted_keys=[...])``): an unsigned or otherwise-signed artifact is then
refused. ``trace_artifact`` is the format's version: a later format may carry the compiled program itself
(``kind``), and this reader refuses formats it does not know. Format 1 (a pickle) is refused without being read.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reference_gate.compile.program import CompiledPackSet
from trace_engine.errors import Diagnostic, Location, TraceCompileError, TraceError
from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.signing import KeyError_, SigningKey, VerifierKey
from trace_engine.version import ENGINE_VERSION

FORMAT = 2
KIND = "ir-packs"
MAX_BYTES = 64 * 1024 * 1024
#: the first bytes of a format-1 artifact (a pickle): recognized only to be refused with a clear message
LEGACY_MAGIC = b"TRACE-ARTIFACT 1\n"


def _payload(program: CompiledPackSet) -> dict[str, Any]:
    from trace_engine.dsl.jsonform import pack_to_dict

    etag_input = program.etag_input
    return {
        "kind": KIND,
        "engine_version": program.engine_version,
        "etag": program.etag,
        "packs_enforced": program.packs_enforced(),
        # the etag hashes this config through a JSON round trip; store exactly what it hashed
        "etag_input": json.loads(json.dumps(etag_input, default=str)) if etag_input is not None else None,
        "packs": [pack_to_dict(pack) for pack in program.ir_packs],
    }


def write_artifact(program: CompiledPackSet, path: str | Path, *, key: SigningKey | None = None) -> dict[str, Any]:
    """Write ``program`` to ``path`` atomically (signed with ``key`` when given); returns a summary header."""
    payload = _payload(program)
    body = canonical_bytes(payload)
    signature = None
    if key is not None:
        signature = {"alg": "ed25519", "key": key.verifier.encode(), "sig": base64.b64encode(key.sign(body)).decode()}
    document = {"trace_artifact": FORMAT, "payload": payload, "sha256": hashlib.sha256(body).hexdigest(), "signature": signature}
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(json.dumps(document, ensure_ascii=False, sort_keys=True, allow_nan=False).encode("utf-8") + b"\n")
    tmp.replace(target)
    return {
        "format": FORMAT,
        "etag": payload["etag"],
        "engine_version": payload["engine_version"],
        "packs": payload["packs_enforced"],
        "signed_by": key.verifier.encode() if key is not None else None,
    }


def read_header(path: str | Path) -> dict[str, Any]:
    """The checked payload summary (format, etag, engine version, packs, signer) without compiling."""
    document, payload, _ = _checked(path, None)
    signature = document.get("signature")
    return {
        "format": document["trace_artifact"],
        "etag": payload.get("etag"),
        "engine_version": payload.get("engine_version"),
        "packs": payload.get("packs_enforced"),
        "signed_by": signature.get("key") if isinstance(signature, dict) else None,
    }


def read_artifact(path: str | Path, *, trusted_keys: Iterable[VerifierKey | str] | None = None) -> CompiledPackSet:
    """Load and compile a pack set written by :func:`write_artifact`. With ``trusted_keys`` (verifier keys or
    their text form) the artifact must be signed by one of them. Raises :class:`TraceCompileError` for a foreign,
    damaged, tampered or stale file; nothing in the file is executed."""
    from reference_gate.compile import compile_packs
    from trace_engine.dsl.jsonform import pack_from_dict

    keys = None if trusted_keys is None else [_verifier(k, path) for k in trusted_keys]
    _, payload, _ = _checked(path, keys)
    if payload.get("engine_version") != ENGINE_VERSION:
        raise _error(
            path,
            "TA003",
            f"artifact was built by engine {payload.get('engine_version')}, this is {ENGINE_VERSION}",
            hint="rebuild it with `trace build`",
        )
    if payload.get("kind") != KIND or not isinstance(payload.get("packs"), list):
        raise _error(path, "TA002", f"artifact payload kind {payload.get('kind')!r} is not {KIND!r}")
    packs = []
    for i, pack in enumerate(payload["packs"]):
        if not isinstance(pack, dict):
            raise _error(path, "TA002", f"artifact pack {i} is not an object")
        try:
            packs.append(pack_from_dict(pack))
        except Exception as exc:  # noqa: BLE001 - hostile data gets a clear error, whatever breaks
            raise _error(path, "TA002", f"artifact pack {i} is invalid: {_first(exc)}") from None
    try:
        program = compile_packs(packs, extra_etag_input=payload.get("etag_input"))
    except Exception as exc:  # noqa: BLE001
        raise _error(path, "TA002", f"artifact packs do not compile: {_first(exc)}") from None
    if program.etag != payload.get("etag"):
        raise _error(path, "TA002", "artifact etag does not match its packs and config")
    return program


def _checked(path: str | Path, keys: list[VerifierKey] | None) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Read, parse strictly and verify the envelope; returns (document, payload, canonical payload bytes)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _error(path, "TA001", f"cannot read artifact: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise _error(path, "TA001", f"not a Trace artifact (larger than {MAX_BYTES // (1024 * 1024)} MiB)")
    if data.startswith(LEGACY_MAGIC):
        raise _error(
            path,
            "TA006",
            "artifact format 1 (a Python pickle) is no longer loaded: loading it could run code",
            hint="rebuild it with `trace build`",
        )
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_reject, object_pairs_hook=_unique)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _error(path, "TA001", "not a Trace artifact (not a JSON document)") from None
    if not isinstance(document, dict) or "trace_artifact" not in document:
        raise _error(path, "TA001", "not a Trace artifact (no trace_artifact format number)")
    if document["trace_artifact"] != FORMAT:
        raise _error(
            path, "TA003", f"artifact format {document['trace_artifact']!r} is not supported (this engine reads {FORMAT})",
            hint="rebuild it with `trace build`",
        )
    payload = document.get("payload")
    if not isinstance(payload, dict):
        raise _error(path, "TA002", "artifact has no payload object")
    try:
        body = canonical_bytes(payload)
    except Exception:  # noqa: BLE001 - e.g. integers beyond 2^53: not something write_artifact produces
        raise _error(path, "TA002", "artifact payload is not canonical JSON") from None
    if document.get("sha256") != hashlib.sha256(body).hexdigest():
        raise _error(path, "TA004", "artifact payload does not match its sha256 (damaged or edited)")
    if keys is not None:
        _check_signature(path, document.get("signature"), body, keys)
    return document, payload, body


def _check_signature(path: str | Path, signature: Any, body: bytes, keys: list[VerifierKey]) -> None:
    if not isinstance(signature, dict):
        raise _error(path, "TA005", "artifact is not signed, and trusted keys were given")
    if signature.get("alg") != "ed25519" or not isinstance(signature.get("sig"), str):
        raise _error(path, "TA005", "artifact signature is malformed")
    try:
        sig = base64.b64decode(signature["sig"], validate=True)
    except ValueError:
        raise _error(path, "TA005", "artifact signature is malformed") from None
    if not any(key.verify(body, sig) for key in keys):
        raise _error(path, "TA005", "artifact signature does not verify with any trusted key")


def _verifier(key: VerifierKey | str, path: str | Path) -> VerifierKey:
    if isinstance(key, VerifierKey):
        return key
    try:
        return VerifierKey.parse(key)
    except KeyError_ as exc:
        raise _error(path, "TA005", f"trusted key: {exc}") from None


def _first(exc: Exception) -> str:
    if isinstance(exc, TraceError) and exc.diagnostics:
        return exc.diagnostics[0].message
    return f"{type(exc).__name__}: {exc}"


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("duplicate key")
    return d


def _error(path: str | Path, code: str, message: str, hint: str | None = None) -> TraceCompileError:
    return TraceCompileError([Diagnostic(code, message, Location(str(path), 1, 1), hint=hint)])
