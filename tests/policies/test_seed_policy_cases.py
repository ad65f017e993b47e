"""Every YAML case under policies/ runs as a pytest test, and the suite covers every rule of the seed policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from safetyrules.api import load_policy
from safetyrules.tester import find_test_files, load_cases, record_coverage, run_case, start_coverage

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "annex4"
CASES = [case for f in find_test_files([POLICY]) for case in load_cases(f)]


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy(POLICY)


@pytest.mark.parametrize("case", CASES, ids=[f"{Path(c.file).name}:{c.line}" for c in CASES])
def test_case(policy, case) -> None:  # type: ignore[no-untyped-def]
    result = run_case(policy, case)
    assert result.passed, "\n".join(result.failures)


def test_every_rule_is_covered(policy) -> None:  # type: ignore[no-untyped-def]
    cov = start_coverage(policy)
    for case in CASES:
        record_coverage(cov, run_case(policy, case))
    uncovered = sorted(name for name, outcomes in cov.rules.items() if not outcomes)
    assert not uncovered, f"rules no policy test asserts: {uncovered}"
