"""Seeded synthetic data for examples, tests and benchmarks: a town's enterprises and a year of their events.

    from safetyrules.synth import generate, write_town, generate_events
    for record in generate(1000, seed=7):             # JSON-ready enterprise records of the fact contract
        ...
    write_town("examples/town.jsonl", 300, seed=2020)
    for event in generate_events(300, seed=2022):     # a year of events for the monitor (docs/streaming.md)
        monitor.post(event)

* :mod:`safetyrules.synth.town` — the town generator (`generate`, `write_town`): enterprises with histories.
* :mod:`safetyrules.synth.events` — the event generator (`generate_events`): the same town's enterprises,
  registered with their standing facts, then a year of what happens to them.

Both read the industry sets they need (high-risk, insurance, cost extraction, technical team) from the seed
policy's params, so that the data follows the policy it is generated for instead of repeating its sets.
"""

from __future__ import annotations

from safetyrules.synth.events import generate_events
from safetyrules.synth.town import BLOCK, INDUSTRY_WEIGHTS, TOWN, VILLAGES, generate, uscc_check_char, write_town

__all__ = ["BLOCK", "INDUSTRY_WEIGHTS", "TOWN", "VILLAGES", "generate", "generate_events", "uscc_check_char",
           "write_town"]
