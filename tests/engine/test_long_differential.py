"""The quick run of the long differential run (benchmarks/differential_long.py; docs/semantics.md, "Long
differential run"): the reference engine against the columnar engine and against the monitor's rete backend
on generated enterprises and event histories, with no disagreement — and with a population that really holds
nulls and absent values of every field type, null and absent enumeration codes and tied list dates, so that
the agreement is not vacuous. The full run (100,000 enterprises, columnar pair) is marked slow.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from safetyrules import load_policy
from safetyrules.api import Policy
from safetyrules.stream.rete import durable_available

pytest.importorskip("polars")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "differential_long.py"
QUICK = 300
SEED = 2024


def _script() -> ModuleType:
    name = "differential_long"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


dl = _script()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


def _assert_rough(population: Any) -> None:
    """Every field type of the contract null somewhere and absent somewhere; enumerations included; ties."""
    missing = [f"{state} {kind}" for kind in dl.KINDS for state in ("null", "absent")
               if population[f"{state} {kind}"] == 0]
    assert not missing, missing
    assert population["null enum"] > 0 and population["absent enum"] > 0
    assert population["tied list dates"] > 0


def test_the_population_is_seeded_and_rough() -> None:
    first = list(dl.generate_population(40, SEED))
    assert first == list(dl.generate_population(40, SEED))  # the same arguments, the same records
    assert first[:10] == list(dl.generate_population(10, SEED))  # a shorter run is a prefix
    assert len({r["id"] for r in first}) == 40
    population = dl.coverage(dl.generate_population(QUICK, SEED))
    _assert_rough(population)
    # the share of records carrying each kind of roughness is not marginal
    assert population["null enum"] > QUICK // 10 and population["tied list dates"] > QUICK // 3


@pytest.mark.timeout(300)
def test_reference_and_columnar_agree(policy: Policy) -> None:
    report = dl.run_columnar(policy, QUICK, SEED, chunk=150)
    assert report.examples == [] and report.disagreements == 0
    assert report.enterprises == QUICK
    assert report.evaluations == QUICK * len(dl.AS_OF) * len(policy.rules())
    _assert_rough(report.population)


@pytest.mark.timeout(300)
@pytest.mark.skipif(not durable_available(), reason="durable-rules is not installed")
def test_reference_and_rete_agree(policy: Policy) -> None:
    report = dl.run_rete(policy, QUICK, SEED, chunk=150)
    assert report.examples == [] and report.disagreements == 0
    assert report.enterprises == QUICK
    assert report.evaluations > QUICK * len(policy.rules())
    assert report.notes["rete_evaluations"] > 0  # durable-rules ran rules, not only the fallback
    _assert_rough(report.population)
    events = report.population
    assert events["null enum in events"] > 0 and events["absent enum in events"] > 0
    assert report.notes["duplicate_events"] > 0


@pytest.mark.timeout(300)
def test_a_disagreement_fails_the_run_and_shows_the_record(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The run is not blind: a columnar row that differs is counted, printed with its record, exit status 1."""
    real = dl.row_problems

    def off_by_one(result: Any, row: dict[str, Any]) -> list[str]:
        if result.rule == "internal_assessment":
            row = {**row, "outcome": "mangled"}
        return list(real(result, row))

    monkeypatch.setattr(dl, "row_problems", off_by_one)
    assert dl.main(["--enterprises", "20", "--pairs", "reference-columnar", "--as-of", "2022-06-30"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREEMENT [reference-columnar]" in out and '"record": {' in out
    assert '"disagreements": 20' in out


@pytest.mark.slow
@pytest.mark.timeout(3 * 3600)
def test_the_long_run_reference_columnar(policy: Policy) -> None:
    """The documented long run of the columnar pair: 100,000 enterprises, three days (about 15 minutes)."""
    report = dl.run_columnar(policy, 100_000, SEED)
    assert report.examples == [] and report.disagreements == 0
    assert report.enterprises == 100_000
    _assert_rough(report.population)
