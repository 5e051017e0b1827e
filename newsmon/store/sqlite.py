"""SQLite store: one file, WAL mode, FTS5 search, schema by numbered migrations."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from newsmon.errors import StoreError
from newsmon.records import (
    AlertRecord,
    AlertState,
    Article,
    ChannelTarget,
    Delivery,
    DeliveryState,
    DeliveryStatus,
    EntityTag,
    FeedEntry,
    FeedPoll,
    FeedState,
    Fingerprint,
    Mention,
    Rejection,
    RejectionRecord,
    RuleMatch,
    RunSummary,
    StoreResult,
    StoryCopies,
    StoryLink,
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


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


_ARTICLE_COLUMNS = (
    "id, source, title, text, text_norm, lang, ingested_at, encoding, url, published_at,"
    " cluster_id, duplicate_of, similarity, author, version_of"
)
LAYOUT_KEY = "dedup_layout"


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
    )


def _mention_row(m: Mention) -> list[int | str]:
    """A mention as stored: [start, end, text], plus the field when it is not the text."""
    row: list[int | str] = [m.start, m.end, m.text]
    return row if m.field == "text" else [*row, m.field]


def _entity_rows(article_id: str, tags: Sequence[EntityTag]) -> list[tuple[str, ...]]:
    return [
        (
            article_id,
            tag.id,
            tag.label,
            tag.type,
            json.dumps([_mention_row(m) for m in tag.mentions], ensure_ascii=False),
        )
        for tag in tags
    ]


def _entity_tag(row: sqlite3.Row) -> EntityTag:
    # Rows written before headlines were tagged have no field: they are in the text.
    mentions = tuple(Mention(*values) for values in json.loads(row["mentions"]))
    return EntityTag(row["entity_id"], row["label"], row["type"], mentions)


class SQLiteStore:
    """Store backed by one SQLite file; safe for several processes (WAL, immediate writes)."""

    def __init__(self, path: Path, analyzer: Analyzer) -> None:
        self.path = path
        self._analyzer = analyzer
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot open store: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"{path}: cannot create store: {exc.strerror or exc}") from exc

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

    def begin_run(self, inputs: Sequence[str]) -> str:
        """Record the start of a run and return its id."""
        run_id = uuid.uuid4().hex[:12]
        with self._transaction():
            self._db.execute(
                "INSERT INTO runs (id, started_at, inputs, status) VALUES (?, ?, ?, 'running')",
                (run_id, _now(), "\n".join(inputs)),
            )
        return run_id

    def finish_run(self, summary: RunSummary) -> None:
        """Record a run's final counts and status."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, read = ?, stored = ?, known = ?,"
                " rejected = ?, seconds = ?, alerts = ? WHERE id = ?",
                (
                    _now(),
                    summary.status,
                    summary.inputs_read,
                    summary.stored,
                    summary.already_known,
                    len(summary.rejected),
                    summary.seconds,
                    len(summary.alerts),
                    summary.run_id,
                ),
            )

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

    def check_layout(self, layout: str) -> None:
        """Record the LSH band layout on first use; refuse a different one over stored keys."""
        with self._transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (LAYOUT_KEY,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES (?, ?)", (LAYOUT_KEY, layout))
            elif row[0] != layout:
                has_keys = self._db.execute("SELECT 1 FROM lsh_bands LIMIT 1").fetchone()
                if has_keys:
                    raise StoreError(
                        f"{self.path}: dedup settings changed (stored band layout {row[0]},"
                        f" now {layout}); run `newsmon dedup rebuild` to recompute them"
                    )
                self._db.execute("UPDATE meta SET value = ? WHERE key = ?", (layout, LAYOUT_KEY))

    def add_articles(
        self,
        fingerprints: Sequence[Fingerprint],
        run_id: str,
        link: Callable[[Fingerprint], StoryLink],
    ) -> StoreResult:
        """Store new articles with the story link() gives each; known ones only gain a source.

        One write transaction covers lookup, linking and insert, so two processes storing
        copies of one story cannot both make theirs the first.
        """
        new_ids: list[str] = []
        known_ids: list[str] = []
        now = _now()
        with self._transaction():
            known = self._known_ids([fp.article.id for fp in fingerprints])
            for fp in fingerprints:
                article = fp.article
                was_known = article.id in known
                if was_known:
                    known_ids.append(article.id)
                else:
                    known.add(article.id)  # a second copy later in the same batch is known
                    self._insert(fp, link(fp), run_id)
                    self._add_band_keys(fp)
                    self._db.execute("INSERT INTO alert_queue VALUES (?)", (article.id,))
                    new_ids.append(article.id)
                added = self._db.execute(
                    "INSERT OR IGNORE INTO article_sources (article_id, source, first_seen)"
                    " VALUES (?, ?, ?)",
                    (article.id, article.source, now),
                ).rowcount
                if added and was_known:
                    # Its indexed document lists its sources: send it again.
                    self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (article.id,))
        return StoreResult(new_ids=new_ids, known_ids=known_ids)

    def _add_band_keys(self, fp: Fingerprint) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO lsh_bands (band_key, article_id) VALUES (?, ?)",
            [(key, fp.article.id) for key in fp.band_keys],
        )

    def _insert(self, fp: Fingerprint, story: StoryLink, run_id: str) -> None:
        a = fp.article
        self._db.execute(
            f"INSERT INTO articles ({_ARTICLE_COLUMNS}, run_id, minhash, shingle_count)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.id,
                a.source,
                a.title,
                a.text,
                a.text_norm,
                a.lang,
                a.ingested_at.isoformat(),
                a.encoding,
                a.url,
                a.published_at.isoformat() if a.published_at else None,
                story.cluster_id,
                story.duplicate_of,
                story.similarity,
                a.author,
                a.version_of,
                run_id,
                fp.signature or None,
                len(fp.shingles),
            ),
        )
        self._db.execute(
            "INSERT INTO articles_fts (id, title, body) VALUES (?, ?, ?)",
            (a.id, self._analyzer(a.title), self._analyzer(a.text_norm)),
        )
        self._db.executemany(
            "INSERT INTO article_entities VALUES (?, ?, ?, ?, ?)", _entity_rows(a.id, a.entities)
        )

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

    def replace_entities(self, tagged: Sequence[Article]) -> None:
        """Overwrite stored articles' entities (re-tagging); Elasticsearch gets them again."""
        with self._transaction():
            for article in tagged:
                self._db.execute("DELETE FROM article_entities WHERE article_id = ?", (article.id,))
                self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (article.id,))
                self._db.executemany(
                    "INSERT INTO article_entities VALUES (?, ?, ?, ?, ?)",
                    _entity_rows(article.id, article.entities),
                )

    def lsh_candidates(self, band_keys: Sequence[int], limit: int = 5) -> list[str]:
        """Ids sharing band keys with these, most shared keys first, at most limit."""
        if not band_keys:
            return []
        marks = ",".join("?" * len(band_keys))
        # The index (band_key, article_id) answers this alone; ties are ranked by the caller.
        rows = self._db.execute(
            f"SELECT article_id FROM lsh_bands WHERE band_key IN ({marks})"
            " GROUP BY article_id ORDER BY count(*) DESC LIMIT ?",
            (*band_keys, limit),
        )
        return [row[0] for row in rows]

    def _by_ids(self, columns: str, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        rows = self._rows_in(f"SELECT id, {columns} FROM articles WHERE id IN ({{marks}})", ids)
        found = {row[0]: tuple(row[1:]) for row in rows}
        # In the order asked for: callers pass candidates best first.
        return {i: found[i] for i in ids if i in found}

    def story_sketches(self, ids: Sequence[str]) -> dict[str, tuple[bytes, int]]:
        """For each id: (MinHash signature, shingle count); articles without one are left out."""
        rows = self._by_ids("minhash, shingle_count", ids)
        return {i: (bytes(sig), int(n)) for i, (sig, n) in rows.items() if sig is not None}

    def story_texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """For each id: (normalised text, cluster id)."""
        return {
            i: (text, cluster)
            for i, (text, cluster) in self._by_ids("text_norm, cluster_id", ids).items()
        }

    def stories(self, min_copies: int = 1, limit: int | None = None) -> list[StoryCopies]:
        """Stories with their copies (first seen first), the most copied stories first."""
        sql = (
            "SELECT cluster_id, count(*) AS n, min(rowid) AS first FROM articles"
            " GROUP BY cluster_id HAVING n >= ? ORDER BY n DESC, first"
        )
        params: tuple[int, ...] = (min_copies,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        result = []
        for cluster_id, _n, _first in self._db.execute(sql, params).fetchall():
            copies = self._with_entities(
                [
                    _article(row)
                    for row in self._db.execute(
                        f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE cluster_id = ?"
                        " ORDER BY rowid",
                        (cluster_id,),
                    )
                ]
            )
            sources = [s for copy in copies for s in self.sources_of(copy.id)]
            result.append(StoryCopies(cluster_id, copies[0].title, copies, sources))
        return result

    def reset_stories(self) -> None:
        """Forget every band key and story link (before recomputing them all)."""
        with self._transaction():
            self._db.execute("DELETE FROM lsh_bands")
            self._db.execute("UPDATE articles SET minhash = NULL, shingle_count = NULL")
            self._db.execute("DELETE FROM meta WHERE key = ?", (LAYOUT_KEY,))
            self._db.execute(
                "UPDATE articles SET cluster_id = id, duplicate_of = NULL, similarity = NULL"
            )

    def relink(
        self, fingerprints: Sequence[Fingerprint], link: Callable[[Fingerprint], StoryLink]
    ) -> None:
        """Recompute stored articles' story links and band keys, in order (used by rebuild)."""
        with self._transaction():
            for fp in fingerprints:
                story = link(fp)
                self._db.execute(
                    "UPDATE articles SET cluster_id = ?, duplicate_of = ?, similarity = ?,"
                    " minhash = ?, shingle_count = ? WHERE id = ?",
                    (
                        story.cluster_id,
                        story.duplicate_of,
                        story.similarity,
                        fp.signature or None,
                        len(fp.shingles),
                        fp.article.id,
                    ),
                )
                # Its indexed document carries the story fields: send it again.
                self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (fp.article.id,))
                self._add_band_keys(fp)

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
        """Articles per Elasticsearch state: indexed, rejected, pending."""
        counts = dict(
            self._db.execute("SELECT state, count(*) FROM es_sync GROUP BY state").fetchall()
        )
        counts.setdefault("indexed", 0)
        counts.setdefault("rejected", 0)
        counts["pending"] = self.count_articles() - counts["indexed"] - counts["rejected"]
        return counts

    def es_mark(self, indexed: Sequence[str], rejected: Sequence[tuple[str, str]]) -> None:
        """Record Elasticsearch's acknowledgements and refusals (with its reason)."""
        now = _now()
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO es_sync VALUES (?, 'indexed', ?, NULL)",
                [(article_id, now) for article_id in indexed],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO es_sync VALUES (?, 'rejected', ?, ?)",
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

    def sources_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Every source of each article, first seen first."""
        return self._lists_in(
            "SELECT article_id, source FROM article_sources WHERE article_id IN ({marks})"
            " ORDER BY first_seen, source",
            ids,
        )

    def add_rejections(self, run_id: str, rejections: Sequence[Rejection]) -> None:
        """Record rejected inputs against a run."""
        now = _now()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO rejections (run_id, source, stage, reason, at) VALUES (?, ?, ?, ?, ?)",
                [(run_id, r.source, r.stage, r.reason, now) for r in rejections],
            )

    def iter_articles(self) -> Iterator[Article]:
        """All articles, oldest first."""
        cursor = self._db.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY ingested_at, rowid"
        )
        while rows := cursor.fetchmany(_ID_CHUNK):
            yield from self._with_entities([_article(row) for row in rows])

    def sources_of(self, article_id: str) -> list[str]:
        """Every source an article was seen at, first seen first."""
        rows = self._db.execute(
            "SELECT source FROM article_sources WHERE article_id = ? ORDER BY first_seen, source",
            (article_id,),
        )
        return [row[0] for row in rows]

    def count_articles(self) -> int:
        """Number of stored articles."""
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def search(
        self,
        any_of_groups: Sequence[Sequence[str]],
        limit: int,
        entity_ids: Sequence[str] = (),
    ) -> list[tuple[Article, float]]:
        """Articles with, for every group, one of its terms, and every entity; best first.

        With no terms, the articles naming every entity, newest first (score 0).
        """
        groups = [[t for t in group if t] for group in any_of_groups]
        groups = [g for g in groups if g]
        if not groups and not entity_ids:
            return []
        columns = ", ".join("a." + c for c in _ARTICLE_COLUMNS.split(", "))
        entity_filter = "".join(
            " AND a.id IN (SELECT article_id FROM article_entities WHERE entity_id = ?)"
            for _ in entity_ids
        )
        if not groups:
            rows = self._db.execute(
                f"SELECT {columns}, 0.0 AS rank FROM articles a WHERE 1 = 1{entity_filter}"
                " ORDER BY a.ingested_at DESC, a.rowid DESC LIMIT ?",
                (*entity_ids, limit),
            ).fetchall()
        else:
            expression = " AND ".join(
                "(" + " OR ".join(_fts_phrase(t) for t in group) + ")" for group in groups
            )
            # Title matches weigh more than body matches.
            rows = self._db.execute(
                f"SELECT {columns}, bm25(articles_fts, 0.0, 3.0, 1.0) AS rank"
                " FROM articles_fts JOIN articles a ON a.id = articles_fts.id"
                f" WHERE articles_fts MATCH ?{entity_filter} ORDER BY rank LIMIT ?",
                (expression, *entity_ids, limit),
            ).fetchall()
        articles = self._with_entities([_article(row) for row in rows])
        return [(a, -float(row["rank"])) for a, row in zip(articles, rows, strict=True)]

    def rejections(self, run_id: str | None = None) -> list[RejectionRecord]:
        """Rejected inputs of one run, or of every run when run_id is None."""
        sql = "SELECT run_id, source, stage, reason, at FROM rejections"
        params: tuple[str, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (run_id,)
        rows = self._db.execute(sql + " ORDER BY id", params)
        return [
            RejectionRecord(
                run_id=r["run_id"],
                source=r["source"],
                stage=r["stage"],
                reason=r["reason"],
                at=datetime.fromisoformat(r["at"]),
            )
            for r in rows
        ]

    def last_run_id(self) -> str | None:
        """Id of the most recently started run, if any."""
        row = self._db.execute(
            "SELECT id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else None

    # Alerts: the queue of articles to check, alerts, and the delivery outbox.

    def articles_by_id(self, ids: Sequence[str]) -> list[Article]:
        """Stored articles with their entities, in the order asked for (unknown ids left out)."""
        rows = self._rows_in(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({{marks}})", ids
        )
        found = {a.id: a for a in self._with_entities([_article(r) for r in rows])}
        return [found[i] for i in ids if i in found]

    def alert_queue(self, limit: int) -> list[Article]:
        """Stored articles the alert rules have not been checked against yet, oldest first."""
        rows = self._db.execute(
            "SELECT q.article_id FROM alert_queue q JOIN articles a ON a.id = q.article_id"
            " ORDER BY a.rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return self.articles_by_id([row[0] for row in rows])

    def record_alerts(
        self, run_id: str | None, checked: Sequence[str], found: Sequence[RuleMatch], now: datetime
    ) -> tuple[list[AlertRecord], list[str]]:
        """Take checked articles off the queue and record their rule matches, in one transaction.

        Returns the alerts that are new (a rule alerts once per story key, whoever records
        it first) and the article ids this call took off the queue.
        """
        at = _ts(now)
        created: list[int] = []
        with self._transaction():
            taken = {
                article_id
                for article_id in checked
                if self._db.execute(
                    "DELETE FROM alert_queue WHERE article_id = ?", (article_id,)
                ).rowcount
            }
            for match in found:
                if match.article_id not in taken:
                    continue  # another run checked it first
                state = self._alert_state(match, now)
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO alerts"
                    " (rule, story_key, article_id, run_id, matched_at, state)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (match.rule, match.story_key, match.article_id, run_id, at, state),
                )
                if not cursor.rowcount:
                    continue  # this story already alerted for this rule
                alert_id = int(cursor.lastrowid or 0)
                created.append(alert_id)
                # Its indexed document lists the rules that alerted on it: send it again.
                self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (match.article_id,))
                if state == AlertState.QUEUED:
                    for target in match.channels:
                        key = delivery_key(match.rule, match.story_key, target.channel)
                        self._add_delivery(key, match.rule, target, "alert", None, at, [alert_id])
        return self.alerts_by_id(created), [i for i in checked if i in taken]

    def _alert_state(self, match: RuleMatch, now: datetime) -> AlertState:
        if match.digest:
            return AlertState.DIGEST
        if match.throttle_seconds > 0:
            since = _ts(now - timedelta(seconds=match.throttle_seconds))
            recent = self._db.execute(
                "SELECT 1 FROM alerts WHERE rule = ? AND state IN ('queued', 'recorded')"
                " AND matched_at > ? LIMIT 1",
                (match.rule, since),
            ).fetchone()
            if recent:
                return AlertState.THROTTLED
        return AlertState.QUEUED if match.channels else AlertState.RECORDED

    def _add_delivery(
        self,
        key: str,
        rule: str,
        target: ChannelTarget,
        kind: str,
        day: str | None,
        at: str,
        alert_ids: Sequence[int],
    ) -> None:
        cursor = self._db.execute(
            "INSERT INTO deliveries (key, rule, channel, kind, target, digest_day, state,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (key, rule, target.channel, kind, target.target, day, at, at),
        )
        self._db.executemany(
            "INSERT INTO delivery_alerts VALUES (?, ?)",
            [(cursor.lastrowid, alert_id) for alert_id in alert_ids],
        )

    def undigested(self, rule: str) -> list[tuple[int, datetime]]:
        """A digest rule's alerts not yet in a digest: (alert id, matched at), oldest first."""
        rows = self._db.execute(
            "SELECT id, matched_at FROM alerts a WHERE rule = ? AND state = 'digest'"
            " AND NOT EXISTS (SELECT 1 FROM delivery_alerts d WHERE d.alert_id = a.id)"
            " ORDER BY matched_at, id",
            (rule,),
        ).fetchall()
        return [(int(r[0]), datetime.fromisoformat(r[1])) for r in rows]

    def add_digest(
        self,
        rule: str,
        day: str,
        alert_ids: Sequence[int],
        channels: Sequence[ChannelTarget],
        now: datetime,
    ) -> int:
        """Write one digest delivery per channel for a rule's day; returns how many were written.

        Alerts that reach a day whose digest was already sent (a run that matched just
        before midnight and stored just after) go into a second digest for that day.
        """
        at = _ts(now)
        written = 0
        with self._transaction():
            fresh = [
                alert_id
                for alert_id in alert_ids
                if not self._db.execute(
                    "SELECT 1 FROM delivery_alerts WHERE alert_id = ?", (alert_id,)
                ).fetchone()
            ]
            if not fresh:
                return 0
            if not channels:
                # Nothing to send through: mark them recorded so they leave the digest queue.
                self._db.executemany(
                    "UPDATE alerts SET state = 'recorded' WHERE id = ?", [(i,) for i in fresh]
                )
                return 0
            for target in channels:
                part = 1
                key = delivery_key(rule, f"digest:{day}", target.channel)
                while self._db.execute("SELECT 1 FROM deliveries WHERE key = ?", (key,)).fetchone():
                    part += 1
                    key = delivery_key(rule, f"digest:{day}:{part}", target.channel)
                self._add_delivery(key, rule, target, "digest", day, at, fresh)
                written += 1
        return written

    def claim_deliveries(
        self,
        owner: str,
        channels: Sequence[str],
        now: datetime,
        lease_seconds: float,
        after_id: int = 0,
        limit: int = 50,
        ignore_backoff: bool = False,
    ) -> list[Delivery]:
        """Reserve pending deliveries that are due (and not reserved) for this sender.

        One write transaction selects and reserves, so two senders never hold the same
        delivery; a sender that dies leaves its reservation to expire after lease_seconds.
        Each claim counts as an attempt.
        """
        if not channels:
            return []
        at = _ts(now)
        marks = ",".join("?" * len(channels))
        due = "" if ignore_backoff else " AND next_attempt_at <= ?"
        params: list[Any] = [*channels, after_id]
        if not ignore_backoff:
            params.append(at)
        with self._transaction():
            rows = self._db.execute(
                f"SELECT id FROM deliveries WHERE state = 'pending' AND channel IN ({marks})"
                f" AND id > ?{due} AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY id LIMIT ?",
                (*params, at, limit),
            ).fetchall()
            ids = [int(row[0]) for row in rows]
            until = _ts(now + timedelta(seconds=lease_seconds))
            self._db.executemany(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(owner, until, i) for i in ids],
            )
        return self._deliveries(ids)

    def _deliveries(self, ids: Sequence[int]) -> list[Delivery]:
        result = []
        for i in ids:
            row = self._db.execute("SELECT * FROM deliveries WHERE id = ?", (i,)).fetchone()
            articles = self._db.execute(
                "SELECT a.article_id FROM delivery_alerts d JOIN alerts a ON a.id = d.alert_id"
                " WHERE d.delivery_id = ? ORDER BY a.matched_at, a.id",
                (i,),
            ).fetchall()
            result.append(
                Delivery(
                    id=i,
                    key=row["key"],
                    rule=row["rule"],
                    channel=row["channel"],
                    kind=row["kind"],
                    target=row["target"],
                    attempts=int(row["attempts"]),
                    digest_day=row["digest_day"],
                    article_ids=tuple(r[0] for r in articles),
                )
            )
        return result

    def mark_sent(self, delivery_id: int, at: datetime, note: str | None = None) -> None:
        """Record that the channel accepted the message (note: what it said, if anything)."""
        with self._transaction():
            self._db.execute(
                "UPDATE deliveries SET state = 'sent', sent_at = ?, last_error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                (_ts(at), note, delivery_id),
            )

    def mark_failed(
        self, delivery_id: int, owner: str, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: pending again from retry_at, or given up when it is None."""
        state = DeliveryState.PENDING if retry_at else DeliveryState.GIVEN_UP
        with self._transaction():
            self._db.execute(
                "UPDATE deliveries SET state = ?, last_error = ?,"
                " next_attempt_at = coalesce(?, next_attempt_at),"
                " lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ? AND state = 'pending'",
                (str(state), error, _ts(retry_at) if retry_at else None, delivery_id, owner),
            )

    def requeue_given_up(self, now: datetime) -> int:
        """Make every given-up delivery pending again (after fixing what refused it)."""
        with self._transaction():
            return self._db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?"
                " WHERE state = 'given-up'",
                (_ts(now),),
            ).rowcount

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries per state: pending, sent, given-up."""
        counts = {str(state): 0 for state in DeliveryState}
        counts.update(
            self._db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        )
        return counts

    def alerts(
        self, rule: str | None = None, limit: int = 50, unsent: bool = False
    ) -> list[AlertRecord]:
        """Alerts, newest first, with their deliveries; unsent: only those with one not sent."""
        sql = "SELECT id FROM alerts a WHERE 1 = 1"
        params: list[Any] = []
        if rule:
            sql += " AND rule = ?"
            params.append(rule)
        if unsent:
            sql += (
                " AND EXISTS (SELECT 1 FROM delivery_alerts da JOIN deliveries d"
                " ON d.id = da.delivery_id WHERE da.alert_id = a.id AND d.state != 'sent')"
            )
        rows = self._db.execute(
            sql + " ORDER BY matched_at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return self.alerts_by_id([int(row[0]) for row in rows])

    def alerts_by_id(self, ids: Sequence[int]) -> list[AlertRecord]:
        """Alerts with their deliveries, in the order asked for."""
        records = []
        for i in ids:
            row = self._db.execute(
                "SELECT al.*, ar.title, ar.cluster_id FROM alerts al"
                " JOIN articles ar ON ar.id = al.article_id WHERE al.id = ?",
                (i,),
            ).fetchone()
            deliveries = self._db.execute(
                "SELECT d.* FROM deliveries d JOIN delivery_alerts da ON da.delivery_id = d.id"
                " WHERE da.alert_id = ? ORDER BY d.id",
                (i,),
            ).fetchall()
            records.append(
                AlertRecord(
                    id=i,
                    rule=row["rule"],
                    article_id=row["article_id"],
                    cluster_id=row["cluster_id"] or row["article_id"],
                    title=row["title"],
                    matched_at=datetime.fromisoformat(row["matched_at"]),
                    run_id=row["run_id"],
                    state=AlertState(row["state"]),
                    deliveries=tuple(_delivery_status(d) for d in deliveries),
                )
            )
        return records

    # Feeds: poll state per feed, and every story page they list.

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
                "INSERT OR IGNORE INTO feeds (name, url, first_poll_at) VALUES (?, ?, ?)",
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
                    "INSERT OR IGNORE INTO feed_entries (url, link, feed, article_id, title,"
                    " published_at, author, first_seen, state, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    def close(self) -> None:
        """Release the connection."""
        self._db.close()


def delivery_key(rule: str, story_key: str, channel: str) -> str:
    """The idempotency key of one message: the same rule, story and channel give the same key."""
    digest = hashlib.sha256(f"{rule}\x1f{story_key}\x1f{channel}".encode()).hexdigest()
    return digest[:32]


def _delivery_status(row: sqlite3.Row) -> DeliveryStatus:
    return DeliveryStatus(
        id=int(row["id"]),
        channel=row["channel"],
        target=row["target"],
        state=DeliveryState(row["state"]),
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        sent_at=_dt(row["sent_at"]),
        next_attempt_at=_dt(row["next_attempt_at"]) if row["state"] == "pending" else None,
        kind=row["kind"],
    )
