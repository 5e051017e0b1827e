"""A drop folder read again and again: each file read once while it is unchanged, moved on
request, on both store backends."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from peers import newsmon

pytestmark = pytest.mark.integration


def _counts(stdout: str) -> tuple[int, int, int]:
    """(read, stored, rejected) from a run's summary line."""
    found = re.search(r"(\d+) read, (\d+) stored, \d+ already known, (\d+) rejected", stdout)
    assert found, stdout
    read, stored, rejected = map(int, found.groups())
    return read, stored, rejected


def test_a_drop_folder_is_read_once_until_a_file_changes(
    inbox: Path, seeds: Path, store_location: str
) -> None:
    db = store_location
    files = [p for p in inbox.rglob("*") if p.is_file()]
    first = newsmon("run", "--skip-seen", str(inbox), db=db)
    assert first.returncode == 1, first.stderr  # the bad inputs, each named
    read, stored, rejected = _counts(first.stdout)
    assert stored == 8 and rejected >= 5 and "skipped" not in first.stdout

    again = newsmon("run", "--skip-seen", str(inbox), db=db)
    assert again.returncode == 0, again.stderr  # the refused files are not refused again
    assert _counts(again.stdout) == (0, 0, 0)
    assert f"{len(files)} files skipped: read before and unchanged since" in again.stdout

    # Touched (same bytes), replaced by a story, and a new file: two read, one stored new.
    later = 2_000_000_000_000_000_000
    os.utime(inbox / "seeds" / sorted(os.listdir(inbox / "seeds"))[0], ns=(later, later))
    shutil.copy(sorted(seeds.glob("*.txt"))[1], inbox / "whitespace-only.txt")
    shutil.copy(sorted(seeds.glob("*.txt"))[2], inbox / "late-copy.txt")
    third = newsmon("run", "--skip-seen", str(inbox), db=db)
    assert third.returncode == 0, third.stderr
    assert _counts(third.stdout) == (2, 0, 0)  # both are seeds already stored
    assert f"{len(files) - 1} files skipped" in third.stdout
    # Without --skip-seen every file is read, as always.
    plain = newsmon("run", str(inbox), db=db)
    assert _counts(plain.stdout)[0] == read + 1


def test_files_read_whole_are_moved_and_refused_ones_stay(
    inbox: Path, seeds: Path, store_location: str
) -> None:
    db = store_location
    done = inbox / "processed"
    first = newsmon("run", "--move-to", str(done), str(inbox), db=db)
    assert first.returncode == 1, first.stderr
    moved = sorted(str(p.relative_to(done)) for p in done.rglob("*") if p.is_file())
    left = sorted(
        str(p.relative_to(inbox)) for p in inbox.rglob("*") if p.is_file() and done not in p.parents
    )
    assert {f"seeds/{p.name}" for p in seeds.glob("*.txt")} <= set(moved)
    assert "stories.ndjson" in moved
    assert "empty.txt" in left and "huge.txt" in left and "stories.ndjson" not in left
    again = newsmon("run", "--move-to", str(done), str(inbox), db=db)
    assert again.returncode == 0, again.stderr
    assert _counts(again.stdout) == (0, 0, 0)
    assert f"{len(left)} files skipped" in again.stdout
