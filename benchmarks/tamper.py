"""Tamper benchmark: attack a signed evidence log as someone with write access to the database file (but not the
signing key) would, and check that ``trace verify`` catches each attack with exit 1 and a message naming the
record. Prints a table (or JSON) of attacks tried / caught.

    .venv/bin/python benchmarks/tamper.py [--format json]

The scenario: tenant ``acme`` with 300 scorecards (some FAIL), a re-scored call that supersedes an older record,
a Tier-2 finding, a gap record, an API key, an agent's config and an uploaded rule pack; tenant ``beta`` with 20
scorecards. The auditor holds ``trace.pub`` (passed as ``--pubkey``) and a witness holds the latest checkpoints
(``--checkpoint``), both taken before the attack. Each attack runs on a fresh copy, with the append-only triggers
dropped, recomputing every hash an attacker can recompute (the algorithm is public).

``tests/test_store_tamper.py`` runs every attack of :data:`ATTACKS` as a test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trace_engine.evidence.canonical import canonical_bytes  # noqa: E402
from trace_engine.evidence.merkle import Frontier  # noqa: E402
from trace_engine.evidence.signing import SigningKey, checkpoint_body, parse_checkpoint, sign_note  # noqa: E402
from trace_engine.evidence.synthetic import synthetic_scorecard  # noqa: E402

GENESIS = b"\x00" * 32


# ------------------------------------------------------------------------------------------- scenario


@dataclass
class Scenario:
    dir: Path
    fail_call: str = ""  # a FAIL call of acme whose record is not superseded
    fail_seq: int = 0
    db_name: str = "trace.db"

    @property
    def db(self) -> Path:
        return self.dir / self.db_name

    @property
    def pubkey(self) -> Path:
        return self.dir / "auditor" / "trusted.pub"

    @property
    def witness(self) -> Path:
        return self.dir / "auditor" / "witness.txt"


def build(dirpath: Path) -> Scenario:
    """Write the scenario's database, the auditor's copy of the key and the witnessed checkpoints."""
    from trace_engine.api.auth import create_key
    from trace_engine.api.resources import builtin_packs, create_pack, put_config
    from trace_engine.api.tables import open_db
    from trace_engine.evidence.scorecard import Finding
    from trace_engine.store.log import EvidenceLog

    s = Scenario(Path(dirpath))
    s.dir.mkdir(parents=True, exist_ok=True)
    with EvidenceLog(s.db) as log:  # trace.key / trace.pub generated beside the database
        for lo in range(0, 300, 64):
            log.append_many([synthetic_scorecard(i, "acme") for i in range(lo, min(300, lo + 64))])
        redo = synthetic_scorecard(7, "acme", config_etag="etag-2")
        redo.findings = [Finding("tcpa-007", "tcpa", "critical", "flag", "47 CFR", "called at 22:10", 3.0, 1, (0, 5))]
        redo.verdict = "FAIL"
        log.append(redo)
        log.add_tier2_finding(
            "acme",
            {"interaction_id": redo.call_id, "check_id": "hallucination", "severity": "high", "verdict": "concern",
             "confidence": 0.8, "action": "flag", "speaker": "agent", "reason": "made up a price", "at_t": 3.0},
        )
        log.add_gap("acme", 3, "queue full: 3")
        log.append_many([synthetic_scorecard(i, "beta", seed=5) for i in range(20)])
    conn = open_db(str(s.db))
    create_key(conn, "acme", "trace:read")
    put_config(conn, "acme", {"agent_id": "agent-9", "rule_packs": {"tcpa": {"enabled": True}}, "enabled": True})
    spec = dict(builtin_packs()["pii"][0].spec, pack_id="acme_pii", version="1.0.0")
    create_pack(conn, "acme", json.dumps(spec).encode())
    conn.close()
    conn = sqlite3.connect(s.db)  # the scenario's facts, read as the attacker reads them
    row = conn.execute(
        "SELECT call_id, seq FROM scorecards s WHERE tenant = 'acme' AND verdict = 'FAIL' AND supersedes IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM scorecards n WHERE n.supersedes = s.audit_hash) ORDER BY seq LIMIT 1"
    ).fetchone()
    s.fail_call, s.fail_seq = row
    notes = [
        n for (n,) in conn.execute(
            "SELECT note FROM checkpoints c WHERE size = (SELECT max(size) FROM checkpoints d WHERE d.tenant = c.tenant) "
            "ORDER BY tenant"
        )
    ]
    conn.close()
    (s.dir / "auditor").mkdir(exist_ok=True)
    shutil.copy(s.dir / "trace.pub", s.pubkey)
    s.witness.write_text("\n".join(notes), encoding="utf-8")
    return s


def copy(s: Scenario, to: Path) -> Scenario:
    shutil.copytree(s.dir, to)
    return Scenario(to, s.fail_call, s.fail_seq)


# ------------------------------------------------------------------------------------- attacker tools


def open_raw(s: Scenario) -> sqlite3.Connection:
    """The database without its guard rails (an attacker drops the append-only triggers)."""
    c = sqlite3.connect(s.db, isolation_level=None)
    for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        c.execute(f'DROP TRIGGER "{name}"')
    return c


def _tables(c: sqlite3.Connection) -> set[str]:
    return {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _chain_tables(c: sqlite3.Connection) -> list[str]:
    return [t for t in ("scorecards", "events") if t in _tables(c)]


def audit(prev: bytes, leaf: bytes, tenant: str, seq: int) -> bytes:
    return hashlib.sha256(prev + leaf + tenant.encode() + b"\x00" + seq.to_bytes(8, "big")).digest()


def leaf(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def records(c: sqlite3.Connection, tenant: str) -> list[tuple[int, str, str, str]]:
    """``(seq, table, body, audit_hash)`` of the tenant's log, in order."""
    out = []
    for t in _chain_tables(c):
        out += [(seq, t, body, ah) for seq, body, ah in c.execute(
            f"SELECT seq, body, audit_hash FROM {t} WHERE tenant = ?", (tenant,))]
    return sorted(out)


