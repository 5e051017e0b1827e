"""The store contract suite: every test here runs against every store backend.

A backend joins by adding its name to BACKENDS and a branch to store_config that gives a
fresh, empty store of that kind (issue 16 adds PostgreSQL, a real server in a temp dir).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsmon.compose import StoreConfig
from newsmon.store.base import Store

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    """Where a fresh, empty store of one backend is; open it as often as a test needs."""
    if request.param == "sqlite":
        return StoreConfig(str(tmp_path / "store.db"))
    raise AssertionError(f"no fixture for backend {request.param}")


@pytest.fixture
def store(store_config: StoreConfig) -> Iterator[Store]:
    """A fresh store, closed after the test."""
    opened = store_config.open()
    try:
        yield opened
    finally:
        opened.close()
