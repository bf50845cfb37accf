import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "trace_engine", *map(str, args)], capture_output=True, text=True, cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    r = run("keygen", "--out", d)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(d / "trace.key").st_mode) == 0o600
    assert run("keygen", "--out", d).returncode == 2  # refuses to overwrite
    p = d / "t.db"
    with EvidenceLog(p, d / "trace.key") as log:
        log.append_many([synthetic_scorecard(i) for i in range(60)])
    return p


def test_interactions_json_and_cursor(db):
    r = run("interactions", "--db", db, "--limit", "25", "--format", "json")
    assert r.returncode == 0, r.stderr
    page = json.loads(r.stdout)
    assert len(page["data"]) == 25 and page["has_more"]
    r2 = run("interactions", "--db", db, "--limit", "100", "--cursor", page["next_cursor"], "--format", "json")
    assert len(json.loads(r2.stdout)["data"]) == 35
    bad = run("interactions", "--db", db, "--tenant", "other", "--cursor", page["next_cursor"])
    assert bad.returncode == 2 and "another tenant" in bad.stderr
    assert run("interactions", "--db", db, "--verdict", "MAYBE").returncode == 2


def test_table_outputs(db):
    for args in (("interactions",), ("violations", "--severity", "high"), ("exposure", "--window-days", "365")):
        r = run(*args, "--db", db)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip()
    cid = synthetic_scorecard(3).call_id
    r = run("show", cid, "--db", db)
    assert r.returncode == 0 and cid in r.stdout and "audit hash" in r.stdout
    d = json.loads(run("show", cid, "--db", db, "--format", "json").stdout)
    assert d["id"] == cid and "derived_metrics" in d
    assert run("show", "nope", "--db", db).returncode == 1


def test_violations_json(db):
    r = run("violations", "--db", db, "--rule-id", "tcpa-003", "--format", "json", "--limit", "100")
    data = json.loads(r.stdout)["data"]
    assert all(v["rule_id"] == "tcpa-003" for v in data)


def test_unreadable_db(tmp_path):
    for cmd in ("interactions", "violations", "exposure"):
        r = run(cmd, "--db", tmp_path / "missing.db")
        assert r.returncode == 2 and "no such database" in r.stderr
    assert not (tmp_path / "missing.db").exists()  # reads never create a database


def test_verify_default_key_beside_db(db):
    r = run("verify", "--db", db)
    assert r.returncode == 0 and "beside the database" in r.stdout