def rehash(c: sqlite3.Connection, tenant: str) -> Frontier:
    """Recompute every leaf and audit hash of the tenant's log from the bodies (what anyone can do)."""
    prev = GENESIS
    f = Frontier()
    for seq, table, body, _ah in records(c, tenant):
        lh = leaf(body.encode())
        ah = audit(prev, lh, tenant, seq)
        c.execute(
            f"UPDATE {table} SET leaf_hash = ?, prev_hash = ?, audit_hash = ? WHERE tenant = ? AND seq = ?",
            (lh.hex(), prev.hex(), ah.hex(), tenant, seq),
        )
        if table == "scorecards" and "violations" in _tables(c):
            c.execute("UPDATE violations SET audit_hash = ? WHERE tenant = ? AND seq = ?", (ah.hex(), tenant, seq))
        prev = ah
        f.append(lh)
    return f


def edit_body(c: sqlite3.Connection, tenant: str, seq: int, fn: Callable[[dict], None]) -> None:
    """Change a scorecard record's body (canonical, so it still looks like ours) and its index columns."""
    (body,) = c.execute("SELECT body FROM scorecards WHERE tenant = ? AND seq = ?", (tenant, seq)).fetchone()
    doc = json.loads(body)
    fn(doc)
    c.execute(
        "UPDATE scorecards SET body = ?, verdict = ?, findings = ? WHERE tenant = ? AND seq = ?",
        (canonical_bytes(doc).decode(), doc["scorecard"]["verdict"], len(doc["scorecard"]["findings"]), tenant, seq),
    )
    c.execute("DELETE FROM violations WHERE tenant = ? AND seq = ?", (tenant, seq))


def to_pass(doc: dict) -> None:
    doc["scorecard"]["verdict"] = "PASS"
    doc["scorecard"]["findings"] = []
    doc["violations"] = []


