"""Inputs for end-to-end runs: the seeds beside one of every kind of bad input."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from peers import ElasticsearchTarget

from connectors.elasticsearch import DEFAULT_TEMPLATE

BAD_FILES = (
    "empty.txt",
    "whitespace-only.txt",
    "image-renamed.txt",
    "undecodable.txt",
    "only-boilerplate.txt",
)


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


# The emulator rejects this built-in filter ("failed to find filter"); its own Arabic
# analysis differs from Lucene's anyway, so tests of analysis results need a real cluster.
EMULATOR_MISSING_FILTERS = ("arabic_normalization",)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"noida-db exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"noida-db did not answer on {url} within {seconds} s")


@pytest.fixture(scope="session")
def elasticsearch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bool]]:
    """ELASTICSEARCH_URL when set (a real cluster); else noida-db on a free loopback port."""
    real = os.environ.get("TEST_REAL_ELASTICSEARCH_URL")
    if real:
        yield real, False
        return
    binary = Path(str(files("noida_db").joinpath("noida-db")))
    binary.chmod(0o755)
    port = _free_port()
    data = tmp_path_factory.mktemp("noida-data")
    # The binary itself, not the `noida-db` wrapper script: stopping it by its pid stops it.
    command = [str(binary), "start", "--only", "elasticsearch"]
    command += ["--elasticsearch-port", str(port), "--data-dir", str(data)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url, True
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
        body = json.loads(DEFAULT_TEMPLATE.read_text("utf-8"))
        for analyzer in body["template"]["settings"]["analysis"]["analyzer"].values():
            analyzer["filter"] = [
                f for f in analyzer["filter"] if f not in EMULATOR_MISSING_FILTERS
            ]
        template = tmp_path / "stories-template.emulator.json"
        template.write_text(json.dumps(body), encoding="utf-8")
    return ElasticsearchTarget(url, emulator, template, f"t{uuid.uuid4().hex[:12]}-stories")
