"""Decision records: the hash chain verifies; tampering with a stored row (its outcomes, its facts, a removed
row) is found by `safetyrules audit --verify`, which names the first bad decision; `safetyrules replay`
confirms a stored decision's outcomes and reports a difference."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safetyrules.api import bundled_example_path, bundled_policy_path, load_policy
from safetyrules.cli import cli
from safetyrules.service.bundle import build_bundle, policy_digest, short_version
from safetyrules.service.records import (
    GENESIS,
    NewDecision,
    PolicyRef,
    RecordsError,
    open_records,
    outcomes_of,
    sha256_hex,
)

AS_OF = "2022-12-31"
TOWN: list[dict[str, Any]] = [json.loads(line) for line in
                              bundled_example_path().read_text(encoding="utf-8").splitlines()[:12]]


def _ref() -> PolicyRef:
    digest = policy_digest(bundled_policy_path())
    return PolicyRef("annex4", short_version(digest), digest)


def _decide(db: Path, records: list[dict[str, Any]], params: dict[str, Any] | None = None) -> list[int]:
    """Decide as the service does: evaluate, then append one decision per record."""
    policy = load_policy()
    log = open_records(f"sqlite:///{db}")
    items = [NewDecision(_ref(), params or {}, AS_OF, r["id"], r,
                         outcomes_of(policy.evaluate(r, AS_OF, params=params, explain=False))) for r in records]
    ids = [d.id for d in log.append(items)]
    log.close()
    return ids


def _tamper(db: Path, sql: str, *args: Any) -> None:
    """What someone with write access to the file can do: drop the append-only triggers and change a row."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER decisions_no_update")
    conn.execute("DROP TRIGGER decisions_no_delete")
    conn.execute(sql, args)
    conn.commit()
    conn.close()


