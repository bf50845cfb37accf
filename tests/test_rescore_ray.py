"""``trace rescore --engine ray`` on a real local Ray cluster (``ray start --head``, 2 CPUs, loopback), started
for this module and stopped after it: the same scorecards as the local engine, idempotent, resumable after kill -9
of the sequencer on both backends, a clear error when the cluster is not there."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trace_engine.store.verify import verify_db

#: Ray binds a node's routable address unless told it is a one-machine cluster: keep it on loopback (the head and
#: every ``trace rescore`` here run with it; Ray itself is only ever imported by those processes)
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
if importlib.util.find_spec("ray") is None:
    pytest.skip("Ray is not installed (pip install 'trace-engine[ray]')", allow_module_level=True)

#: one xdist worker runs this module, so one Ray cluster is started (``make test`` runs ``--dist loadgroup``)
pytestmark = pytest.mark.xdist_group("ray")

REPO = Path(__file__).resolve().parents[1]
CORPUS = str(REPO / "corpora")
CONFIG = {"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}}}
ALL_CALLS = sum(
    1 for name in ("outbound_calls.jsonl", "taskmaster_sample.jsonl") for line in (REPO / "corpora" / name).open()
    if line.strip()
)
RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray head with 2 CPUs on loopback; its address. Stopped by signalling its own process group (never
    ``ray stop``, which stops every Ray on the machine)."""
    if not RAY.exists():
        pytest.skip("the ray command is not installed")
    temp = tmp_path_factory.mktemp("ray")
    port = _free_port()
    env = {**os.environ, **LOOPBACK}
    cmd = [
        str(RAY), "start", "--head", "--block", "--num-cpus", "2", "--port", str(port), "--node-ip-address",
        "127.0.0.1", "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(temp),
        "--ray-client-server-port", str(_free_port()), "--object-store-memory", str(200 * 1024 * 1024),
    ]
    log = (temp / "head.log").open("w")
    head = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if head.poll() is not None:
                pytest.fail("ray start exited: " + (temp / "head.log").read_text()[-2000:])
            if "Ray runtime started" in (temp / "head.log").read_text():
                break
            if time.monotonic() > deadline:
                pytest.fail("the Ray head did not start in 120 s: " + (temp / "head.log").read_text()[-2000:])
            time.sleep(0.5)
        yield address
    finally:
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end and _group_alive(head.pid):
                time.sleep(0.3)
            if not _group_alive(head.pid):
                break
        head.wait(timeout=10)
        log.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _key(line: dict) -> tuple:
    return (line["id"], line["verdict"], line["findings"], tuple(v["rule_id"] for v in line["violations"]))


def _count(backend: Any) -> int:
    return backend.query("SELECT count(*) FROM scorecards")[0][0]


def _cli_rescore(db: Any, config: Path, *extra: str) -> tuple[list[dict], dict]:
    """``trace rescore --format jsonl`` in a subprocess (Ray's driver never runs inside the test process): the
    interaction lines and the summary."""
    r = subprocess.run(
        [sys.executable, "-m", "trace_engine", "rescore", CORPUS, "--db", str(db), "--config", str(config),
         "--format", "jsonl", *extra],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **LOOPBACK}, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    return [o for o in objs if o["object"] == "trace.interaction"], objs[-1]


def test_ray_gives_the_same_scorecards_as_local_and_is_idempotent(ray_cluster: str, tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(CONFIG))
    local, distributed = tmp_path / "local.db", tmp_path / "ray.db"
    lines_local, a = _cli_rescore(local, config)
    lines_ray, b = _cli_rescore(distributed, config, "--engine", "ray", "--address", ray_cluster, "--workers", "2")
    assert [line["id"] for line in lines_ray] == [line["id"] for line in lines_local]  # input order kept
    assert list(map(_key, lines_ray)) == list(map(_key, lines_local))
    assert b["object"] == "trace.rescore.summary" and b["scored"] == ALL_CALLS
    assert {k: b[k] for k in ("scored", "appended", "turns", "verdicts")} == \
        {k: a[k] for k in ("scored", "appended", "turns", "verdicts")}
    _, again = _cli_rescore(distributed, config, "--engine", "ray", "--address", ray_cluster)
    assert again["appended"] == 0 and again["unchanged"] == ALL_CALLS
    assert verify_db(distributed).ok


@pytest.mark.parametrize("seed", [7])
def test_kill_9_of_the_sequencer_then_resume_on_ray(
    ray_cluster: str, backend: Any, tmp_path: Path, seed: int
) -> None:
    """The sequencer (the process running ``trace rescore``) is killed mid-run; the cluster's tasks wrote nothing,
    so what it reported is all in the log, and a second run completes it without duplicates."""
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(CONFIG))
    cmd = [sys.executable, "-m", "trace_engine", "rescore", CORPUS, "--db", backend.db, "--config", str(config),
           "--format", "jsonl", "--engine", "ray", "--address", ray_cluster]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
                            env={**os.environ, **LOOPBACK})
    acknowledged: list[str] = []
    kill_after = random.Random(seed).randint(1, ALL_CALLS - 60)
    assert proc.stdout is not None
    deadline = time.monotonic() + 180
    for line in proc.stdout:
        obj = json.loads(line)
        if obj.get("object") == "trace.interaction":
            acknowledged.append(obj["id"])
        if len(acknowledged) >= kill_after or time.monotonic() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stored = {r[0] for r in backend.query("SELECT call_id FROM scorecards")}
    assert set(acknowledged) <= stored
    assert verify_db(backend.db).ok
    _, resumed = _cli_rescore(backend.db, config, "--engine", "ray", "--address", ray_cluster)
    assert resumed["appended"] + resumed["unchanged"] == ALL_CALLS and resumed["unchanged"] >= len(acknowledged)
    assert _count(backend) == ALL_CALLS  # no duplicates
    assert verify_db(backend.db).ok


def test_no_cluster_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    r = subprocess.run(
        [sys.executable, "-m", "trace_engine", "rescore", CORPUS, "--db", str(db), "--engine", "ray", "--address",
         f"127.0.0.1:{_free_port()}"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert r.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:" in r.stderr, r.stderr
    assert not db.exists()  # nothing written
