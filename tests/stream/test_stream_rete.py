"""The durable-rules backend: which rules it runs, that it gives the reference engine's results, and that it
stays clear of durable-rules' sharp edges. Every test that calls durable-rules runs under a timeout."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetyrules import load_policy_text
from safetyrules.api import Policy
from safetyrules.engine.results import RuleResult
from safetyrules.stream.events import build_records
from safetyrules.stream.rete import describe, path_reasons, paths

from .conftest import needs_durable, reference_outcomes
from .strategies import END, START, history

RETE_BY_BRIEF = {"major_hazard_reported", "reassessment_after_major_change", "accident_concealed",
                 "accident_late_report"}

SHAPES = """
policy shapes {
  title zh "形状" en "Shapes"
  document "T"
  period 2020-01-01 .. 2030-12-31
  catalogue {"a", "b", "c", "d", "e", "f"}
}

param window: duration {
  default 2 days
  source "x" "y"
}

obligation in_set_window {
  implements "a"
  title zh "a" en "a"
  source "x" "y"
  each h in hazards where h.major and h.cause in {"illegal_command", "management"} and not h.cause == "other"
  due within window after h.found_on
      done h.reported_on
}

obligation late_act_join {
  implements "b"
  title zh "b" en "b"
  source "x" "y"
  effective 2021-09-01
  each c in changes where c.kind != "rules" and c.authorized is not null
  due within 10 days after c.date
      done min(a in risk_assessments where a.date >= c.date: a.date)
}

trigger instant_compare {
  implements "c"
  title zh "c" en "c"
  source "x" "y"
  each a in accidents where a.reported_at is not null
      and a.reported_at >= coalesce(a.principal_informed_at, a.occurred_at) + 2 hours
  on date(a.occurred_at)
  listing 6 months
  effect zh "e" en "e"
}

trigger not_in_set {
  implements "d"
  title zh "d" en "d"
  source "x" "y"
  each f in inspection_findings where f.kind not in {"other"} and f.date <= as_of - window
  on f.date
  listing 1 year
  effect zh "e" en "e"
}

obligation has_require {
  implements "e"
  title zh "e" en "e"
  source "x" "y"
  each h in hazards where h.major
  require h.cause is not null
  due continuous
}