def insert(c: sqlite3.Connection, table: str, row: dict) -> None:
    """Insert ``row``, keeping only the columns this schema has."""
    cols = [r[1] for r in c.execute(f"PRAGMA table_info({table})")]
    keep = {k: v for k, v in row.items() if k in cols}
    c.execute(f"INSERT INTO {table}({', '.join(keep)}) VALUES ({', '.join('?' * len(keep))})", list(keep.values()))


def forge_append(s: Scenario, tenant: str = "acme", call: str | None = None) -> int:
    """Append a record at the next position that supersedes a FAIL call with PASS, hashes by the public algorithm."""
    c = open_raw(s)
    recs = records(c, tenant)
    seq, prev = recs[-1][0] + 1, bytes.fromhex(recs[-1][3])
    call = call or s.fail_call
    (body, ah_old) = c.execute(
        "SELECT body, audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? ORDER BY seq DESC LIMIT 1",
        (tenant, call),
    ).fetchone()
    doc = json.loads(body)
    to_pass(doc)
    doc["scorecard"]["config_etag"] = "etag-forged"
    doc["supersedes"] = ah_old
    raw = canonical_bytes(doc)
    lh = leaf(raw)
    sc = doc["scorecard"]
    insert(c, "scorecards", {
        "tenant": tenant, "seq": seq, "call_id": call, "agent_id": sc["agent_id"], "product": sc["product"],
        "config_etag": sc["config_etag"], "engine_version": sc["engine_version"], "verdict": "PASS",
        "scored_at": sc["scored_at"], "call_at": sc.get("started_at") or sc["scored_at"], "findings": 0,
        "blocked_turns": 0, "modified_turns": 0, "packs_enforced": ",".join(sc["packs_enforced"]),
        "body": raw.decode(), "leaf_hash": lh.hex(), "prev_hash": prev.hex(), "audit_hash": audit(prev, lh, tenant, seq).hex(),
        "supersedes": ah_old,
    })
    c.close()
    return seq


def resign_all(c: sqlite3.Connection, key: SigningKey) -> None:
    """Re-sign every checkpoint over the log as it now is (the key-swap attack)."""
    for tenant in [r[0] for r in c.execute("SELECT DISTINCT tenant FROM checkpoints")]:
        f = Frontier()
        recs = records(c, tenant)
        sizes = {r[0] for r in c.execute("SELECT size FROM checkpoints WHERE tenant = ?", (tenant,))}
        roots = {}
        for _seq, _t, body, _ah in recs:
            f.append(leaf(body.encode()))
            if f.size in sizes:
                roots[f.size] = f.root()
        for size in sizes:
            origin_tenant = parse_checkpoint(
                c.execute("SELECT note FROM checkpoints WHERE tenant = ? AND size = ?", (tenant, size)).fetchone()[0]
            ).tenant
            note, sig = sign_note(checkpoint_body(origin_tenant, size, roots[size]), key)
            c.execute(
                "UPDATE checkpoints SET note = ?, signature = ?, root = ?, key_id = ? WHERE tenant = ? AND size = ?",
                (note, sig, roots[size].hex(), key.verifier.key_id.hex(), tenant, size),
            )


def delete_tenant(c: sqlite3.Connection, tenant: str) -> None:
    for t in sorted(_tables(c)):
        cols = [r[1] for r in c.execute(f"PRAGMA table_info({t})")]
        if "tenant" in cols and t != "meta":
            c.execute(f"DELETE FROM {t} WHERE tenant = ?", (tenant,))


def truncate(c: sqlite3.Connection, tenant: str, size: int) -> None:
    for t in _chain_tables(c) + ["violations", "gaps", "tier2_findings", "agents"]:
        cols = [r[1] for r in c.execute(f"PRAGMA table_info({t})")]
        if "seq" in cols:
            c.execute(f"DELETE FROM {t} WHERE tenant = ? AND seq >= ?", (tenant, size))
    c.execute("DELETE FROM checkpoints WHERE tenant = ? AND size > ?", (tenant, size))


# ----------------------------------------------------------------------------------------------- attacks


