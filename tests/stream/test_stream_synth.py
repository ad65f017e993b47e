"""The generated town: deterministic, well-formed, realistic enough to measure with."""

from __future__ import annotations

import itertools
from collections import Counter

from safetyrules import load_policy
from safetyrules.facts.models import Enterprise
from safetyrules.stream.events import build_records, parse_event
from safetyrules.stream.monitor import Monitor
from safetyrules.synth import generate_events


def test_deterministic_and_well_formed() -> None:
    events = list(generate_events(12, seed=5))
    assert events == list(generate_events(12, seed=5))
    assert events != list(generate_events(12, seed=6))
    prepared = [parse_event(e) for e in events]  # every event is well formed
    stamps = [p.timestamp for p in prepared]
    assert stamps == sorted(stamps)  # in timestamp order by default
    types = Counter(e["type"] for e in events)
    assert types["clock"] == 365 and types["enterprise_updated"] >= 12
    assert types["report_filed"] > 12 * 15 and types["hazard_found"] > 0
    records = build_records(events)
    assert len(records) == 12
    monitor = Monitor(load_policy())
    monitor.replay(events)
    assert monitor.stats.rejected == monitor.stats.invalid == 0  # every follow-up finds what it follows
    first: dict[str, str] = {}
    for e in events:
        if e["type"] != "clock":
            first.setdefault(e["enterprise"], e["type"])
    assert set(first.values()) == {"enterprise_updated"}  # each firm is registered before anything happens
    for record in records.values():
        Enterprise.model_validate(record)


def test_disorder_and_duplicates() -> None:
    events = [e for e in generate_events(10, seed=2, disorder=0.2, duplicates=0.1) if e["type"] != "clock"]
    stamps = [parse_event(e).timestamp for e in events]
    assert any(a > b for a, b in itertools.pairwise(stamps))  # some arrive late
    keys = Counter(repr(sorted(e.items())) for e in events)
    assert any(n > 1 for n in keys.values())  # some are sent twice
