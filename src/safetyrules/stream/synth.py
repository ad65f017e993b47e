"""The old path of the event generator, now :mod:`safetyrules.synth.events` (import it from
`safetyrules.synth`). Kept only until every caller imports the new path; the monitor does not use it."""

from __future__ import annotations

from safetyrules.synth.events import generate_events

__all__ = ["generate_events"]
