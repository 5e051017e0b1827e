"""The SQLite connection every table group shares: WAL, immediate writes, migrations."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from newsmon.errors import StoreError
from newsmon.records import (
    Article,
    EntityTag,
    Mention,
)

Analyzer = Callable[[str], str]


_BUSY_TIMEOUT_MS = 30_000


# SQLite allows 32766 bound parameters; stay far below it per IN (...) query.
_ID_CHUNK = 500


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(at: datetime) -> str:
    # One fixed width in UTC, so timestamps compare correctly as text in SQL.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("newsmon.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


_ARTICLE_COLUMNS = (
    "id, source, title, text, text_norm, lang, ingested_at, encoding, url, published_at,"
    " cluster_id, duplicate_of, similarity, author, version_of, event_id"
)


def _article(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"],
        source=row["source"],
        title=row["title"],
        text=row["text"],
        text_norm=row["text_norm"],
        lang=row["lang"],
        ingested_at=datetime.fromisoformat(row["ingested_at"]),
        encoding=row["encoding"],
        url=row["url"],
        published_at=_dt(row["published_at"]),
        cluster_id=row["cluster_id"],
        duplicate_of=row["duplicate_of"],
        similarity=row["similarity"],
        author=row["author"],
        version_of=row["version_of"],
        event_id=row["event_id"],
    )


def _entity_tag(row: sqlite3.Row) -> EntityTag:
    # Rows written before headlines were tagged have no field: they are in the text.
    mentions = tuple(Mention(*values) for values in json.loads(row["mentions"]))
    return EntityTag(row["entity_id"], row["label"], row["type"], mentions)


class SQLiteDatabase:
    """One SQLite file: WAL mode, immediate write transactions, numbered migrations."""

    def __init__(self, path: Path, analyzer: Analyzer) -> None:
        self.path = path
        self._analyzer = analyzer
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self._db.row_factory = sqlite3.Row
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
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        migrations = _migrations()
        latest = migrations[-1][0]
        current = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if current > latest:
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this newsmon ({latest})"
            )
        for number, name, sql in migrations:
            if number <= current:
                continue
            try:
                with self._transaction():
                    # Another process may have migrated while we waited for the lock.
                    if int(self._db.execute("PRAGMA user_version").fetchone()[0]) >= number:
                        continue
                    for statement in sql.split(";\n"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number}")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: migration {name} failed: {exc}") from exc

    def _rows_in(self, sql: str, ids: Sequence[str]) -> Iterator[sqlite3.Row]:
        """Rows of sql, whose `IN ({marks})` takes the ids a chunk at a time."""
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = list(ids[start : start + _ID_CHUNK])
            yield from self._db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)

    def _lists_in(self, sql: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """For each id, the second column of sql's (id, value) rows, in the query's order."""
        found: dict[str, list[str]] = {i: [] for i in ids}
        for key, value in self._rows_in(sql, ids):
            found[key].append(value)
        return found

    def _known_ids(self, ids: Sequence[str]) -> set[str]:
        return {
            row[0] for row in self._rows_in("SELECT id FROM articles WHERE id IN ({marks})", ids)
        }

    def _by_ids(
        self, columns: str, ids: Sequence[str], table: str = "articles", key: str = "id"
    ) -> dict[str, tuple[Any, ...]]:
        rows = self._rows_in(
            f"SELECT {key}, {columns} FROM {table} WHERE {key} IN ({{marks}})", ids
        )
        found = {row[0]: tuple(row[1:]) for row in rows}
        # In the order asked for: callers pass candidates best first.
        return {i: found[i] for i in ids if i in found}

    def _with_entities(self, articles: list[Article]) -> list[Article]:
        """The articles with their stored entities attached (one query per chunk of ids)."""
        tags: dict[str, list[EntityTag]] = {}
        rows = self._rows_in(
            "SELECT * FROM article_entities WHERE article_id IN ({marks})"
            " ORDER BY article_id, json_extract(mentions, '$[0][0]')",
            [a.id for a in articles],
        )
        for row in rows:
            tags.setdefault(row["article_id"], []).append(_entity_tag(row))
        return [replace(a, entities=tuple(tags.get(a.id, ()))) for a in articles]

    def articles_by_id(self, ids: Sequence[str]) -> list[Article]:
        """Stored articles with their entities, in the order asked for (unknown ids left out)."""
        rows = self._rows_in(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({{marks}})", ids
        )
        found = {a.id: a for a in self._with_entities([_article(r) for r in rows])}
        return [found[i] for i in ids if i in found]

    def count_articles(self) -> int:
        """Number of stored articles."""
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
