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
    # A syndicated copy of seed 002: another agency's dateline, last paragraph cut, a trailer.
    paragraphs = (seeds / "002_78f173c836337b59.txt").read_text("utf-8").split("\n")[:3]
    paragraphs[0] = paragraphs[0].replace("موسكو - (أ ف ب): ", "بكين - رويترز: ")
    edited = "\n".join([*paragraphs, "اقرأ أيضا: قمة بريكس المقبلة تبحث توسيع العضوية"])
    (folder / "syndicated-002.txt").write_text(edited, encoding="utf-8")
    return folder
