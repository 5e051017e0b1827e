"""A stamp that changes when a config file or folder changes, for caches keyed by path."""

from __future__ import annotations

from pathlib import Path

FileStamp = tuple[tuple[str, int, int], ...]


def file_stamp(path: Path | None) -> FileStamp:
    """(name, mtime_ns, size) of the file, or of every file in the folder; () for None.

    A long-lived process (a served deployment, the CLI called in-process) must see an edited
    gazetteer or rules file, while a run must not re-read it for every batch.
    """
    if path is None:
        return ()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    stamps = []
    for file in files:
        try:
            info = file.stat()
        except OSError:
            # Missing: the loader reports it with the path and the reason.
            stamps.append((str(file), -1, -1))
            continue
        stamps.append((str(file), info.st_mtime_ns, info.st_size))
    return tuple(stamps)
