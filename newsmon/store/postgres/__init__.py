"""PostgreSQL store: several workers on several machines share one database.

The ports' SQL is newsmon.store.sql's, shared with SQLite; only connecting, migrating, the
writers' lock and full-text search differ (newsmon.store.postgres.database).
"""

from __future__ import annotations

from collections.abc import Sequence

from newsmon.store.postgres.database import PostgresDatabase
from newsmon.store.sql.alert_outbox import AlertOutboxTables
from newsmon.store.sql.articles import ArticleTables
from newsmon.store.sql.feed_alerts import FeedAlertTables
from newsmon.store.sql.feeds import FeedTables
from newsmon.store.sql.index_outbox import IndexOutboxTables
from newsmon.store.sql.runs import RunLogTables
from newsmon.store.sql.seen_files import SeenFileTables
from newsmon.store.sql.tables import Row


class PostgresStore(
    RunLogTables,
    ArticleTables,
    IndexOutboxTables,
    FeedAlertTables,
    AlertOutboxTables,
    FeedTables,
    SeenFileTables,
    PostgresDatabase,
):
    """Store backed by one PostgreSQL database; safe for many processes on many hosts."""

    def _match_rows(
        self,
        columns: str,
        groups: list[list[str]],
        where: str,
        parameters: Sequence[str | int],
    ) -> list[Row]:
        """Rows of the articles with a term of every group, with a `score`, best first."""
        # A term is matched as a phrase of the analyzer's words, as in SQLite's FTS5.
        query = " && ".join(
            "(" + " || ".join("phraseto_tsquery('simple', ?)" for _ in group) + ")"
            for group in groups
        )
        terms = [t for group in groups for t in group]
        # Weights D, C, B, A: the headline (A) counts three times the body (D).
        return self._db.execute(
            f"SELECT {columns}, ts_rank('{{0.1, 0.2, 0.4, 0.3}}', f.terms, q.query) AS score"
            f" FROM articles_fts f JOIN articles a ON a.id = f.id, (SELECT {query} AS query) q"
            f" WHERE f.terms @@ q.query{where} ORDER BY score DESC, a.rowid LIMIT ?",
            (*terms, *parameters),
        ).fetchall()


__all__ = ["PostgresStore"]
