"""The SQLite connection: one file, WAL mode, immediate write transactions, migrations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsmon.errors import StoreError
from newsmon.store.sql.migrations import migrations
from newsmon.store.sql.tables import Analyzer, SQLTables

_BUSY_TIMEOUT_MS = 30_000


class SQLiteDatabase(SQLTables):
    """One SQLite file: WAL mode, immediate write transactions, numbered migrations."""

    def __init__(self, path: Path, analyzer: Analyzer) -> None:
        self.path = path
        self.location = str(path)
        self._analyzer = analyzer
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            self._conn.row_factory = sqlite3.Row
            self._db = self._conn
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._use_wal()
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot open store: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{path}: cannot create store: {exc.strerror or exc}") from exc

    def _use_wal(self) -> None:
        # Switching a new file to WAL needs it to itself, and SQLite answers "database is
        # locked" at once, without the busy timeout, while another process is creating the
        # same store: several `newsmon run`s started together on a fresh store.
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front, so two writers wait instead of deadlocking.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        shipped = migrations()
        latest = shipped[-1].number
        current = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if current > latest:
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this newsmon ({latest})"
            )
        for migration in shipped:
            if migration.number <= current:
                continue
            try:
                with self._transaction():
                    # Another process may have migrated while we waited for the lock.
                    if (
                        int(self._db.execute("PRAGMA user_version").fetchone()[0])
                        >= migration.number
                    ):
                        continue
                    for statement in migration.statements("sqlite"):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {migration.number}")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: migration {migration.name} failed: {exc}") from exc

    def close(self) -> None:
        """Release the connection."""
        self._conn.close()
