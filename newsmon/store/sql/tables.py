"""What every SQL backend shares: the connection shape, id-chunked queries, article rows.

The port modules beside this one (runs, articles, events, outboxes, feeds) hold SQL that
SQLite and PostgreSQL both run: `?` placeholders (the PostgreSQL connection rewrites them),
`INSERT ... ON CONFLICT`, `RETURNING`, and a `rowid` column that is SQLite's own and an
identity column on PostgreSQL. A backend subclass opens the connection, migrates the schema,
and says how a write transaction is serialised.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from newsmon.records import (
    Article,
    EntityTag,
    Mention,
    StoryFilter,
    as_utc,
)

Analyzer = Callable[[str], str]


# SQLite allows 32766 bound parameters, PostgreSQL 65535; stay far below both per IN (...).
_ID_CHUNK = 500


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(at: datetime) -> str:
    # One fixed width in UTC, so timestamps compare correctly as text in SQL.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def story_second(at: datetime) -> str:
    """A time as the articles.story_time column holds it: UTC, to the second (0014)."""
    return as_utc(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def source_patterns(source: str) -> list[str]:
    """LIKE patterns for one --source: a host (and its subdomains) in a URL, or a prefix."""
    value = _like_escaped(source.strip())
    patterns = [value + "%"]
    if "/" not in source and ":" not in source:
        host = value.lower().removeprefix("www.")
        patterns += [f"%://{host}/%", f"%://{host}", f"%://%.{host}/%", f"%://%.{host}"]
    return patterns


def source_like_sql(column: str, sources: Sequence[str]) -> tuple[str, list[Any]]:
    """One SQL condition: the column matches any of the sources (see source_patterns)."""
    likes = [p for source in sources for p in source_patterns(source)]
    # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    condition = " OR ".join(f"lower({column}) LIKE lower(?) ESCAPE '\\'" for _ in likes)
    return f"({condition})", likes


def story_filter_sql(
    wanted: StoryFilter, article: str = "a", times: bool = True
) -> tuple[str, list[Any]]:
    """SQL conditions (each starting with AND) and their parameters for a story filter.

    `article` is the alias of the articles table; times=False leaves since/until out (a
    listing that bounds another time, such as when an alert fired).
    """
    sql, params = "", []
    if times and wanted.since:
        sql += f" AND {article}.story_time >= ?"
        params.append(story_second(wanted.since))
    if times and wanted.until:
        sql += f" AND {article}.story_time <= ?"
        params.append(story_second(wanted.until))
    if wanted.langs:
        sql += f" AND {article}.lang IN ({', '.join('?' * len(wanted.langs))})"
        params += list(wanted.langs)
    if wanted.sources:
        like, like_params = source_like_sql("s.source", wanted.sources)
        sql += (
            " AND EXISTS (SELECT 1 FROM article_sources s"
            f" WHERE s.article_id = {article}.id AND {like})"
        )
        params += like_params
    return sql, params


def fired_between_sql(wanted: StoryFilter, column: str) -> tuple[str, list[Any]]:
    """SQL conditions bounding a `_ts` column (when an alert fired) by since/until."""
    sql, params = "", []
    if wanted.since:
        sql += f" AND {column} >= ?"
        params.append(_ts(as_utc(wanted.since)))
    if wanted.until:
        sql += f" AND {column} <= ?"
        params.append(_ts(as_utc(wanted.until)))
    return sql, params


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_ARTICLE_COLUMNS = (
    "id, source, title, text, text_norm, lang, ingested_at, encoding, url, published_at,"
    " cluster_id, duplicate_of, similarity, author, version_of, event_id"
)


def _article(row: Row) -> Article:
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


def _entity_tag(row: Row) -> EntityTag:
    # Rows written before headlines were tagged have no field: they are in the text.
    mentions = tuple(Mention(*values) for values in json.loads(row["mentions"]))
    return EntityTag(row["entity_id"], row["label"], row["type"], mentions)


class Row(Protocol):
    """A result row, read by position or by column name (Row's shape)."""

    def __getitem__(self, key: Any) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    """What the port modules use of a cursor."""

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every row left."""
        ...

    def fetchmany(self, size: int) -> list[Any]:
        """Up to `size` more rows."""
        ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the port modules use of a connection: statements with `?` placeholders."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor:
        """Run one statement."""
        ...

    def executemany(self, sql: str, rows: Any, /) -> Cursor:
        """Run one statement once per row of parameters."""
        ...


class SQLTables:
    """The shared helpers; a backend sets `_db`, `_analyzer` and `location`."""

    _db: Connection
    _analyzer: Analyzer
    location: str
    # The first mention's offset inside the JSON mentions column, for ordering entities.
    _FIRST_MENTION_SQL = "json_extract(mentions, '$[0][0]')"

    # What a claim adds to its SELECT so that two senders skip each other's rows.
    _SKIP_LOCKED_SQL = ""

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A write transaction, serialised against every other writer of the store."""
        raise NotImplementedError
        yield

    def _claim_transaction(self) -> AbstractContextManager[None]:
        """The transaction an outbox claim runs in (a backend with row locks needs no more)."""
        return self._transaction()

    def _rows_in(self, sql: str, ids: Sequence[str] | Sequence[int]) -> Iterator[Row]:
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
            f" ORDER BY article_id, {self._FIRST_MENTION_SQL}",
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
