"""The as-of view filters only the fields a policy can read: a policy of a few rules does not pay for the
record's other dated lists, and its results are those of the view over every field."""

from __future__ import annotations

import json
from pathlib import Path

from safetyrules import load_policy
from safetyrules.api import bundled_example_path, fact_record

ROOT = Path(__file__).resolve().parents[2]
TOWN = [fact_record(json.loads(line)) for line in bundled_example_path().read_text(encoding="utf-8").splitlines()
        if line.strip()][:120]
DAYS = ["2020-06-30", "2021-12-31", "2022-06-30", "2023-01-01"]


def test_a_small_policy_views_only_its_fields_with_the_same_results() -> None:
    policy = load_policy(ROOT / "benchmarks" / "peer_workload.policy")
    for compiled in (True, False):
        engine = policy.engine(compiled=compiled)
        viewed = {path[0][0] for path, _ in engine._as_of_rules}
        assert "reports" not in viewed and "staff" not in viewed  # read by no rule of the workload
        assert {"risk_assessments", "hazards", "changes"} <= viewed
        narrow = [[r.to_json() for r in policy.evaluate_record(rec, day, engine="compiled" if compiled
                                                               else "reference").results]
                  for rec in TOWN for day in DAYS]
        engine._as_of_rules = policy.program.contract.as_of  # every field filtered, as before
        full = [[r.to_json() for r in policy.evaluate_record(rec, day, engine="compiled" if compiled
                                                             else "reference").results]
                for rec in TOWN for day in DAYS]
        assert narrow == full


def test_the_seed_policy_views_every_dated_field() -> None:
    policy = load_policy()
    assert policy.engine()._as_of_rules == policy.program.contract.as_of
