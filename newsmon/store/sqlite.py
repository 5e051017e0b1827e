"""SQLite store: one file, WAL mode, FTS5 search, schema by numbered migrations."""

from __future__ import annotations

import json
import sqlite3
import uuid
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
    Fingerprint,
    Mention,
    Rejection,
    RejectionRecord,
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
    " cluster_id, duplicate_of, similarity"
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
    )


def _entity_rows(article_id: str, tags: Sequence[EntityTag]) -> list[tuple[str, ...]]:
    return [
        (
            article_id,
            tag.id,
            tag.label,
            tag.type,
            json.dumps([[m.start, m.end, m.text] for m in tag.mentions], ensure_ascii=False),
        )
        for tag in tags
    ]


def _entity_tag(row: sqlite3.Row) -> EntityTag:
    mentions = tuple(Mention(start, end, text) for start, end, text in json.loads(row["mentions"]))
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
                " rejected = ?, seconds = ? WHERE id = ?",
                (
                    _now(),
                    summary.status,
                    summary.inputs_read,
                    summary.stored,
                    summary.already_known,
                    len(summary.rejected),
                    summary.seconds,
                    summary.run_id,
                ),
            )

    def _known_ids(self, ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT id FROM articles WHERE id IN ({marks})", chunk)
            known.update(row[0] for row in rows)
        return known

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
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        for start in range(0, len(articles), _ID_CHUNK):
            chunk = [a.id for a in articles[start : start + _ID_CHUNK]]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT * FROM article_entities WHERE article_id IN ({marks})"
                " ORDER BY article_id, json_extract(mentions, '$[0][0]')",
                chunk,
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
        found: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT id, {columns} FROM articles WHERE id IN ({marks})", chunk
            )
            found.update({row[0]: tuple(row[1:]) for row in rows})
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

    def sources_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Every source of each article, first seen first."""
        found: dict[str, list[str]] = {i: [] for i in ids}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = list(ids[start : start + _ID_CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT article_id, source FROM article_sources WHERE article_id IN ({marks})"
                " ORDER BY first_seen, source",
                chunk,
            )
            for article_id, source in rows:
                found[article_id].append(source)
        return found

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

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
