"""A policy test case's `params` are read as written, by the reader of what-if scenarios and `--param`.

`030` is thirty (YAML 1.1 reads it as octal 24), `yes` is not `true`, `[a, b]` and `{a, b}` are sets, a
duration or a date is its text; a value that does not fit is a failure at the line of that value.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from safetyrules import load_policy
from safetyrules.api import Policy
from safetyrules.cli import cli
from safetyrules.tester import CaseResult, load_cases, run_case

RETAIL = ("{id: T1, industry: retail, employee_count: 25, "
          "management: {safety_body: false, full_time_safety_staff: 0, part_time_safety_staff: 1}}")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _run(policy: Policy, tmp_path: Path, body: str) -> list[CaseResult]:
    path = tmp_path / "cases.test.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return [run_case(policy, case) for case in load_cases(path)]


def test_a_list_and_a_set_of_codes(policy: Policy, tmp_path: Path) -> None:
    """A small retail firm has part-time safety staff only: satisfied by default, violated once retail is high-risk."""
    results = _run(policy, tmp_path, f"""\
        cases:
          - as_of: 2022-06-30
            facts: {RETAIL}
            expect: {{safety_management_staffing: satisfied}}
          - as_of: 2022-06-30
            facts: {RETAIL}
            params: {{high_risk_industries: [retail, mining]}}
            expect: {{safety_management_staffing: violated}}
          - as_of: 2022-06-30
            facts: {RETAIL}
            params: {{high_risk_industries: {{retail, mining}}}}
            expect: {{safety_management_staffing: violated}}
          - as_of: 2022-06-30
            facts: {RETAIL}
            params: {{high_risk_industries: []}}
            expect: {{safety_management_staffing: satisfied}}
        """)
    assert [r.failures for r in results] == [[], [], [], []]
    assert results[1].case.params == {"high_risk_industries": ["retail", "mining"]}


def test_a_number_is_read_as_written(policy: Policy, tmp_path: Path) -> None:
    """`030` is thirty, as on the command line: 25 employees are not above it (YAML 1.1 would read 24)."""
    results = _run(policy, tmp_path, f"""\
        cases:
          - as_of: 2022-06-30
            facts: {RETAIL}
            params: {{safety_staff_threshold: 030}}
            expect: {{safety_management_staffing: satisfied}}
          - as_of: 2022-06-30
            facts: {RETAIL}
            params: {{safety_staff_threshold: 24}}
            expect: {{safety_management_staffing: violated}}
        """)
    assert results[0].case.params == {"safety_staff_threshold": "030"}
    assert [r.failures for r in results] == [[], []]


def test_a_duration_and_a_date(policy: Policy, tmp_path: Path) -> None:
    """The text of a duration and of a date, read by the param reader: a change of either moves a due day."""
    facts = ("{id: T1, industry: construction, established_on: 2010-01-01, "
             "risk_assessments: [{date: 2020-11-03, comprehensive: true}]}")
    results = _run(policy, tmp_path, f"""\
        cases:
          - as_of: 2022-06-30
            facts: {facts}
            params: {{high_risk_assessment_period: 2 years}}
            expect: {{risk_assessment_high_risk: {{outcome: satisfied, due_on: 2022-11-03}}}}
          - as_of: 2022-06-30
            facts: {facts}
            params: {{high_risk_assessment_period: "18 months"}}
            expect: {{risk_assessment_high_risk: {{outcome: violated, due_on: 2022-05-03}}}}
          - as_of: 2021-04-01
            facts: {{id: T2, established_on: 2010-01-01, reports: []}}
            params: {{periodic_first_due_anchor: 2021-01-01}}
            expect: {{3.3-c: {{outcome: pending, due_on: 2021-04-01, days_remaining: 0}}}}
        """)
    assert results[2].case.params == {"periodic_first_due_anchor": "2021-01-01"}
    assert [r.failures for r in results] == [[], [], []]


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("high_risk_assessment_period", "2 yeers", "duration"),
    ("external_audit_required", "yes", "true"),              # YAML 1.1's `yes` is not a param's true
    ("periodic_first_due_anchor", "2021-02-30", "date"),     # not a day: YAML would not even load it
    ("high_risk_industries", "[retail, farming]", "farming"),
    ("high_risk_industry", "[retail]", "high_risk_industries"),  # no such param: did you mean
])
def test_a_bad_value_fails_at_its_line(policy: Policy, tmp_path: Path, name: str, value: str,
                                       expected: str) -> None:
    results = _run(policy, tmp_path, f"""\
        cases:
          - name: first
            as_of: 2022-06-30
            facts: {{id: T1}}
            expect: {{}}
          - name: second
            as_of: 2022-06-30
            facts: {{id: T1}}
            params:
              new_entrant_grace: 30 days
              {name}: {value}
            expect: {{}}
        """)
    assert results[0].passed
    [failure] = results[1].failures
    assert failure.startswith(f"{tmp_path / 'cases.test.yaml'}:11: params.{name}: "), failure
    assert expected in failure


def test_the_command_reports_the_line(tmp_path: Path) -> None:
    policy = Path(__file__).resolve().parents[1] / "policies" / "annex4"
    path = tmp_path / "one.test.yaml"
    path.write_text(textwrap.dedent("""\
        cases:
          - as_of: 2022-06-30
            facts: {id: T1, industry: retail}
            params:
              high_risk_industries: [retail, mining]
              safety_staff_threshold: many
            expect: {safety_management_staffing: violated}
        """), encoding="utf-8")
    result = CliRunner().invoke(cli, ["test", str(path), "--policy", str(policy)])
    assert result.exit_code == 1, result.output
    assert f"{path}:6: params.safety_staff_threshold:" in result.output.replace("\n", "")
