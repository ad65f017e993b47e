"""The service in process for the console tests: without a token, and with one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from safetyrules.api import bundled_policy_path
from safetyrules.service.app import create_app

from .helpers import TOKEN


@pytest.fixture(scope="session")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service without a token (the console's what-if runs for anyone, as `/v1/whatif` does)."""
    db = tmp_path_factory.mktemp("console") / "decisions.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SAFETYRULES_TOKEN", raising=False)
        app = create_app(bundled_policy_path(), f"sqlite:///{db}")
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service with a token."""
    db = tmp_path_factory.mktemp("console-token") / "decisions.db"
    with TestClient(create_app(bundled_policy_path(), f"sqlite:///{db}", token=TOKEN, max_records=400)) as c:
        yield c
