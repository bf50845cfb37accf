"""Artifacts are data, not code: nothing in a .tart runs on load, and a damaged, edited, unsigned or stale file is
refused with a clear error before anything in it is used."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine.compile.artifact import LEGACY_MAGIC, read_artifact, read_header, write_artifact
from trace_engine.dsl import load_pack
from trace_engine.errors import TraceCompileError
from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.signing import SigningKey
from trace_engine.gate.engine import Engine
from trace_engine.version import ENGINE_VERSION

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"guardrails": {"mode": "modify", "inline_timeout_ms": 60_000, "block_pii": {"patterns": ["ssn"]}}}


class Payload:
    """What a hostile pickle does: run a command (here, create a file) the moment it is unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def program():
    packs = [load_pack(f"{REPO}/rule_packs/{name}.trace")[0] for name in ("tcpa", "pii")]
    return Engine.from_config(CONFIG, packs=packs).program


def _code(path: Path, **kwargs) -> str:
    with pytest.raises(TraceCompileError) as err:
        read_artifact(path, **kwargs)
    return err.value.diagnostics[0].code


@pytest.mark.parametrize(
    "shape",
    ["legacy format 1", "bare pickle", "json header then pickle", "pickle in the payload"],
)
def test_a_malicious_pickle_never_runs(tmp_path: Path, shape: str) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Payload(marker))
    assert not marker.exists()
    data = {
        "legacy format 1": LEGACY_MAGIC + b'{"engine_version": "0.1.0", "etag": "x", "packs": []}\n' + evil,
        "bare pickle": evil,
        "json header then pickle": b'{"trace_artifact": 2}\n' + evil,
        "pickle in the payload": json.dumps({"trace_artifact": 2, "payload": {"packs": evil.hex()}, "sha256": "0"}).encode(),
    }[shape]
    path = tmp_path / "evil.tart"
    path.write_bytes(data)
    with pytest.raises(TraceCompileError) as err:
        Engine.from_artifact(path, CONFIG)
    assert not marker.exists(), "loading the artifact ran code"
    diag = err.value.diagnostics[0]
    assert diag.code in ("TA001", "TA004", "TA006")
    if shape == "legacy format 1":
        assert diag.message == "artifact format 1 (a Python pickle) is no longer loaded: loading it could run code"
        assert diag.hint == "rebuild it with `trace build`"


def test_round_trip_behaves_identically(tmp_path: Path, program) -> None:
    path = tmp_path / "packs.tart"
    header = write_artifact(program, path)
    assert header["etag"] == program.etag and header["format"] == 2
    loaded = read_artifact(path)
    assert loaded.etag == program.etag and loaded.packs_enforced() == program.packs_enforced()
    a, b = Engine.from_config(CONFIG, packs=list(program.ir_packs[:-1])), Engine.from_artifact(path, CONFIG)
    for engine in (a, b):
        call = engine.start_call("c", metadata={"direction": "outbound", "business_name": "Acme"})
        engine.result = (call.agent_turn("my ssn is 078-05-1121, guaranteed").text, call.end().verdict)
    assert a.result == b.result
    assert path.read_bytes().startswith(b'{"payload":')  # plain JSON: readable by any tool, later by the Rust core


def _edit(path: Path, change, *, rehash: bool) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    if rehash:
        doc["sha256"] = hashlib.sha256(canonical_bytes(doc["payload"])).hexdigest()
    path.write_text(json.dumps(doc))


def _drop_rule(doc: dict) -> None:
    doc["payload"]["packs"][1]["rules"].pop(0)


def test_an_edited_payload_fails_its_hash(tmp_path: Path, program) -> None:
    path = tmp_path / "packs.tart"
    write_artifact(program, path)
    _edit(path, _drop_rule, rehash=False)
    assert _code(path) == "TA004"


def test_an_edited_payload_with_a_new_hash_fails_its_etag(tmp_path: Path, program) -> None:
    path = tmp_path / "packs.tart"
    write_artifact(program, path)
    _edit(path, _drop_rule, rehash=True)
    with pytest.raises(TraceCompileError) as err:
        read_artifact(path)
    assert err.value.diagnostics[0].message == "artifact etag does not match its packs and config"


def test_signatures(tmp_path: Path, program) -> None:
    key, other = SigningKey.generate("builder"), SigningKey.generate("mallory")
    signed, unsigned = tmp_path / "signed.tart", tmp_path / "unsigned.tart"
    assert write_artifact(program, signed, key=key)["signed_by"] == key.verifier.encode()
    write_artifact(program, unsigned)
    assert read_artifact(signed, trusted_keys=[key.verifier]).etag == program.etag
    assert read_artifact(signed, trusted_keys=[key.verifier.encode()]).etag == program.etag
    assert read_header(signed)["signed_by"] == key.verifier.encode()
    assert _code(unsigned, trusted_keys=[key.verifier]) == "TA005"
    assert _code(signed, trusted_keys=[other.verifier]) == "TA005"
    # an attacker re-signs an edited payload with their own key: refused unless their key is trusted
    forged = tmp_path / "forged.tart"
    write_artifact(program, forged, key=other)
    assert _code(forged, trusted_keys=[key.verifier]) == "TA005"


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "TA001"),
        (b"\xff\xfe", "TA001"),
        (b"[" * 100_000, "TA001"),
        (b'{"trace_artifact": 2, "trace_artifact": 2}', "TA001"),
        (b'{"trace_artifact": NaN}', "TA001"),
        (b'{"trace_artifact": 3, "payload": {}}', "TA003"),
        (b'{"trace_artifact": 2, "payload": 5}', "TA002"),
        (b'{"trace_artifact": 2, "payload": {"n": 9007199254740993}, "sha256": "x"}', "TA002"),
        (b'{"trace_artifact": 2, "payload": {}, "sha256": "x"}', "TA004"),
    ],
)
def test_damaged_files_get_clear_errors(tmp_path: Path, data: bytes, code: str) -> None:
    path = tmp_path / "x.tart"
    path.write_bytes(data)
    assert _code(path) == code


def test_hostile_pack_json_gets_a_clear_error(tmp_path: Path) -> None:
    payload = {"kind": "ir-packs", "engine_version": ENGINE_VERSION, "etag": "x", "packs_enforced": [], "etag_input": None,
               "packs": [{"pack_id": "x", "rules": "not a list"}]}
    path = tmp_path / "x.tart"
    path.write_text(json.dumps({"trace_artifact": 2, "payload": payload, "sha256": hashlib.sha256(canonical_bytes(payload)).hexdigest()}))
    assert _code(path) == "TA002"


def test_cli_build_signs(tmp_path: Path) -> None:
    key = SigningKey.generate("builder")
    (tmp_path / "trace.key").write_text(key.encode())
    out = tmp_path / "packs.tart"
    result = subprocess.run(
        [sys.executable, "-m", "trace_engine", "build", "rule_packs/pii.trace", "-o", str(out), "--key", str(tmp_path / "trace.key")],
        capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert f"signed by {key.verifier.encode()}" in result.stdout
    assert read_artifact(out, trusted_keys=[key.verifier]).packs_enforced()
