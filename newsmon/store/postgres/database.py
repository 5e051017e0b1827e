"""The PostgreSQL connection: psycopg, one advisory lock for writers, migrations."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker

from newsmon.errors import StoreError
from newsmon.secret_urls import redact
from newsmon.store.sql.migrations import migrations
from newsmon.store.sql.tables import Analyzer, SQLTables

# Every write transaction takes this transaction-level advisory lock first, so writers are
# serialised as SQLite's BEGIN IMMEDIATE serialises them: of two workers storing copies of
# one new story, the second sees the first's band keys (newsmon.store.base.ArticleStore).
WRITE_LOCK = 0x6E65_7773_6D6F_6E  # "newsmon"
_CONNECT_TIMEOUT_S = 10


class PgRow(tuple[Any, ...]):
    """A result row read by position or by column name, like sqlite3.Row."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)


def _pg_row(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    names = [column.name for column in cursor.description or ()]
    row_class = type("Row", (PgRow,), {"_index": {n: i for i, n in enumerate(names)}})
    return lambda values: row_class(values)


@functools.lru_cache(maxsize=1024)
def _pg_sql(sql: str) -> str:
    """The statement with `?` placeholders as psycopg's `%s` (and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection that runs the shared `?`-placeholder SQL."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.raw = connection

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> psycopg.Cursor[PgRow]:
        """Run one statement."""
        cursor = self.raw.cursor(row_factory=_pg_row)
        return cursor.execute(_pg_sql(sql), parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[PgRow]:
        """Run one statement once per row of parameters."""
        cursor = self.raw.cursor(row_factory=_pg_row)
        cursor.executemany(_pg_sql(sql), list(rows))
        return cursor

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""
        return self.raw.info.transaction_status != TransactionStatus.IDLE


class PostgresDatabase(SQLTables):
    """One PostgreSQL database: writers serialised by an advisory lock, numbered migrations."""

    # The first mention's offset inside the JSON mentions column, for ordering entities.
    _FIRST_MENTION_SQL = "((mentions::jsonb -> 0) ->> 0)::bigint"

    def __init__(
        self, url: str, analyzer: Analyzer, user: str | None = None, password: str | None = None
    ) -> None:
        self.location = redact(url)
        self._analyzer = analyzer
        try:
            # psycopg leaves out a user or password given as None.
            raw = psycopg.connect(
                url,
                autocommit=True,
                connect_timeout=_CONNECT_TIMEOUT_S,
                user=user,
                password=password,
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"{self.location}: cannot open store: {_reason(exc, password)}"
            ) from exc
        self._pg = PgConnection(raw)
        self._db = self._pg
        try:
            self._migrate()
        except psycopg.Error as exc:
            raw.close()
            raise StoreError(
                f"{self.location}: cannot open store: {_reason(exc, password)}"
            ) from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        raw = self._pg.raw
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield

    def _migrate(self) -> None:
        shipped = migrations()
        latest = shipped[-1].number
        with self._transaction():
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
            current = int(row[0] or 0)
            if current > latest:
                raise StoreError(
                    f"{self.location}: schema version {current} is newer than this newsmon"
                    f" ({latest})"
                )
            for migration in shipped:
                if migration.number <= current:
                    continue
                try:
                    with self._pg.raw.transaction():  # a savepoint: name the failing file
                        for statement in migration.statements("postgresql"):
                            # Raw: a migration has no parameters, its comments may hold "?".
                            self._pg.raw.execute(statement.encode())
                except psycopg.Error as exc:
                    raise StoreError(
                        f"{self.location}: migration {migration.name} failed: {exc}"
                    ) from exc
                self._db.execute("INSERT INTO schema_version VALUES (?)", (migration.number,))

    def close(self) -> None:
        """Release the connection."""
        self._pg.raw.close()


def _reason(exc: psycopg.Error, password: str | None) -> str:
    # libpq's messages name host, port and user, not the password; make sure of it.
    text = str(exc).strip()
    return text.replace(password, "***") if password else text
