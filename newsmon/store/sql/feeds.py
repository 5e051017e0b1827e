"""Feed state: each feed's last poll and every story page it listed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from newsmon.records import (
    FeedEntry,
    FeedPoll,
    FeedState,
)
from newsmon.store.sql.tables import (
    SQLTables,
    _dt,
    _ts,
)


class FeedTables(SQLTables):
    """The FeedStore port."""

    def feed_states(self) -> dict[str, FeedState]:
        """Every polled feed's remembered state, with its count of pending pages."""
        pending = dict(
            self._db.execute(
                "SELECT feed, count(*) FROM feed_entries WHERE state = 'pending' GROUP BY feed"
            ).fetchall()
        )
        states = {}
        for row in self._db.execute("SELECT * FROM feeds"):
            states[row["name"]] = FeedState(
                name=row["name"],
                url=row["url"],
                etag=row["etag"],
                last_modified=row["last_modified"],
                body_hash=row["body_hash"],
                interval=row["interval"],
                next_poll_at=_dt(row["next_poll_at"]),
                last_poll_at=_dt(row["last_poll_at"]),
                last_status=row["last_status"],
                last_error=row["last_error"],
                failures=int(row["failures"]),
                polls=int(row["polls"]),
                entries_seen=int(row["entries_seen"]),
                stored=int(row["stored"]),
                pending=int(pending.get(row["name"], 0)),
                last_new_at=_dt(row["last_new_at"]),
                first_poll_at=_dt(row["first_poll_at"]),
                silent_noted_at=_dt(row["silent_noted_at"]),
            )
        return states

    def record_poll(
        self,
        url: str,
        poll: FeedPoll,
        new_entries: int,
        interval: float,
        next_poll_at: datetime,
        now: datetime,
    ) -> None:
        """Remember a poll's outcome, validators, interval and when to poll next."""
        failed = poll.status in ("failed", "refused")
        at = _ts(now)
        with self._transaction():
            self._db.execute(
                "INSERT INTO feeds (name, url, first_poll_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (poll.feed, url, at),
            )
            self._db.execute(
                "UPDATE feeds SET url = ?, last_poll_at = ?, last_status = ?, last_error = ?,"
                " polls = polls + 1, interval = ?, next_poll_at = ?,"
                " failures = CASE WHEN ? THEN failures + 1 ELSE 0 END,"
                " etag = CASE WHEN ? THEN ? ELSE etag END,"
                " last_modified = CASE WHEN ? THEN ? ELSE last_modified END,"
                " body_hash = coalesce(?, body_hash),"
                " entries_seen = entries_seen + ?,"
                " last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END"
                " WHERE name = ?",
                (
                    url,
                    at,
                    poll.status,
                    poll.error,
                    interval,
                    _ts(next_poll_at),
                    failed,
                    poll.status == "fetched",
                    poll.etag,
                    poll.status == "fetched",
                    poll.last_modified,
                    poll.body_hash,
                    new_entries,
                    new_entries,
                    at,
                    poll.feed,
                ),
            )

    def note_silent(self, names: Sequence[str], now: datetime) -> None:
        """Record that these feeds' silence was announced now."""
        if names:
            with self._transaction():
                self._db.executemany(
                    "UPDATE feeds SET silent_noted_at = ? WHERE name = ?",
                    [(_ts(now), name) for name in names],
                )

    def add_entries(self, entries: Sequence[FeedEntry], now: datetime) -> list[FeedEntry]:
        """Record listed pages; returns those never seen before whose story is not stored.

        A page whose story is already stored (from another feed, or a file) is recorded as
        stored without being fetched.
        """
        at = _ts(now)
        fresh = []
        with self._transaction():
            known = self._known_ids([e.article_id for e in entries])
            for entry in entries:
                state = "stored" if entry.article_id in known else "pending"
                added = self._db.execute(
                    "INSERT INTO feed_entries (url, link, feed, article_id, title,"
                    " published_at, author, first_seen, state, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        entry.url,
                        entry.link,
                        entry.feed,
                        entry.article_id,
                        entry.title,
                        entry.published_at.isoformat() if entry.published_at else None,
                        entry.author,
                        at,
                        state,
                        at,
                    ),
                ).rowcount
                if added and state == "pending":
                    fresh.append(entry)
        return fresh

    def due_entries(self, now: datetime, limit: int) -> list[FeedEntry]:
        """Pending pages whose next attempt is due, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM feed_entries WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY first_seen, url LIMIT ?",
            (_ts(now), limit),
        ).fetchall()
        return [
            FeedEntry(
                feed=row["feed"],
                url=row["url"],
                link=row["link"],
                article_id=row["article_id"],
                title=row["title"],
                published_at=_dt(row["published_at"]),
                author=row["author"],
            )
            for row in rows
        ]

    def mark_entries(
        self,
        stored: Sequence[str],
        failed: Sequence[tuple[str, str, datetime | None]],
    ) -> None:
        """Pages whose story is stored; pages that failed (retry at a time, or None: refused)."""
        with self._transaction():
            for url in stored:
                changed = self._db.execute(
                    "UPDATE feed_entries SET state = 'stored', last_error = NULL,"
                    " attempts = attempts + 1 WHERE url = ? AND state = 'pending'",
                    (url,),
                ).rowcount
                if changed:
                    self._db.execute(
                        "UPDATE feeds SET stored = stored + 1 WHERE name ="
                        " (SELECT feed FROM feed_entries WHERE url = ?)",
                        (url,),
                    )
            for url, reason, retry_at in failed:
                self._db.execute(
                    "UPDATE feed_entries SET state = ?, last_error = ?, attempts = attempts + 1,"
                    " next_attempt_at = coalesce(?, next_attempt_at) WHERE url = ?",
                    (
                        "pending" if retry_at else "refused",
                        reason,
                        _ts(retry_at) if retry_at else None,
                        url,
                    ),
                )
