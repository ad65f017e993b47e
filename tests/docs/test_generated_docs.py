"""docs/clauses.md is generated from the seed policy and must stay current."""

from __future__ import annotations

from pathlib import Path

from safetyrules.api import load_policy
from safetyrules.cli.inspect import clause_table

ROOT = Path(__file__).resolve().parents[2]


def test_clause_table_is_current() -> None:
    expected = clause_table(load_policy(ROOT / "policies" / "annex4"))
    actual = (ROOT / "docs" / "clauses.md").read_text(encoding="utf-8")
    assert actual == expected, "regenerate: safetyrules inspect policies/annex4 --format markdown > docs/clauses.md"


def test_every_catalogue_id_of_the_guide_is_implemented() -> None:
    policy = load_policy(ROOT / "policies" / "annex4")
    ids = {cid for r in policy.rules() for cid in r.implements}
    expected = {
        "1.1-a", "1.1-b", "1.2-a", "1.2-b", "1.3-a", "1.3-b", "1.3-c", "2.1-a", "2.1-b", "2.2-a", "2.2-b",
        "2.2-c", "2.2-d", "2.3-a", "2.3-b", "2.3-c", "2.4-a", "3.1-a", "3.1-b", "3.1-c", "3.1-d", "3.2-a",
        "3.3-a", "3.3-b", "3.3-c", "4.1-a", "4.1-b", "4.1-c", "4.2-a", "4.2-b", "4.2-c", "5.1-a", "5.4-a",
        "5.2-t1", "5.2-t2", "5.2-t3", "5.2-t4", "5.2-t5", "5.2-t6", "5.2-t7", "enforcement",
    }
    assert ids == expected