def test_the_chain_verifies(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    assert _decide(db, TOWN[:5]) == [1, 2, 3, 4, 5]
    assert _decide(db, TOWN[5:8]) == [6, 7, 8]
    log = open_records(f"sqlite:///{db}", create=False)
    assert log.verify_chain() == (True, None)
    assert log.count() == 8
    first, second = log.get(1), log.get(2)
    assert first is not None and second is not None
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert first.hash == sha256_hex(first.body()) and first.intact()
    assert first.facts == TOWN[0] and first.facts_sha256 == sha256_hex(TOWN[0])
    assert log.head() == (8, log.get(8).hash)  # type: ignore[union-attr]
    assert log.get(99) is None
    result = CliRunner().invoke(cli, ["audit", "--verify", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    assert "chain ok: 8 decisions" in result.output
    summary = CliRunner().invoke(cli, ["audit", "--db", f"sqlite:///{db}"])
    assert summary.exit_code == 0 and summary.output.startswith("8 decisions; head: #8 ")


def test_rows_cannot_be_changed_through_sql(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    _decide(db, TOWN[:2])
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE decisions SET outcomes = '[]' WHERE id = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM decisions WHERE id = 2")
    conn.close()


def test_tampered_outcomes_are_found_by_audit(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    _decide(db, TOWN[:6])
    conn = sqlite3.connect(db)
    outcomes = json.loads(conn.execute("SELECT outcomes FROM decisions WHERE id = 4").fetchone()[0])
    conn.close()
    violated = next(o for o in outcomes if o["outcome"] == "violated")
    violated["outcome"] = "satisfied"
    _tamper(db, "UPDATE decisions SET outcomes = ? WHERE id = 4", json.dumps(outcomes, ensure_ascii=False))
    assert open_records(f"sqlite:///{db}").verify_chain() == (False, 4)
    result = CliRunner().invoke(cli, ["audit", "--verify", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 1
    assert "chain broken at decision 4" in result.output and "altered" in result.output
    replay = CliRunner().invoke(cli, ["replay", "4", "--db", f"sqlite:///{db}"])
    assert replay.exit_code == 1 and "altered" in replay.output


@pytest.mark.parametrize(("sql", "bad"), [
    ("UPDATE decisions SET facts = replace(facts, '\"id\"', '\"id2\"') WHERE id = 2", 2),
    ("UPDATE decisions SET as_of = '2021-12-31' WHERE id = 3", 3),
    ("DELETE FROM decisions WHERE id = 3", 4),  # the next one no longer follows
    ("UPDATE decisions SET outcomes = 'not json' WHERE id = 5", 5),
])
def test_other_tampering_is_found(tmp_path: Path, sql: str, bad: int) -> None:
    db = tmp_path / "d.db"
    _decide(db, TOWN[:6])
    _tamper(db, sql)
    result = CliRunner().invoke(cli, ["audit", "--verify", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 1
    assert f"chain broken at decision {bad}" in result.output


def test_replay_confirms_the_stored_outcomes(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    ids = _decide(db, TOWN[:3], params={"other_assessment_period": "2 years"})
    for decision_id in ids:
        result = CliRunner().invoke(cli, ["replay", str(decision_id), "--db", f"sqlite:///{db}"])
        assert result.exit_code == 0, result.output
        assert "identical outcomes" in result.output and "warning" not in result.output
    bundle = tmp_path / "annex4.tar.gz"
    build_bundle(bundled_policy_path(), bundle)
    result = CliRunner().invoke(cli, ["replay", "1", "--db", f"sqlite:///{db}", "--policy", str(bundle)])
    assert result.exit_code == 0, result.output


def test_replay_reports_different_outcomes(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    record = TOWN[0]
    outcomes = outcomes_of(load_policy().evaluate(record, AS_OF, explain=False))
    changed = next(o for o in outcomes if o["outcome"] == "satisfied")
    changed["outcome"] = "violated"  # stored (correctly hashed) by a policy that decided otherwise
    log = open_records(f"sqlite:///{db}")
    log.append([NewDecision(PolicyRef("annex4", "old", "sha256:" + "1" * 64), {}, AS_OF, record["id"], record,
                            outcomes)])
    result = CliRunner().invoke(cli, ["replay", "1", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 1
    assert f"{changed['rule']}: outcome: stored \"violated\", now \"satisfied\"" in result.output
    assert "warning" in result.output  # the digest is not the bundled policy's


def test_replay_and_audit_refusals(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    for args in (["replay", "1", "--db", missing], ["audit", "--verify", "--db", missing],
                 ["audit", "--db", "mysql://x/y"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    db = tmp_path / "d.db"
    _decide(db, TOWN[:1])
    result = CliRunner().invoke(cli, ["replay", "7", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 3 and "no decision 7" in result.output
    assert not (tmp_path / "none.db").exists()  # audit and replay never create a database


def test_database_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert open_records("sqlite:///rel.db").count() == 0 and (tmp_path / "rel.db").exists()
    assert open_records(f"sqlite:///{tmp_path / 'abs.db'}").count() == 0
    assert open_records("bare.db").count() == 0 and (tmp_path / "bare.db").exists()
    assert open_records("sqlite:///:memory:").verify_chain() == (True, None)
    with pytest.raises(RecordsError, match="unknown database URL"):
        open_records("mysql://localhost/x")
    with pytest.raises(RecordsError, match="sqlite:///"):
        open_records("sqlite://")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        with pytest.raises(RecordsError, match="psycopg"):
            open_records("postgresql://localhost/decisions")


@pytest.mark.skipif(not os.environ.get("SAFETYRULES_TEST_POSTGRES"),
                    reason="set SAFETYRULES_TEST_POSTGRES=postgresql://… to test PostgreSQL")
def test_postgresql_records() -> None:
    url = os.environ["SAFETYRULES_TEST_POSTGRES"]
    log = open_records(url)
    before = log.count()
    stored = log.append([NewDecision(_ref(), {}, AS_OF, r["id"], r,
                                     outcomes_of(load_policy().evaluate(r, AS_OF, explain=False))) for r in TOWN[:3]])
    assert [d.id for d in stored] == [before + 1, before + 2, before + 3]
    assert log.get(before + 2) == stored[1]
    assert log.verify_chain() == (True, None)
    result = CliRunner().invoke(cli, ["replay", str(before + 3), "--db", url])
    assert result.exit_code == 0, result.output
