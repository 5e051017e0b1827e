"""Find input files under the paths a user names and load their bytes, size-capped."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from connectors.json_records import parse_records
from newsmon.errors import RejectedInput
from newsmon.records import ContentType, RawItem, Rejection, StageOutput
from newsmon.stages import map_stage

TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
RECORD_SUFFIXES = frozenset({".json", ".ndjson", ".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def discover(paths: Sequence[str | Path]) -> StageOutput[str]:
    """Expand files and folders into a sorted list of input files; missing paths are rejected."""
    out: StageOutput[str] = StageOutput()
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        found: list[Path] = []
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                # Hidden folders (.git, .cache) never hold news.
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(
                    Path(root) / f
                    for f in sorted(files)
                    if not f.startswith(".") and _supported(Path(f))
                )
        elif path.is_file():
            if not _supported(path):
                suffixes = ", ".join(sorted(SUPPORTED_SUFFIXES))
                reason = f"unsupported file type {path.suffix or '(none)'!r} (expected {suffixes})"
                out.rejections.append(Rejection(str(path), "discover", reason))
                continue
            found.append(path)
        elif path.exists():
            out.rejections.append(Rejection(str(path), "discover", "not a regular file"))
            continue
        else:
            out.rejections.append(Rejection(str(path), "discover", "no such file or directory"))
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
        size = os.stat(path).st_size
        if size > max_bytes:
            raise RejectedInput(f"file too large: {size:,} bytes (limit {max_bytes:,})")
        with open(path, "rb") as handle:
            # Read one byte past the cap: the file may have grown since stat().
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
    suffix = Path(path).suffix.lower()
    if suffix in RECORD_SUFFIXES:
        return parse_records(path, data)
    content_type = ContentType.HTML if suffix in HTML_SUFFIXES else ContentType.TEXT
    return StageOutput(items=[RawItem(source=path, data=data, content_type=content_type)])


def load_files(paths: Sequence[str], max_bytes: int) -> StageOutput[RawItem]:
    """Load a batch of files; a file that fails in any way is rejected and the rest go on."""
    per_file = map_stage("load", paths, lambda path: load_file(path, max_bytes), str)
    out: StageOutput[RawItem] = StageOutput(rejections=per_file.rejections)
    for loaded in per_file.items:
        out.items.extend(loaded.items)
        out.rejections.extend(loaded.rejections)
    return out
