"""The `slow` marker: tests that take minutes run only when asked for.

Run them with `SAFETYRULES_RUN_SLOW=1 .venv/bin/python -m pytest tests/cli` or `pytest -m slow tests/cli`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes minutes; run with SAFETYRULES_RUN_SLOW=1 or -m slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SAFETYRULES_RUN_SLOW") == "1" or "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: set SAFETYRULES_RUN_SLOW=1 or select with -m slow")
    for item in items:
        if "slow" in item.keywords and item.path.is_relative_to(HERE):
            item.add_marker(skip)
