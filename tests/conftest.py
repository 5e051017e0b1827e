"""Shared test setup: quiet, isolated Prefect and paths to the fixture files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_figures import FIGURES, FaultFigures
from pg_server import PostgresServer, running_postgres

# Before any test imports prefect: no telemetry, and a throwaway Prefect home.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newsmon-prefect-")

# A real cluster given for the Elasticsearch suite only: no other test may write to it.
if "ELASTICSEARCH_URL" in os.environ:
    os.environ["TEST_REAL_ELASTICSEARCH_URL"] = os.environ.pop("ELASTICSEARCH_URL")
os.environ.pop("NEWSMON_ELASTICSEARCH_URL", None)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS = ROOT / "seeds"


@pytest.fixture
def fault_figures() -> FaultFigures:
    """Where a fault test records its figures (printed at the end of the run)."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fault suite's figures, when fault tests ran."""
    if FIGURES.rows:
        terminalreporter.section("fault suite figures")
        for line in FIGURES.table():
            terminalreporter.write_line(line)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def seeds() -> Path:
    return SEEDS


# Real Arabic news (public datasets, hand-made gold) lives beside the checkout in shared/;
# it is read from there, never copied into the project.
REAL_ARABIC = ROOT.parent / "shared" / "testdata" / "real-arabic"


@pytest.fixture
def real_arabic() -> Path:
    if not REAL_ARABIC.is_dir():
        pytest.skip(
            f"real Arabic test data not found at {REAL_ARABIC} (shared/ beside the checkout)"
        )
    return REAL_ARABIC


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (initdb in a temp folder, loopback port)."""
    with running_postgres() as server:
        if server is None:
            pytest.skip("no PostgreSQL binaries on this machine (initdb not on PATH or pg_config)")
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return postgres_server.fresh_database()
