"""Streaming compliance monitoring: events in, alerts out (docs/streaming.md).

    from safetyrules import load_policy
    from safetyrules.stream import Monitor
    monitor = Monitor(load_policy(), alert_days=30)            # backend="reference" or "rete"
    monitor.post({"enterprise": "E1", "type": "hazard_found", "timestamp": "2022-05-03T09:10:00+08:00",
                  "payload": {"id": "H-1", "major": True}})
    monitor.advance_to(datetime.date(2022, 5, 10))
    monitor.alerts()

The core (events, monitor, reference backend) imports without durable-rules; `backend="rete"` needs it.
"""

from __future__ import annotations

from safetyrules.stream.events import (
    EVENT_EFFECTS,
    Event,
    EventError,
    EventRejected,
    EventType,
    Receipt,
    Status,
    apply,
    build_record,
    build_records,
    parse_event,
)
from safetyrules.stream.monitor import Alert, AlertKind, Monitor
from safetyrules.stream.rete import durable_available, paths

__all__ = [
    "EVENT_EFFECTS",
    "Alert",
    "AlertKind",
    "Event",
    "EventError",
    "EventRejected",
    "EventType",
    "Monitor",
    "Receipt",
    "Status",
    "apply",
    "build_record",
    "build_records",
    "durable_available",
    "parse_event",
    "paths",
]