@dataclass
class Attack:
    name: str
    what: str
    apply: Callable[[Scenario], None]
    #: text the verify output must contain (the record it names); "{fail_seq}"/"{fail_call}" are filled in
    names: str
    #: verify with the witnessed checkpoints too (the attack leaves a log consistent with an older signed state)
    witness: bool = False
    #: verify without --pubkey (the auditor only has the witness)
    no_pubkey: bool = False
    #: reads to run after the attack: (command args, must exit 1)
    reads: list[list[str]] = field(default_factory=list)


def _sql(*stmts: str) -> Callable[[Scenario], None]:
    def run(s: Scenario) -> None:
        c = open_raw(s)
        for st in stmts:
            c.execute(st.format(fail_seq=s.fail_seq, fail_call=s.fail_call))
        c.close()

    return run


def _forged_append(s: Scenario) -> None:
    forge_append(s)


def _forged_append_fake_checkpoint(s: Scenario) -> None:
    seq = forge_append(s)
    c = open_raw(s)
    (note,) = c.execute("SELECT note FROM checkpoints WHERE tenant = 'acme' ORDER BY size DESC LIMIT 1").fetchone()
    fake = note.replace(f"\n{seq}\n", f"\n{seq + 1}\n")
    c.execute(
        "INSERT INTO checkpoints(tenant, size, root, note, signature, key_id, created_at) "
        "SELECT tenant, ?, root, ?, signature, key_id, created_at FROM checkpoints WHERE tenant = 'acme' AND size = ?",
        (seq + 1, fake, seq),
    )
    c.close()


def _delete_checkpoints_rewrite(s: Scenario) -> None:
    c = open_raw(s)
    edit_body(c, "acme", s.fail_seq, to_pass)
    rehash(c, "acme")
    c.execute("DELETE FROM checkpoints WHERE tenant = 'acme'")
    c.close()


def _rewrite_chain(s: Scenario) -> None:
    c = open_raw(s)
    edit_body(c, "acme", s.fail_seq, to_pass)
    rehash(c, "acme")
    c.close()


def _rewrite_last(s: Scenario) -> None:
    c = open_raw(s)
    (seq,) = c.execute("SELECT max(seq) FROM scorecards WHERE tenant = 'acme'").fetchone()
    edit_body(c, "acme", seq, to_pass)
    rehash(c, "acme")
    c.close()


def _truncate_unsigned(s: Scenario) -> None:
    c = open_raw(s)
    truncate(c, "acme", 290)
    c.close()


def _truncate_signed(s: Scenario) -> None:
    """Cut the log back to its signed state at 256 records and make the rollup agree (a careful attacker)."""
    c = open_raw(s)
    truncate(c, "acme", 256)
    if "rollup_verdicts" in _tables(c):
        from trace_engine.store import rollup

        delta = rollup.RollupDelta()
        contrib: dict[str, tuple] = {}
        for (body, ah) in c.execute("SELECT body, audit_hash FROM scorecards WHERE tenant = 'acme' ORDER BY seq"):
            doc = json.loads(body)
            if doc.get("supersedes") in contrib:
                delta.add("acme", contrib[doc["supersedes"]], -1)
            contrib[ah] = rollup.contribution(doc["scorecard"])
            delta.add("acme", contrib[ah], 1)
        c.execute("DELETE FROM rollup_verdicts WHERE tenant = 'acme'")
        c.execute("DELETE FROM rollup_rules WHERE tenant = 'acme'")
        verdicts, rules = delta.nonzero()
        c.executemany("INSERT INTO rollup_verdicts(tenant, hour, agent, verdict, n) VALUES (?,?,?,?,?)",
                      [(*k, n) for k, n in verdicts.items()])
        c.executemany("INSERT INTO rollup_rules(tenant, hour, agent, rule_id, pack, n) VALUES (?,?,?,?,?,?)",
                      [(*k, n) for k, n in rules.items()])
        c.execute("INSERT OR REPLACE INTO rollup_state(tenant, size) VALUES ('acme', 256)")
    c.close()


def _delete_tenant(s: Scenario) -> None:
    c = open_raw(s)
    delete_tenant(c, "beta")
    c.close()


