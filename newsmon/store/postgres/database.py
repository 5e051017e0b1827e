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


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    return type("Row", (PgRow,), {"_index": {n: i for i, n in enumerate(names)}})


def _pg_row(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    return _row_class(tuple(column.name for column in cursor.description or ()))


@functools.lru_cache(maxsize=1024)
def _pg_sql(sql: str) -> str:
    """The statement with `?` placeholders as psycopg's `%s` (and a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgResult:
    """A statement's cursor; in pipeline mode its row count waits for the server's answer."""

    def __init__(self, cursor: psycopg.Cursor[PgRow], pipeline: psycopg.Pipeline | None) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""
        if self._pipeline is not None and self._cursor.rowcount < 0:
            self._pipeline.sync()  # send what is queued, and wait for the answers
        return self._cursor.rowcount

    def fetchone(self) -> PgRow | None:
        """The next row, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[PgRow]:
        """Every row left."""
        return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[PgRow]:
        """Up to `size` more rows."""
        return self._cursor.fetchmany(size)

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self._cursor)


class PgConnection:
    """A psycopg connection that runs the shared `?`-placeholder SQL."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.raw = connection
        # Set while a write transaction runs in pipeline mode.
        self.pipeline: psycopg.Pipeline | None = None

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> PgResult:
        """Run one statement."""
        cursor = self.raw.cursor(row_factory=_pg_row)
        return PgResult(cursor.execute(_pg_sql(sql), parameters), self.pipeline)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgResult:
        """Run one statement once per row of parameters."""
        cursor = self.raw.cursor(row_factory=_pg_row)
        cursor.executemany(_pg_sql(sql), list(rows))
        return PgResult(cursor, self.pipeline)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""
        return self.raw.info.transaction_status != TransactionStatus.IDLE


class PostgresDatabase(SQLTables):
    """One PostgreSQL database: writers serialised by an advisory lock, numbered migrations."""

    # Two senders claiming at once each lock the rows they take and pass over the other's.
    _SKIP_LOCKED_SQL = " FOR UPDATE SKIP LOCKED"
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
        # Pipeline mode: statements whose results nobody reads (most writes) go out without
        # waiting for the server, and a read sends what is queued with it, one round trip.
        with raw.transaction(), raw.pipeline() as pipeline:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            self._pg.pipeline = pipeline
            try:
                yield
            finally:
                self._pg.pipeline = None

    @contextmanager
    def _claim_transaction(self) -> Iterator[None]:
        # Row locks (FOR UPDATE SKIP LOCKED) keep claims apart: no need to queue behind
        # writers storing articles.
        with self._pg.raw.transaction():
            yield

    def _migrate(self) -> None:
        shipped = migrations()
        latest = shipped[-1].number
        raw = self._pg.raw
        # Not pipelined: a failing statement must fail where it stands, naming its file.
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
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
