"""Test-suite wide settings.

The `slow` marker: long runs (large inputs, long differential and fuzz runs) are skipped by default so that
the suite finishes in minutes on a busy 2-core machine. Run them with

    SAFETYRULES_RUN_SLOW=1 .venv/bin/python -m pytest          # everything, slow included
    .venv/bin/python -m pytest -m slow                          # only the slow tests
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SAFETYRULES_RUN_SLOW") == "1" or "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: set SAFETYRULES_RUN_SLOW=1 or select with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