def _delete_tenant_and_directory_entry(s: Scenario) -> None:
    c = open_raw(s)
    delete_tenant(c, "beta")
    if "events" in _tables(c):
        c.execute("DELETE FROM events WHERE tenant = '' AND json_extract(body, '$.name') = 'beta'")
        c.execute("DELETE FROM checkpoints WHERE tenant = '' AND size > 1")
    c.close()


def _key_swap(s: Scenario) -> None:
    c = open_raw(s)
    edit_body(c, "acme", s.fail_seq, to_pass)
    rehash(c, "acme")
    evil = SigningKey.generate()
    resign_all(c, evil)
    c.close()
    (s.dir / "trace.pub").write_text(evil.verifier.encode() + "\n")
    (s.dir / "trace.key").write_text(evil.encode() + "\n")


def _mint_key(s: Scenario) -> None:
    c = open_raw(s)
    insert(c, "api_keys", {
        "key_id": "key_evil", "tenant": "acme", "key_hash": hashlib.sha256(b"trace_sk_evil").hexdigest(),
        "scopes": "*", "created_at": 1, "revoked_at": None, "note": None,
    })
    c.close()


def _forged_key_event(s: Scenario) -> None:
    """Mint a key and append a matching api_key.created event at the next position (no checkpoint)."""
    _mint_key(s)
    c = open_raw(s)
    recs = records(c, "acme")
    seq, prev = recs[-1][0] + 1, bytes.fromhex(recs[-1][3])
    body = canonical_bytes({
        "event": "api_key.created", "tenant": "acme", "key_id": "key_evil",
        "key_hash": hashlib.sha256(b"trace_sk_evil").hexdigest(), "scopes": "*", "created_at": 1, "note": None,
    })
    lh = leaf(body)
    c.execute(
        "INSERT INTO events(tenant, seq, kind, ref, body, leaf_hash, prev_hash, audit_hash) VALUES (?,?,?,?,?,?,?,?)",
        ("acme", seq, "api_key.created", "key_evil", body.decode(), lh.hex(), prev.hex(), audit(prev, lh, "acme", seq).hex()),
    )
    c.close()


def _edit_event_body(s: Scenario) -> None:
    c = open_raw(s)
    c.execute("UPDATE events SET body = replace(body, '\"lost\":3', '\"lost\":0') WHERE tenant = 'acme' AND kind = 'gap'")
    c.execute("UPDATE gaps SET lost = 0 WHERE tenant = 'acme'")
    c.close()


def _move_record(s: Scenario) -> None:
    c = open_raw(s)
    (n,) = c.execute("SELECT max(seq) + 1 FROM scorecards WHERE tenant = 'beta'").fetchone()
    c.execute(f"UPDATE scorecards SET tenant = 'beta', seq = {n} WHERE tenant = 'acme' AND seq = 5")
    c.execute(f"UPDATE violations SET tenant = 'beta', seq = {n} WHERE tenant = 'acme' AND seq = 5")
    c.close()


SHOW = ["show", "{fail_call}", "--tenant", "acme"]
EXPOSE = ["exposure", "--tenant", "acme", "--window-days", "365"]

