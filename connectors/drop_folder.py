"""A drop folder's memory: skip files read before at the cost of a stat; move what was read."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.files import display_path
from newsmon.records import Rejection, SeenFile


@dataclass(frozen=True, slots=True)
class SeenSplit:
    """Discovered files split by the memory: those to read, and those read before."""

    to_read: list[str]
    # Read before, bytes unchanged but stat changed (touched, copied over): new stamps.
    restamped: list[SeenFile]
    unchanged: int


def memory_key(path: str) -> str:
    """The key a file is remembered by: its absolute path, as text any store takes."""
    return display_path(os.path.abspath(path))


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stamp_file(path: str) -> SeenFile | None:
    """The file's stamp now (size, mtime, content hash), or None if it cannot be read."""
    try:
        info = os.stat(path)
        return SeenFile(memory_key(path), info.st_size, info.st_mtime_ns, _sha256(path))
    except OSError:
        return None  # gone or unreadable: nothing to remember, the next pass sees it again


def split_seen(
    paths: Sequence[str], recall: Callable[[Sequence[str]], Mapping[str, SeenFile]]
) -> SeenSplit:
    """Split files into those to read and those read before and unchanged.

    A file whose size and mtime match its stamp is skipped on the stat alone; one whose size
    matches but mtime does not is hashed, and skipped (restamped) if its bytes are the same.
    """
    keys = [memory_key(p) for p in paths]
    known = recall(keys)
    to_read: list[str] = []
    restamped: list[SeenFile] = []
    unchanged = 0
    for path, key in zip(paths, keys, strict=True):
        seen = known.get(key)
        try:
            info = os.stat(path) if seen is not None else None
        except OSError:
            info = None  # the read names the reason
        if seen is None or info is None:
            to_read.append(path)
        elif (info.st_size, info.st_mtime_ns) == (seen.size, seen.mtime_ns):
            unchanged += 1
        elif info.st_size == seen.size and (now := stamp_file(path)) and now.sha256 == seen.sha256:
            restamped.append(now)
            unchanged += 1
        else:
            to_read.append(path)
    return SeenSplit(to_read, restamped, unchanged)


def _free_target(target: Path) -> Path:
    """target, or target with -1, -2 … before its suffix when a file is there already."""
    n = 0
    candidate = target
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    return candidate


def move_processed(
    paths: Sequence[str], roots: Sequence[str | Path], dest: Path
) -> tuple[list[str], list[Rejection]]:
    """Move files into dest, keeping their place under the root folder each came from.

    Returns the files that could not be moved, with a rejection naming each and why (the
    story is stored; only the move failed).
    """
    bases = [Path(os.path.abspath(r)) for r in roots if os.path.isdir(r)]
    kept: list[str] = []
    failures: list[Rejection] = []
    for path in paths:
        source = Path(os.path.abspath(path))
        base = next((b for b in bases if source.is_relative_to(b)), source.parent)
        target = _free_target(dest / source.relative_to(base))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
        except OSError as exc:
            kept.append(path)
            reason = f"stored, but not moved to {display_path(dest)}: {exc.strerror or exc}"
            failures.append(Rejection(display_path(path), "move", reason))
    return kept, failures
