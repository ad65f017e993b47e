"""The web console a town's safety office reads, served by `safetyrules serve` beside the JSON API
(docs/service.md, "Console"): the town's headline and compliance per obligation and village, one obligation,
one village, one enterprise with its explanations, and what-if scenarios — Chinese first, English with
`?lang=en`, printable. Pages are HTML strings built here (`pages.py`, `whatif.py`), escaped throughout."""

from safetyrules.console.routes import console_routes

__all__ = ["console_routes"]
