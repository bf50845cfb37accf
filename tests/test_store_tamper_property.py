"""Property: any single-cell edit of an evidence row, a side-table row or the exposure rollup is reported by
verify (nothing silently passes)."""

import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.db import EVIDENCE_TABLES
from trace_engine.store.log import EvidenceLog
from trace_engine.store.verify import verify_db

KEY = SigningKey.generate()
N = 40

TABLES = ["scorecards", "violations", "checkpoints", "events", "gaps", "tier2_findings", "agents", "rollup_verdicts",
          "rollup_rules"]
#: not evidence: when a checkpoint row was written (the signed note is what counts)
UNCHECKED = {("checkpoints", "created_at"), ("checkpoints", "tenant")}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    p = tmp_path_factory.mktemp("prop") / "t.db"
    with EvidenceLog(p, KEY, checkpoint_every=8) as log:
        log.append_many([synthetic_scorecard(i, "a") for i in range(N)])
        log.append(synthetic_scorecard(3, "a", config_etag="etag-2"))
        log.append_many([synthetic_scorecard(i, "b", seed=2) for i in range(5)])
        log.add_gap("a", 2, "queue full: 2")
        log.add_tier2_finding("a", {"interaction_id": synthetic_scorecard(3, "a").call_id, "check_id": "x",
                                    "severity": "high"})
    assert verify_db(p, pubkey=KEY.verifier).ok
    return p


def mutate(value):
    if value is None:
        return "x"
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float):
        return value + 0.5
    if len(value) == 0:
        return "x"
    # flip one character in the middle, keeping it text
    i = len(value) // 2
    return value[:i] + ("0" if value[i] != "0" else "1") + value[i + 1 :]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.sampled_from(TABLES),
    pick=st.integers(0, 10_000),
    col_pick=st.integers(0, 100),
)
def test_single_cell_edit_is_detected(pristine, tmp_path, table, pick, col_pick):
    db = tmp_path / f"t{pick}-{col_pick}-{table}.db"
    shutil.copy(pristine, db)
    c = sqlite3.connect(db)
    cols = [r[1] for r in c.execute(f"PRAGMA table_info({table})") if (table, r[1]) not in UNCHECKED]
    col = cols[col_pick % len(cols)]
    for t in EVIDENCE_TABLES:
        for op in ("update", "delete"):
            c.execute(f"DROP TRIGGER IF EXISTS {t}_no_{op}")
    rowids = [r[0] for r in c.execute(f"SELECT rowid FROM {table} ORDER BY rowid")]
    rowid = rowids[pick % len(rowids)]
    old = c.execute(f"SELECT {col} FROM {table} WHERE rowid = ?", (rowid,)).fetchone()[0]
    new = mutate(old)
    if col == "seq" and table == "scorecards":
        new = 10_000  # unique; any other seq would collide with the (tenant, seq) index
    try:
        c.execute(f"UPDATE {table} SET {col} = ? WHERE rowid = ?", (new, rowid))
        c.commit()
    except (sqlite3.IntegrityError, sqlite3.OperationalError):
        return  # the schema itself refused the edit (a unique index; the identity index reads the body as JSON)
    finally:
        c.close()
    rep = verify_db(db, pubkey=KEY.verifier)
    assert not rep.ok, f"undetected edit of {table}.{col} rowid {rowid}: {old!r} -> {new!r}"
