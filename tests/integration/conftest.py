"""Inputs for end-to-end runs: the seeds beside one of every kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
    return folder
