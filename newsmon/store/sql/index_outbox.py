"""Index outbox: what Elasticsearch acknowledged, refused, or has still to get."""

from __future__ import annotations

from collections.abc import Sequence

from newsmon.records import (
    Article,
)
from newsmon.store.sql.tables import (
    _ARTICLE_COLUMNS,
    SQLTables,
    _article,
    _now,
)

_REPLACE = (
    " ON CONFLICT (article_id) DO UPDATE SET"
    " state = excluded.state, at = excluded.at, reason = excluded.reason"
)


class IndexOutboxTables(SQLTables):
    """The IndexOutbox port."""

    def es_pending(self, limit: int) -> list[Article]:
        """Articles Elasticsearch has not acknowledged or refused yet, oldest first."""
        rows = self._db.execute(
            f"SELECT {', '.join('a.' + c for c in _ARTICLE_COLUMNS.split(', '))} FROM articles a"
            " WHERE NOT EXISTS (SELECT 1 FROM es_sync s WHERE s.article_id = a.id)"
            " ORDER BY a.rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return self._with_entities([_article(row) for row in rows])

    def es_counts(self) -> dict[str, int]:
        """Articles per Elasticsearch state: indexed, rejected, expired, pending."""
        counts = dict(
            self._db.execute("SELECT state, count(*) FROM es_sync GROUP BY state").fetchall()
        )
        for state in ("indexed", "rejected", "expired"):
            counts.setdefault(state, 0)
        counts["pending"] = self.count_articles() - sum(counts.values())
        return counts

    def es_mark(
        self,
        indexed: Sequence[str],
        rejected: Sequence[tuple[str, str]],
        expired: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Record Elasticsearch's acknowledgements and refusals (with its reason), and the
        stories retention has removed from it (with why)."""
        now = _now()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO es_sync VALUES (?, 'expired', ?, ?)" + _REPLACE,
                [(article_id, now, reason) for article_id, reason in expired],
            )
            self._db.executemany(
                "INSERT INTO es_sync VALUES (?, 'indexed', ?, NULL)" + _REPLACE,
                [(article_id, now) for article_id in indexed],
            )
            self._db.executemany(
                "INSERT INTO es_sync VALUES (?, 'rejected', ?, ?)" + _REPLACE,
                [(article_id, now, reason) for article_id, reason in rejected],
            )

    def es_reset(self) -> None:
        """Forget every acknowledgement: everything is pending again."""
        with self._transaction():
            self._db.execute("DELETE FROM es_sync")

    def alert_rules_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The rules that alerted on each article (throttled and digest matches included)."""
        return self._lists_in(
            "SELECT article_id, rule FROM alerts WHERE article_id IN ({marks}) ORDER BY id", ids
        )