obligation or_filter {
  implements "f"
  title zh "f" en "f"
  source "x" "y"
  each h in hazards where h.major or h.cause == "management"
  due within 1 day after h.found_on
      done h.reported_on
}
"""


@pytest.fixture(scope="module")
def shapes() -> Policy:
    return load_policy_text(SHAPES, "shapes.policy")


def test_paths_of_the_seed_policy(policy: Policy) -> None:
    found = paths(policy)
    assert list(found) == [r.name for r in policy.rules()]
    assert {name for name, path in found.items() if path == "rete"} >= RETE_BY_BRIEF
    assert found["enforcement_candidate"] == "reference"  # a rule over rules
    assert found["dual_report"] == "reference"  # periodic: no event to correlate
    reasons = path_reasons(policy)
    assert set(reasons) == {n for n, p in found.items() if p == "reference"}
    assert all(row["shape"] for row in describe(policy) if row["path"] == "rete")


def test_paths_of_each_shape(shapes: Policy) -> None:
    assert paths(shapes) == {"in_set_window": "rete", "late_act_join": "rete", "instant_compare": "rete",
                             "not_in_set": "rete", "has_require": "reference", "or_filter": "reference"}
    shape = {row["rule"]: row["shape"] for row in describe(shapes)}
    assert shape["late_act_join"] == "join" and shape["in_set_window"] == "window"
    assert "`require`" in path_reasons(shapes)["has_require"]


def _same(rete: RuleResult, ref: RuleResult) -> None:
    keep = ("outcome", "due_on", "days_overdue", "days_remaining", "delay_days", "last_event_on", "listed_until",
            "reason", "params", "events", "rules_used", "title", "citations", "severity", "effect", "kind",
            "implements", "enterprise", "as_of")
    for name in keep:
        assert getattr(rete, name) == getattr(ref, name), f"{ref.rule}.{name}"


def _compare(policy: Policy, records: dict[str, dict[str, Any]], days: list[dt.date]) -> int:
    from safetyrules.stream.rete import ReteEvaluator

    evaluator = ReteEvaluator(policy)
    compared = 0
    for record in records.values():
        for day in days:
            reference = {r.rule: r for r in policy.evaluate_record(record, day).results}
            for name, result in evaluator.evaluate(record, day, evaluator.rules).items():
                if result is not None:
                    _same(result, reference[name])
                    compared += 1
    return compared


@needs_durable
@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=history(max_events=20), days=st.lists(st.dates(START, END + dt.timedelta(days=500)), min_size=1,
                                                    max_size=3))
def test_rete_results_equal_the_reference_results(policy: Policy, shapes: Policy, events: list[dict[str, Any]],
                                                  days: list[dt.date]) -> None:
    records = build_records(events)
    _compare(policy, records, days)
    _compare(shapes, records, days)


@needs_durable
@pytest.mark.timeout(60)
def test_rete_runs_on_a_town_and_falls_back_on_unknowns(policy: Policy) -> None:
    from safetyrules.stream.rete import ReteEvaluator
    from safetyrules.synth import generate_events

    records = build_records(generate_events(30, seed=3))
    assert _compare(policy, records, [dt.date(2022, 3, 1), dt.date(2022, 12, 31)]) > 300
    evaluator = ReteEvaluator(policy)
    day = dt.date(2022, 6, 1)
    unknown = evaluator.evaluate({"id": "X"}, day, ["major_hazard_reported", "accident_late_report"])
    assert unknown == {"major_hazard_reported": None, "accident_late_report": None}  # lists unknown
    partial = {"id": "X", "hazards": [{"id": "H1", "found_on": dt.date(2022, 5, 1), "reported_on": None}]}
    assert evaluator.evaluate(partial, day, ["major_hazard_reported"]) == {"major_hazard_reported": None}
    known = {"id": "X", "hazards": [{"id": "H1", "major": True, "found_on": dt.date(2022, 5, 1), "reported_on": None}]}
    result = evaluator.evaluate(known, day, ["major_hazard_reported"])["major_hazard_reported"]
    assert result is not None and result.outcome == "violated" and result.due_on == dt.date(2022, 5, 2)


@needs_durable
@pytest.mark.timeout(60)
def test_sessions_are_deleted_and_no_threads_are_started(policy: Policy) -> None:
    from safetyrules.stream import rete

    evaluator = rete.ReteEvaluator(policy)
    registered = set(rete._REGISTERED)
    rete.ReteEvaluator(policy)  # the same policy shares its rulesets (they cannot be removed)
    assert registered == rete._REGISTERED
    record = {"id": "X", "hazards": [{"id": "H1", "major": True, "found_on": dt.date(2022, 5, 1),
                                      "reported_on": dt.date(2022, 5, 3), "cause": "illegal_command"}],
              "changes": [], "risk_assessments": [], "accidents": [], "inspection_findings": []}
    threads = threading.active_count()
    for k in range(1100):  # more than the 1,024 live sessions a ruleset allows
        got = evaluator.evaluate(record, dt.date(2022, 5, 1) + dt.timedelta(days=k % 400), evaluator.rules)
        assert all(r is not None for r in got.values())
    assert threading.active_count() == threads
    assert not any(isinstance(t, threading.Timer) for t in threading.enumerate())


@needs_durable
@pytest.mark.timeout(60)
def test_one_lock_serialises_threads(policy: Policy) -> None:
    from safetyrules.stream.rete import ReteEvaluator

    evaluator = ReteEvaluator(policy)
    record = {"id": "X", "accidents": [{"id": "A1", "occurred_at": dt.datetime(2022, 3, 1, 9, tzinfo=dt.UTC),
                                        "reported_at": dt.datetime(2022, 3, 1, 11, tzinfo=dt.UTC),
                                        "report_false": False}]}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(100):
                got = evaluator.evaluate(record, dt.date(2022, 3, 2), ["accident_late_report"])
                assert got["accident_late_report"] is not None
                assert got["accident_late_report"].outcome == "triggered"
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=50)
    assert not errors


@pytest.mark.timeout(60)
def test_the_core_imports_without_durable_rules() -> None:
    code = (
        "import sys; sys.modules['durable'] = None; sys.modules['durable.engine'] = None\n"
        "from safetyrules import load_policy\n"
        "from safetyrules.stream import Monitor, paths\n"
        "from safetyrules.stream.rete import durable_available\n"
        "assert not durable_available()\n"
        "policy = load_policy()\n"
        "assert paths(policy)['major_hazard_reported'] == 'rete'\n"
        "Monitor(policy).post({'enterprise': 'E1', 'type': 'report_filed', 'timestamp': '2022-01-01T09:00:00+08:00',"
        " 'payload': {'kind': 'risk_list'}})\n"
        "try:\n"
        "    Monitor(policy, backend='rete')\n"
        "except RuntimeError as e:\n"
        "    assert 'durable-rules' in str(e)\n"
        "else:\n"
        "    raise AssertionError('the rete backend started without durable-rules')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr


@needs_durable
@pytest.mark.timeout(60)
def test_a_failing_durable_call_falls_back_to_the_reference_engine(policy: Policy,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from safetyrules.stream import rete
    from safetyrules.stream.monitor import Monitor

    def broken(ruleset: str, facts: list[dict[str, Any]], now: int) -> list[tuple[Any, ...]]:
        raise RuntimeError("segfault averted")

    monkeypatch.setattr(rete, "_run", broken)
    monitor = Monitor(policy, backend="rete")
    event = {"enterprise": "E1", "type": "enterprise_updated", "timestamp": "2022-01-03T09:00:00+08:00",
             "payload": {"industry": "construction", "accidents": [], "changes": [], "inspection_findings": [],
                         "risk_assessments": [], "hazards": [{"id": "H1", "major": True, "found_on": "2021-12-01",
                                                              "reported_on": None, "cause": "illegal_command"}]}}
    monitor.post(event)
    assert monitor._rete.errors == 0
    monitor.flush()
    assert monitor._rete.errors > 0 and "segfault averted" in (monitor._rete.last_error or "")
    assert monitor.stats.rete_fallbacks > 0
    assert monitor.outcomes() == reference_outcomes(policy, [event], dt.date(2022, 1, 3))


NULL_CONDITIONS = ['h.cause != "other"', 'not h.cause == "other"', 'not h.cause != "other"', 'h.cause == "other"',
                   'h.cause not in {"other", "management"}', 'not (h.cause in {"other"})', 'h.cause in {"other"}']


@needs_durable
@pytest.mark.parametrize("condition", NULL_CONDITIONS)
def test_a_null_enumeration_compares_as_the_reference_says(condition: str) -> None:
    # `==` and `!=` are both false with null (docs/semantics.md), so `not x == "a"` is true and `x != "a"` false
    from safetyrules import load_policy_text
    from safetyrules.stream.rete import ReteEvaluator

    policy = load_policy_text('policy p { title zh "题" en "t" }\n'
                              'obligation o { implements "x" title zh "题" en "t" source "一" "原文" '
                              f'each h in hazards where {condition} due within 1 day after h.found_on '
                              'done h.reported_on }\n')
    evaluator = ReteEvaluator(policy)
    assert "o" in evaluator.rules  # compiled for the Rete network, not handed back to the reference engine
    for cause in (None, "other", "management", "equipment_failure"):
        record = {"id": "E1", "hazards": [{"id": "H1", "found_on": dt.date(2021, 3, 1), "cause": cause,
                                           "reported_on": None}]}
        reference = {r.rule: r for r in policy.evaluate_record(record, dt.date(2021, 6, 30)).results}
        result = evaluator.evaluate(record, dt.date(2021, 6, 30), evaluator.rules)["o"]
        assert result is not None
        _same(result, reference["o"])
