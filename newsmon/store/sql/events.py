"""Events: each event's state and evidence profile, and the index new stories search."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from newsmon.records import (
    EventLink,
    EventMember,
    EventSource,
    EventState,
    EventSummary,
    Fingerprint,
    StoryLink,
)
from newsmon.store.sql.tables import _ARTICLE_COLUMNS, SQLTables, _article, _dt, _ts


def _state(row: tuple[str, str, str, str, int, int, str, str]) -> EventState:
    event_id, title, first, last, stories, articles, profile, indexed = row
    return EventState(
        id=event_id,
        title=title,
        first_seen=datetime.fromisoformat(first),
        last_seen=datetime.fromisoformat(last),
        stories=stories,
        articles=articles,
        profile=tuple((t, float(w)) for t, w in json.loads(profile)),
        indexed_seen=datetime.fromisoformat(indexed),
    )


class EventTables(SQLTables):
    """The EventIndex and EventStore ports on SQLite."""

    # Events read or written in the current write transaction. A batch's stories compare
    # with the same recent events, and reading a profile costs more than comparing it; no
    # other writer can change them until the transaction ends.
    _event_cache: dict[str, EventState] | None = None

    @contextmanager
    def _events_cached(self) -> Iterator[None]:
        """Keep the events read and written for the rest of this write transaction."""
        self._event_cache = {}
        try:
            yield
        finally:
            self._event_cache = None

    def event_candidates(self, keys: Sequence[str], since: datetime, limit: int) -> list[str]:
        """Events indexed under any of the keys and seen since `since`, most keys shared first."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self._db.execute(
            f"SELECT event_id FROM event_keys WHERE key IN ({marks}) AND last_seen >= ?"
            " GROUP BY event_id ORDER BY count(*) DESC, event_id LIMIT ?",
            (*keys, _ts(since), limit),
        )
        return [row[0] for row in rows]

    def event_states(self, ids: Sequence[str]) -> dict[str, EventState]:
        """The stored state of each event (unknown ids left out)."""
        cache = self._event_cache if self._event_cache is not None else {}
        missing = [i for i in ids if i not in cache]
        if missing:
            columns = "title, first_seen, last_seen, stories, articles, profile, indexed_seen"
            rows = self._by_ids(columns, missing, table="events")
            cache.update({i: _state((i, *row)) for i, row in rows.items()})
        return {i: cache[i] for i in ids if i in cache}

    def event_of(self, article_id: str) -> str | None:
        """The event a stored article is in, if any."""
        row = self._db.execute(
            "SELECT event_id FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return row[0] if row else None

    def events(self, limit: int, now: datetime, recent_hours: float = 24) -> list[EventSummary]:
        """Events, the most recently reported first, with sources and recent stories counted."""
        rows = self._db.execute(
            "SELECT id, title, first_seen, last_seen, stories, articles, profile, indexed_seen"
            " FROM events"
            " ORDER BY last_seen DESC, id LIMIT ?",
            (limit,),
        ).fetchall()
        since = _ts(now - timedelta(hours=recent_hours))
        found = []
        for row in rows:
            sources, recent = self._db.execute(
                "SELECT (SELECT count(DISTINCT s.source) FROM article_sources s"
                "        JOIN articles a ON a.id = s.article_id WHERE a.event_id = ?),"
                " (SELECT count(*) FROM articles WHERE event_id = ? AND duplicate_of IS NULL"
                "        AND ingested_at >= ?)",
                (row[0], row[0], since),
            ).fetchone()
            found.append(EventSummary(_state(tuple(row)), int(sources), int(recent)))
        return found

    def count_events(self) -> int:
        """Number of events."""
        return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])

    def event_sources(self, event_id: str) -> list[EventSource]:
        """Every place an event's articles were read, with publication and first-seen times."""
        rows = self._db.execute(
            "SELECT s.source, a.published_at, s.first_seen FROM articles a"
            " JOIN article_sources s ON s.article_id = a.id WHERE a.event_id = ?"
            " ORDER BY s.first_seen, s.source",
            (event_id,),
        )
        return [
            EventSource(source, _dt(published), datetime.fromisoformat(first))
            for source, published, first in rows
        ]

    def event_members(self, event_id: str) -> list[EventMember]:
        """An event's articles in the order they were stored, with why each joined."""
        rows = self._db.execute(
            f"SELECT {_ARTICLE_COLUMNS}, event_score, event_shared FROM articles"
            " WHERE event_id = ? ORDER BY rowid",
            (event_id,),
        ).fetchall()
        articles = self._with_entities([_article(row) for row in rows])
        sources = self._lists_in(
            "SELECT article_id, source FROM article_sources WHERE article_id IN ({marks})"
            " ORDER BY first_seen, source",
            [a.id for a in articles],
        )
        return [
            EventMember(
                article=article,
                score=row["event_score"],
                shared=tuple(json.loads(row["event_shared"] or "[]")),
                sources=tuple(sources[article.id]),
            )
            for article, row in zip(articles, rows, strict=True)
        ]

    def reset_events(self) -> None:
        """Forget every event and every article's place in one (before recomputing them)."""
        with self._transaction():
            self._db.execute("DELETE FROM event_keys")
            self._db.execute("DELETE FROM events")
            self._db.execute(
                "UPDATE articles SET event_id = NULL, event_score = NULL, event_shared = NULL"
            )

    def relink_events(
        self,
        fingerprints: Sequence[Fingerprint],
        place: Callable[[Fingerprint, StoryLink], EventLink],
    ) -> None:
        """Place stored articles in events again, in order, in one transaction (rebuild)."""
        with self._transaction(), self._events_cached():
            for fp in fingerprints:
                a = fp.article
                link = place(fp, StoryLink(a.cluster_id or a.id, a.duplicate_of, a.similarity))
                self._db.execute(
                    "UPDATE articles SET event_id = ?, event_score = ?, event_shared = ?"
                    " WHERE id = ?",
                    (*event_columns(link), a.id),
                )
                # Its indexed document carries the event: send it again.
                self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (a.id,))
                self._write_event(link)

    def _write_event(self, link: EventLink) -> None:
        """Record an event's new state, and its index rows when they change (inside the
        caller's transaction)."""
        event = link.event
        if self._event_cache is not None:
            self._event_cache[event.id] = event
        self._db.execute(
            "INSERT INTO events"
            " (id, title, first_seen, last_seen, stories, articles, profile, indexed_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " first_seen = excluded.first_seen, last_seen = excluded.last_seen,"
            " stories = excluded.stories, articles = excluded.articles,"
            " profile = excluded.profile, indexed_seen = excluded.indexed_seen",
            (
                event.id,
                event.title,
                _ts(event.first_seen),
                _ts(event.last_seen),
                event.stories,
                event.articles,
                json.dumps([[t, w] for t, w in event.profile], ensure_ascii=False),
                _ts(event.indexed_seen),
            ),
        )
        if not link.keys:
            return
        self._db.execute("DELETE FROM event_keys WHERE event_id = ?", (event.id,))
        seen = _ts(event.indexed_seen)
        self._db.executemany(
            "INSERT INTO event_keys (key, last_seen, event_id) VALUES (?, ?, ?)",
            [(key, seen, event.id) for key in link.keys],
        )


def event_columns(link: EventLink | None) -> tuple[str | None, float | None, str | None]:
    """An article's event_id, event_score and event_shared column values."""
    if link is None:
        return None, None, None
    shared = json.dumps(list(link.shared), ensure_ascii=False) if link.shared else None
    return link.event.id, link.score, shared
