"""Shared fixtures of the columnar engine tests."""

from __future__ import annotations

import pytest

from safetyrules.api import Policy
from safetyrules.columnar import ColumnarProgram

from .differential import seed_policy, seed_program


@pytest.fixture(scope="session")
def policy() -> Policy:
    return seed_policy()


@pytest.fixture(scope="session")
def program() -> ColumnarProgram:
    return seed_program()
