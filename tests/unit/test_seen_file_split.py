"""A drop folder's memory on real files: what a stat skips, what a hash saves, what moves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from connectors.drop_folder import memory_key, move_processed, split_seen, stamp_file
from connectors.files import discover
from newsmon.records import SeenFile


def _remembered(*paths: Path) -> dict[str, SeenFile]:
    stamps = [stamp_file(str(p)) for p in paths]
    return {s.path: s for s in stamps if s is not None}


def test_a_file_read_before_is_skipped_until_its_bytes_change(tmp_path: Path) -> None:
    same, touched, edited, grown = (tmp_path / f"{n}.txt" for n in ("same", "touched", "e", "g"))
    for path in (same, touched, edited, grown):
        path.write_text("خبر عن بوتين وشي", encoding="utf-8")
    new = tmp_path / "new.txt"
    new.write_text("جديد", encoding="utf-8")
    memory = _remembered(same, touched, edited, grown)

    later = 2_000_000_000_000_000_000
    os.utime(touched, ns=(later, later))  # same bytes, new mtime
    edited.write_text("خبر عن بوتين وشى", encoding="utf-8")  # same size, other bytes
    os.utime(edited, ns=(later, later))
    grown.write_text("خبر عن بوتين وشي جينبينغ", encoding="utf-8")

    paths = [str(p) for p in (same, touched, edited, grown, new)]
    asked: list[list[str]] = []

    def recall(keys: Sequence[str]) -> dict[str, SeenFile]:
        asked.append(list(keys))
        return {k: v for k, v in memory.items() if k in asked[-1]}

    split = split_seen(paths, recall)
    assert split.to_read == [str(edited), str(grown), str(new)]
    assert split.unchanged == 2
    [restamp] = split.restamped
    assert restamp.path == memory_key(str(touched)) and restamp.mtime_ns == later
    assert len(asked) == 1  # one look-up for the whole folder


def test_a_vanished_file_is_left_to_the_read_to_name(tmp_path: Path) -> None:
    gone = tmp_path / "gone.txt"
    gone.write_text("x", encoding="utf-8")
    memory = _remembered(gone)
    gone.unlink()
    assert stamp_file(str(gone)) is None
    assert split_seen([str(gone)], lambda keys: memory).to_read == [str(gone)]


def test_files_move_under_their_place_and_never_over_another(tmp_path: Path) -> None:
    inbox, done = tmp_path / "inbox", tmp_path / "inbox" / "processed"
    (inbox / "rt").mkdir(parents=True)
    (done / "rt").mkdir(parents=True)
    (inbox / "rt" / "a.txt").write_text("new a", encoding="utf-8")
    (done / "rt" / "a.txt").write_text("old a", encoding="utf-8")
    (inbox / "b.txt").write_text("b", encoding="utf-8")
    found = discover([inbox], skip=[done]).items
    assert found == [str(inbox / "b.txt"), str(inbox / "rt" / "a.txt")]

    kept, failed = move_processed([*found, str(inbox / "vanished.txt")], [str(inbox)], done)
    assert kept == [str(inbox / "vanished.txt")]
    [failure] = failed
    assert failure.stage == "move" and "not moved to" in failure.reason
    assert (done / "b.txt").read_text("utf-8") == "b"
    assert (done / "rt" / "a.txt").read_text("utf-8") == "old a"
    assert (done / "rt" / "a-1.txt").read_text("utf-8") == "new a"
    assert discover([inbox], skip=[done]).items == []
