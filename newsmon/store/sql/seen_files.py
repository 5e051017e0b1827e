"""The drop folder's memory: each file read, with the stat and hash it had then."""

from __future__ import annotations

from collections.abc import Sequence

from newsmon.records import SeenFile
from newsmon.store.sql.tables import SQLTables, _now


class SeenFileTables(SQLTables):
    """The SeenFiles port."""

    def seen_files(self, paths: Sequence[str]) -> dict[str, SeenFile]:
        """The remembered stamp of each of these paths that was read before."""
        sql = "SELECT path, size, mtime_ns, sha256 FROM seen_files WHERE path IN ({marks})"
        return {
            row[0]: SeenFile(row[0], int(row[1]), int(row[2]), row[3])
            for row in self._rows_in(sql, paths)
        }

    def remember_files(self, files: Sequence[SeenFile]) -> None:
        """Record these files as read, replacing what was remembered of the same paths."""
        if not files:
            return
        at = _now()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO seen_files (path, size, mtime_ns, sha256, seen_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
                " size = excluded.size, mtime_ns = excluded.mtime_ns,"
                " sha256 = excluded.sha256, seen_at = excluded.seen_at",
                [(f.path, f.size, f.mtime_ns, f.sha256, at) for f in files],
            )
