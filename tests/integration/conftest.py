"""Inputs for end-to-end runs: the seeds beside one of every kind of bad input."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from es_emulator import emulator_template, start_emulator, stop_process
from peers import ElasticsearchTarget, prefect_server
from prefect.context import refresh_global_settings_context
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from connectors.elasticsearch import DEFAULT_TEMPLATE

BAD_FILES = (
    "empty.txt",
    "whitespace-only.txt",
    "image-renamed.txt",
    "undecodable.txt",
    "only-boilerplate.txt",
)


@pytest.fixture(scope="session", autouse=True)
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect server for the suite: in-process flows and `newsmon` subprocesses use it."""
    with prefect_server(tmp_path_factory.mktemp("prefect-server")) as url:
        os.environ["PREFECT_API_URL"] = url
        # Prefect read its settings when imported; in-process flows need them overridden too,
        # and so do threads with no settings of their own (a process pool's message
        # forwarder), which read the process-wide ones.
        refresh_global_settings_context()
        EventsWorker.drain_all()
        try:
            with temporary_settings(updates={PREFECT_API_URL: url}):
                yield url
        finally:
            EventsWorker.drain_all()
            os.environ.pop("PREFECT_API_URL", None)
            refresh_global_settings_context()


@pytest.fixture(scope="session")
def seeded_store_file(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five seeds run once through the real flow (default settings, no channels)."""
    from flows.ingest import ingest_files
    from newsmon.compose import pipeline_config
    from newsmon.settings import Settings

    db = tmp_path_factory.mktemp("seeded") / "seeded.db"
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    summary = ingest_files([str(seeds)], pipeline_config(Settings(db=str(db))))
    assert (summary.stored, summary.rejected) == (5, [])
    return db


@pytest.fixture
def seeded_store(seeded_store_file: Path, tmp_path: Path) -> Path:
    """A test's own copy of the store with the five seeds in it."""
    db = tmp_path / "store.db"
    shutil.copy(seeded_store_file, db)
    return db


@pytest.fixture
def inbox(tmp_path: Path, seeds: Path, fixtures: Path) -> Path:
    """A folder with the five seeds, the bad inputs, a 50 MB file and a records file."""
    folder = tmp_path / "inbox"
    shutil.copytree(seeds, folder / "seeds")
    for name in BAD_FILES:
        shutil.copy(fixtures / "bad" / name, folder / name)
    with open(folder / "huge.txt", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    shutil.copy(fixtures / "records" / "stories.ndjson", folder / "stories.ndjson")
    shutil.copy(fixtures / "encodings" / "001.windows-1256.txt", folder / "copy-of-001.txt")
    # A syndicated copy of seed 002: another agency's dateline, last paragraph cut, a trailer.
    paragraphs = (seeds / "002_78f173c836337b59.txt").read_text("utf-8").split("\n")[:3]
    paragraphs[0] = paragraphs[0].replace("موسكو - (أ ف ب): ", "بكين - رويترز: ")
    edited = "\n".join([*paragraphs, "اقرأ أيضا: قمة بريكس المقبلة تبحث توسيع العضوية"])
    (folder / "syndicated-002.txt").write_text(edited, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def elasticsearch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bool]]:
    """ELASTICSEARCH_URL when set (a real cluster); else noida-db on a free loopback port."""
    real = os.environ.get("TEST_REAL_ELASTICSEARCH_URL")
    if real:
        yield real, False
        return
    url, process = start_emulator(tmp_path_factory.mktemp("noida-data"))
    try:
        yield url, True
    finally:
        stop_process(process)


@pytest.fixture
def elasticsearch(
    elasticsearch_server: tuple[str, bool], tmp_path: Path, request: pytest.FixtureRequest
) -> ElasticsearchTarget:
    """A fresh alias on the suite's Elasticsearch; real-only tests are skipped on the emulator."""
    url, emulator = elasticsearch_server
    marker = request.node.get_closest_marker("real_elasticsearch")
    if marker and emulator:
        pytest.skip(f"needs a real Elasticsearch (set ELASTICSEARCH_URL): {marker.args[0]}")
    template = DEFAULT_TEMPLATE
    if emulator:
        template = emulator_template(tmp_path / "stories-template.emulator.json")
    return ElasticsearchTarget(url, emulator, template, f"t{uuid.uuid4().hex[:12]}-stories")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each backend, as NEWSMON_DB takes it: a file path or a URL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "store.db")
