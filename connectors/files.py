"""Find input files under the paths a user names and load their bytes, size-capped."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from connectors.json_records import parse_records
from newsmon.errors import RejectedInput
from newsmon.records import ContentType, RawItem, Rejection, StageOutput
from newsmon.stages import map_stage

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
RECORD_SUFFIXES = frozenset({".json", ".ndjson", ".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def display_path(path: str | Path) -> str:
    """A path as text that any store and terminal take: bytes of a name that are not UTF-8
    are written as escapes (bad_\\xff.txt), not kept as lone surrogates."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, or None for a regular file."""
    return next((name for test, name in _NOT_REGULAR if test(mode)), None)


def _refusal(file: Path, folder: Path, root: Path, follow_symlinks: bool) -> str | None:
    """Why a file found in a folder (`root`: the folder resolved) is not read: not a regular
    file, or a link out of it."""
    try:
        mode = file.stat().st_mode  # follows the link, if it is one
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"  # a dangling link, a link loop
    if (kind := _kind(mode)) is not None:
        return f"not a regular file: {kind}"
    if file.is_symlink() and not follow_symlinks:
        target = file.resolve()
        if not target.is_relative_to(root):
            return (
                f"a symlink out of {display_path(folder)} (to {display_path(target)}); "
                "set NEWSMON_FOLLOW_SYMLINKS=true to read such links"
            )
    return None


def _unlisted(rejections: list[Rejection], error: OSError) -> None:
    why = "permission denied" if isinstance(error, PermissionError) else error.strerror
    folder = display_path(str(error.filename))
    rejections.append(Rejection(folder, "discover", f"cannot list folder: {why or error}"))


def discover(
    paths: Sequence[str | Path], follow_symlinks: bool = False, skip: Sequence[str | Path] = ()
) -> StageOutput[str]:
    """Expand files and folders into a sorted list of input files; missing paths are rejected.

    In a folder, only regular files are taken (a named pipe would block the run), and a
    symlink to a file outside that folder is refused unless follow_symlinks; a path named
    directly is read wherever it points. Folders in `skip` (where read files are moved to)
    are not walked.
    """
    out: StageOutput[str] = StageOutput()
    skipped = {os.path.abspath(folder) for folder in skip}
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        found: list[Path] = []
        if path.is_dir():
            resolved = path.resolve()
            # A folder it may not list would otherwise be left out without a word.
            unlisted = partial(_unlisted, out.rejections)
            for root, dirs, files in os.walk(path, onerror=unlisted):
                # Hidden folders (.git, .cache) never hold news.
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not d.startswith(".") and os.path.abspath(Path(root) / d) not in skipped
                )
                for name in sorted(files):
                    file = Path(root) / name
                    if name.startswith(".") or not _supported(file):
                        continue
                    if why := _refusal(file, path, resolved, follow_symlinks):
                        out.rejections.append(Rejection(display_path(file), "discover", why))
                    else:
                        found.append(file)
        elif path.is_file():
            if not _supported(path):
                suffixes = ", ".join(sorted(SUPPORTED_SUFFIXES))
                reason = f"unsupported file type {path.suffix or '(none)'!r} (expected {suffixes})"
                out.rejections.append(Rejection(display_path(path), "discover", reason))
                continue
            found.append(path)
        elif path.exists():
            why = f"not a regular file: {_kind(path.stat().st_mode) or 'of an unknown kind'}"
            out.rejections.append(Rejection(display_path(path), "discover", why))
            continue
        else:
            why = "no such file or directory"
            out.rejections.append(Rejection(display_path(path), "discover", why))
            continue
        for file in found:
            key = str(file)
            if key not in seen:
                seen.add(key)
                out.items.append(key)
    return out


def read_capped(path: str, max_bytes: int) -> bytes:
    """Read a whole file, refusing it unread when it is larger than max_bytes."""
    try:
        # Non-blocking: a named pipe put in place of a file since discovery must not hang
        # the run; what was opened is checked before anything is read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as handle:
            info = os.fstat(fd)
            if (kind := _kind(info.st_mode)) is not None:
                raise RejectedInput(f"not a regular file: {kind}")
            if info.st_size > max_bytes:
                raise RejectedInput(f"file too large: {info.st_size:,} bytes (limit {max_bytes:,})")
            # Read one byte past the cap: the file may have grown since fstat().
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise RejectedInput("file vanished before it could be read") from None
    except PermissionError:
        raise RejectedInput("permission denied") from None
    except IsADirectoryError:
        raise RejectedInput("is a directory") from None
    except OSError as exc:
        raise RejectedInput(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise RejectedInput(f"file too large: grew past the limit of {max_bytes:,} bytes")
    return data


def load_file(path: str, max_bytes: int) -> StageOutput[RawItem]:
    """Load one input file as raw items (one per file, or one per JSON record)."""
    data = read_capped(path, max_bytes)
    source = display_path(path)
    suffix = Path(path).suffix.lower()
    if suffix in RECORD_SUFFIXES:
        return parse_records(source, data)
    content_type = ContentType.HTML if suffix in HTML_SUFFIXES else ContentType.TEXT
    return StageOutput(items=[RawItem(source=source, data=data, content_type=content_type)])


def load_files(paths: Sequence[str], max_bytes: int) -> StageOutput[RawItem]:
    """Load a batch of files; a file that fails in any way is rejected and the rest go on."""
    per_file = map_stage("load", paths, lambda path: load_file(path, max_bytes), display_path)
    out: StageOutput[RawItem] = StageOutput(rejections=per_file.rejections)
    for loaded in per_file.items:
        out.items.extend(loaded.items)
        out.rejections.extend(loaded.rejections)
    return out