ATTACKS: list[Attack] = [
    Attack("forged append", "a record at the next position supersedes a FAIL call with PASS (public hashes)",
           _forged_append, "seq 307", reads=[SHOW, EXPOSE]),
    Attack("forged append + fake checkpoint", "the same, plus a checkpoint row copied from the last one",
           _forged_append_fake_checkpoint, "seq 307", reads=[SHOW]),
    Attack("forged key event", "a key minted with a matching api_key.created record at the next position",
           _forged_key_event, "seq 307"),
    Attack("checkpoints deleted + chain rewritten", "FAIL body edited to PASS, every hash recomputed, no checkpoints",
           _delete_checkpoints_rewrite, "seq 0"),
    Attack("latest checkpoint deleted", "the head checkpoint removed", _sql(
        "DELETE FROM checkpoints WHERE tenant = 'acme' AND size = (SELECT max(size) FROM checkpoints WHERE tenant = 'acme')"),
        "seq 256"),
    Attack("checkpoint at 256 deleted", "a kept checkpoint removed",
           _sql("DELETE FROM checkpoints WHERE tenant = 'acme' AND size = 256"), "size 256"),
    Attack("checkpoint note edited", "the tree size in a signed note changed",
           _sql("UPDATE checkpoints SET note = replace(note, char(10) || '256' || char(10), char(10) || '255' || char(10)) "
                "WHERE tenant = 'acme' AND size = 256"), "size 255"),
    Attack("chain rewritten", "FAIL body edited to PASS, every later hash recomputed, checkpoints kept",
           _rewrite_chain, "checkpoint root mismatch at size 256"),
    Attack("last record rewritten", "the newest scorecard edited and the tail rehashed",
           _rewrite_last, "checkpoint root mismatch at size 307"),
    Attack("tail cut to an unsigned size", "records from 290 on deleted", _truncate_unsigned, "seq 256"),
    Attack("tail cut to a signed size", "records from 256 on deleted, rollup recomputed: an older signed state",
           _truncate_signed, "trusted checkpoint has size 307", witness=True),
    Attack("tenant deleted", "every row of tenant beta removed", _delete_tenant, "tenant beta"),
    Attack("tenant + directory entry deleted", "beta removed, and its directory entry and checkpoint",
           _delete_tenant_and_directory_entry, "directory seq 0"),
    Attack("key swap (auditor has the key)", "chain rewritten, every checkpoint re-signed with a new key, trace.pub "
           "and trace.key replaced", _key_swap, "signed by an unknown key"),
    Attack("key swap (auditor has a witness only)", "the same, verified without --pubkey against the witness",
           _key_swap, "trusted checkpoint at size 307: signed by an unknown key", witness=True, no_pubkey=True),
    Attack("record moved to another tenant", "acme's record 5 re-filed as beta's next record", _move_record,
           "tenant beta seq 20"),
    Attack("record deleted", "acme's record 5 removed",
           _sql("DELETE FROM scorecards WHERE tenant = 'acme' AND seq = 5"), "chain broken: record 5 missing"),
    Attack("mutable column: verdict", "UPDATE scorecards SET verdict = 'PASS' on a FAIL call",
           _sql("UPDATE scorecards SET verdict = 'PASS' WHERE tenant = 'acme' AND seq = {fail_seq}"),
           "seq {fail_seq} (call {fail_call}): row columns differ from the signed body: verdict", reads=[SHOW]),
    Attack("mutable column: input_sha256", "the identity's content hash changed, so that a corrected transcript "
           "would be taken for the one already scored",
           _sql("UPDATE scorecards SET input_sha256 = 'forged' WHERE tenant = 'acme' AND seq = {fail_seq}"),
           "seq {fail_seq} (call {fail_call}): row columns differ from the signed body: input_sha256"),
    Attack("side table: violations", "a finding's severity lowered",
           _sql("UPDATE violations SET severity = 'low' WHERE tenant = 'acme' AND seq = {fail_seq}"),
           "seq {fail_seq} (call {fail_call}): violation rows differ"),
    Attack("side table: gaps", "the lost count of a gap record set to 0",
           _sql("UPDATE gaps SET lost = 0 WHERE tenant = 'acme'"), "gaps row at seq 302"),
    Attack("event record edited", "the gap record's body and row both set to 0 lost", _edit_event_body,
           "seq 302: leaf hash mismatch"),
    Attack("side table: tier2_findings", "a Tier-2 finding's severity changed",
           _sql("UPDATE tier2_findings SET body = replace(body, '\"high\"', '\"low\"') WHERE tenant = 'acme'"),
           "tier2_findings row tfind_"),
    Attack("side table: agents", "an agent claimed for acme outside the log",
           _sql("INSERT INTO agents(tenant, agent_id, first_seen, seq) VALUES ('acme', 'agent-x', 1, 0)"),
           "agents row 'agent-x'"),
    Attack("side table: api_keys (mint)", "an API key inserted by hand", _mint_key, "api_keys row key_evil"),
    Attack("side table: api_keys (scopes)", "a read-only key widened to *",
           _sql("UPDATE api_keys SET scopes = '*' WHERE tenant = 'acme'"), "api_keys row key_"),
    Attack("side table: trace_configs", "an agent's config switched off",
           _sql("UPDATE trace_configs SET body = replace(body, '\"enabled\":true', '\"enabled\":false') "
                "WHERE tenant = 'acme'"), "trace_configs row for agent 'agent-9'"),
    Attack("side table: trace_rule_packs", "a pack version added by hand",
           _sql("INSERT INTO trace_rule_packs SELECT tenant, pack_id, '9.9.9', id, spec, etag, jurisdiction, "
                "legal_status, created_at + 1 FROM trace_rule_packs WHERE tenant = 'acme'"),
           "trace_rule_packs row acme_pii@9.9.9"),
    Attack("rollup edited", "an exposure rollup cell changed (FAIL count - 1)",
           _sql("UPDATE rollup_verdicts SET n = n - 1 WHERE tenant = 'acme' AND verdict = 'FAIL' "
                "AND rowid = (SELECT min(rowid) FROM rollup_verdicts WHERE tenant = 'acme' AND verdict = 'FAIL')"),
           "exposure rollup differs from the signed records"),
]


