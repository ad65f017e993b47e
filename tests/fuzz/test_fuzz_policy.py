"""Fuzzing the policy front end *and* the engine: mutants of the seed policy that `check` accepts must evaluate
without an exception on generated enterprises at any as-of date; mutants it refuses must be refused with
diagnostics, never an exception.

Mutations are chosen to keep many mutants valid (so that evaluation is reached): numbers replaced by small,
large and huge ones, duration units swapped, dates moved to the calendar's ends, comparison operators swapped,
`and`/`or` swapped, quantifiers swapped, a name replaced by another name of the same file, a token deleted.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from columnar.strategies import enterprise
from safetyrules.api import Policy
from safetyrules.check.pipeline import compile_sources
from safetyrules.errors import SafetyRulesError

from .budget import LONG_EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "policies" / "annex4").glob("*.policy"))}
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\d{4}-\d{2}-\d{2}|\d+|[A-Za-z_][A-Za-z_0-9]*|[<>!=]=|\.\.|\S')
NUMBERS = ["0", "1", "2", "7", "31", "100", "366", "9999", "10000", "99999", "4294967296", "9223372036854775808"]
UNITS = ["day", "days", "month", "months", "year", "years", "hours"]
DATES = ["0001-01-01", "0001-01-02", "1970-01-01", "2020-02-29", "9999-12-30", "9999-12-31"]
SWAPS = {"<": ["<=", ">", "=="], "<=": ["<", ">="], ">": [">=", "<"], ">=": [">", "<="], "==": ["!="],
         "!=": ["=="], "and": ["or"], "or": ["and"], "all": ["any"], "any": ["all"], "min": ["max"],
         "max": ["min"], "true": ["false"], "false": ["true"]}
MUTANT = settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=40)


@st.composite
def mutant(draw: st.DrawFn) -> dict[str, str]:
    """The seed policy with one to three of its tokens changed."""
    files = dict(SOURCES)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(files)))
        text = files[name]
        tokens = list(TOKEN.finditer(text))
        # mostly literals and operators, whose mutants often still check (and so reach evaluation)
        tame = [t for t in tokens if t.group() in SWAPS or t.group() in UNITS or t.group().isdigit()
                or re.fullmatch(r"\d{4}-\d{2}-\d{2}", t.group())]
        token = draw(st.sampled_from(tame if draw(st.integers(0, 4)) else tokens))
        word = token.group()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            new = draw(st.sampled_from(DATES))
        elif word.isdigit():
            new = draw(st.sampled_from(NUMBERS))
        elif word in UNITS:
            new = draw(st.sampled_from(UNITS))
        elif word in SWAPS:
            new = draw(st.sampled_from(SWAPS[word]))
        elif re.fullmatch(r"[a-z_][a-z_0-9]*", word):
            names = sorted({t.group() for t in tokens if re.fullmatch(r"[a-z_][a-z_0-9]*", t.group())})
            new = draw(st.sampled_from(names))
        else:
            new = draw(st.sampled_from(["", word + word]))
        files[name] = text[: token.start()] + new + text[token.end():]
    return files


def _evaluate_everywhere(policy: Policy, records: list[dict[str, object]], days: list[dt.date]) -> None:
    for record in records:
        for day in days:
            result = policy.evaluate(record, day, explain=True)
            assert len(result.results) == len(policy.checked.rules)
            for r in result.results:
                r.to_json()  # every result renders, messages and explanation included


def _check_mutant(files: dict[str, str], records: list[dict[str, object]], days: list[dt.date]) -> None:
    compilation = compile_sources(files)
    if compilation.errors:
        assert compilation.policy is None
        return
    try:
        policy = Policy(compilation)
    except SafetyRulesError:
        return
    _evaluate_everywhere(policy, records, days)


DAYS = st.lists(st.one_of(st.dates(), st.sampled_from([dt.date.min, dt.date.max, dt.date(2022, 6, 30)])),
                min_size=1, max_size=3)


@MUTANT
@given(mutant(), st.lists(enterprise("F"), min_size=1, max_size=2), DAYS)
def test_mutants_of_the_seed_policy_check_or_evaluate(files: dict[str, str], records: list[dict[str, object]],
                                                      days: list[dt.date]) -> None:
    _check_mutant(files, records, days)


@pytest.mark.slow
@settings(MUTANT, max_examples=LONG_EXAMPLES)
@given(mutant(), st.lists(enterprise("F"), min_size=1, max_size=3), DAYS)
def test_mutants_of_the_seed_policy_long_run(files: dict[str, str], records: list[dict[str, object]],
                                             days: list[dt.date]) -> None:
    _check_mutant(files, records, days)
