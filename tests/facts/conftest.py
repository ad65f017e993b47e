"""Shared fixtures of the fact-contract tests."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    import safetyrules.facts  # noqa: F401
except ModuleNotFoundError:  # the package is not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

DATA = Path(__file__).parent / "data"


@pytest.fixture
def example() -> dict[str, Any]:
    """The example record of the fact contract, as JSON (a fresh copy per test)."""
    return copy.deepcopy(_EXAMPLE)


_EXAMPLE: dict[str, Any] = json.loads((DATA / "example.json").read_text(encoding="utf-8"))