# ------------------------------------------------------------------------------------------------ running


@dataclass
class Outcome:
    attack: str
    exit_code: int
    caught: bool
    names_record: bool
    message: str
    reads: list[tuple[str, int]] = field(default_factory=list)


def run_cli(args: list[str]) -> tuple[int, str]:
    from typer.testing import CliRunner

    from trace_engine.cli import app

    r = CliRunner().invoke(app, args)
    out = r.stdout + (r.stderr if r.stderr_bytes is not None else "")
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        out += f"\nTRACEBACK {type(r.exception).__name__}: {r.exception}"
        return 99, out
    return r.exit_code, out


def run(attack: Attack, base: Scenario, work: Path) -> Outcome:
    s = copy(base, work)
    attack.apply(s)
    args = ["verify", "--db", str(s.db)]
    if not attack.no_pubkey:
        args += ["--pubkey", str(s.pubkey)]
    if attack.witness:
        args += ["--checkpoint", str(s.witness)]
    code, out = run_cli(args)
    want = attack.names.format(fail_seq=s.fail_seq, fail_call=s.fail_call)
    lines = [ln for ln in out.splitlines() if ln.startswith("TAMPERED")]
    first = next((ln for ln in lines if want in ln), lines[0] if lines else out.strip().splitlines()[-1:] or [""])
    reads = []
    for cmd in attack.reads:
        rc, _ = run_cli([c.format(fail_call=s.fail_call) for c in cmd] + ["--db", str(s.db)])
        reads.append((cmd[0], rc))
    return Outcome(attack.name, code, code == 1, want in out, first if isinstance(first, str) else first[0], reads)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", choices=("text", "json"), default="text")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = build(Path(tmp) / "base")
        code, _ = run_cli(["verify", "--db", str(base.db), "--pubkey", str(base.pubkey), "--checkpoint", str(base.witness)])
        assert code == 0, "the untouched scenario must verify"
        outcomes = [run(a, base, Path(tmp) / f"a{i}") for i, a in enumerate(ATTACKS)]
    caught = sum(o.caught and o.names_record for o in outcomes)
    if args.format == "json":
        print(json.dumps({"attacks": len(outcomes), "caught": caught, "outcomes": [o.__dict__ for o in outcomes]}, indent=2))
        return
    print(f"{'attack':40} {'exit':>4}  {'caught':6}  {'reads':14}  message")
    for o in outcomes:
        reads = ",".join(f"{c}={rc}" for c, rc in o.reads) or "-"
        ok = "yes" if o.caught and o.names_record else "NO"
        print(f"{o.attack:40} {o.exit_code:>4}  {ok:6}  {reads:14}  {o.message[:150]}")
    print(f"\n{caught}/{len(outcomes)} attacks caught with exit 1 and a message naming the record")


if __name__ == "__main__":
    main()
