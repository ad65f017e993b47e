"""One Spark session (local[2]) for every Spark test; the tests skip when Java or pyspark is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("Spark tests need Java (no `java` on PATH)")
    pytest.importorskip("pyspark", reason="Spark tests need pyspark: pip install -e '.[spark]'")
    from safetyrules import spark as sr

    session = sr.session("local[2]", **{"spark.sql.files.maxPartitionBytes": "32k",
                                         "spark.sql.shuffle.partitions": "4",
                                         "spark.ui.showConsoleProgress": "false"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
