"""The store contract suite: every test here runs against every store backend.

A backend joins by adding its name to BACKENDS and a branch to store_config that gives a
fresh, empty store of that kind: a SQLite file in the test's folder, or a new database on
the session's PostgreSQL server (a real one, started from the machine's binaries).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsmon.compose import StoreConfig
from newsmon.store.base import Store

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    """Where a fresh, empty store of one backend is; open it as often as a test needs."""
    if request.param == "sqlite":
        return StoreConfig(str(tmp_path / "store.db"))
    if request.param == "postgresql":
        return StoreConfig.from_url(request.getfixturevalue("postgres_url"))
    raise AssertionError(f"no fixture for backend {request.param}")


@pytest.fixture
def store(store_config: StoreConfig) -> Iterator[Store]:
    """A fresh store, closed after the test."""
    opened = store_config.open()
    try:
        yield opened
    finally:
        opened.close()
