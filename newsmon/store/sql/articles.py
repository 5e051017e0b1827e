"""Articles: stories, sources, entities, LSH band keys and full-text search."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence

from newsmon.errors import StoreError
from newsmon.records import (
    EVERY_STORY,
    Article,
    DedupCandidate,
    EntityTag,
    EventLink,
    Fingerprint,
    Mention,
    StoreResult,
    StoryCopies,
    StoryFilter,
    StoryLink,
)
from newsmon.store.sql.events import EventTables, event_columns
from newsmon.store.sql.tables import (
    _ARTICLE_COLUMNS,
    _ID_CHUNK,
    Row,
    _article,
    _now,
    story_filter_sql,
    story_second,
)

LAYOUT_KEY = "dedup_layout"
_INSERT_COLUMNS = f"{_ARTICLE_COLUMNS}, event_score, event_shared, run_id, story_time"
_INSERT_MARKS = ", ".join("?" * len(_INSERT_COLUMNS.split(",")))
# Documents read per band key: the oldest few copies stand for a story copied many times.
_PER_KEY = 16


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


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


class ArticleTables(EventTables):
    """The ArticleStore port, and its events linked in the same transaction."""

    def check_layout(self, layout: str) -> None:
        """Record the LSH band layout on first use; refuse a different one over stored keys."""
        with self._transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (LAYOUT_KEY,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES (?, ?)", (LAYOUT_KEY, layout))
            elif row[0] != layout:
                has_keys = self._db.execute("SELECT 1 FROM lsh_keys LIMIT 1").fetchone()
                if has_keys:
                    raise StoreError(
                        f"{self.location}: dedup settings changed (stored band layout {row[0]},"
                        f" now {layout}); run `newsmon dedup rebuild` to recompute them"
                    )
                self._db.execute("UPDATE meta SET value = ? WHERE key = ?", (layout, LAYOUT_KEY))

    def add_articles(
        self,
        fingerprints: Sequence[Fingerprint],
        run_id: str,
        link: Callable[[Fingerprint], StoryLink],
        place: Callable[[Fingerprint, StoryLink], EventLink] | None = None,
    ) -> StoreResult:
        """Store new articles with the story link() gives each and the event place() gives
        it; known ones only gain a source.

        One write transaction covers lookup, linking and insert, so two processes storing
        copies of one story cannot both make theirs the first, nor open an event twice.
        """
        new_ids: list[str] = []
        known_ids: list[str] = []
        searchable: list[tuple[str, str, str]] = []
        now = _now()
        with self._transaction(), self._events_cached():
            known = self._known_ids([fp.article.id for fp in fingerprints])
            for fp in fingerprints:
                article = fp.article
                was_known = article.id in known
                if was_known:
                    known_ids.append(article.id)
                else:
                    known.add(article.id)  # a second copy later in the same batch is known
                    story = link(fp)
                    event = place(fp, story) if place is not None else None
                    self._insert(fp, story, run_id, event)
                    if event is not None:
                        self._write_event(event)
                    searchable.append(self._search_row(article))
                    self._add_band_keys(fp)
                    self._db.execute("INSERT INTO alert_queue VALUES (?)", (article.id,))
                    new_ids.append(article.id)
                added = self._db.execute(
                    "INSERT INTO article_sources (article_id, source, first_seen)"
                    " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (article.id, article.source, now),
                )
                # Asked only of a known article: a row count waits for the server's answer.
                if was_known and added.rowcount:
                    # Its indexed document lists its sources: send it again.
                    self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (article.id,))
            # Last, in one statement: FTS5 writes out its pending terms whenever another
            # statement of the transaction opens a savepoint (any upsert or multi-index
            # insert does), so rows added between the others cost a segment each.
            self._db.executemany(
                "INSERT INTO articles_fts (id, title, body) VALUES (?, ?, ?)", searchable
            )
        return StoreResult(new_ids=new_ids, known_ids=known_ids)

    def _search_row(self, a: Article) -> tuple[str, str, str]:
        return (a.id, self._analyzer(a.title), self._analyzer(a.text_norm))

    def _add_band_keys(self, fp: Fingerprint) -> None:
        if not fp.band_keys:
            return
        doc = self._db.execute(
            "INSERT INTO dedup_docs (article_id, minhash, shingle_count) VALUES (?, ?, ?)"
            " ON CONFLICT (article_id) DO UPDATE SET"
            " minhash = excluded.minhash, shingle_count = excluded.shingle_count"
            " RETURNING doc",
            (fp.article.id, fp.signature, fp.shingle_count),
        ).fetchone()[0]
        self._db.executemany(
            "INSERT INTO lsh_keys (band_key, doc) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(key, doc) for key in fp.band_keys],
        )

    def _insert(
        self, fp: Fingerprint, story: StoryLink, run_id: str, event: EventLink | None
    ) -> None:
        a = fp.article
        self._db.execute(
            f"INSERT INTO articles ({_INSERT_COLUMNS}) VALUES ({_INSERT_MARKS})",
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
                *event_columns(event),
                run_id,
                story_second(a.story_time()),
            ),
        )
        self._db.executemany(
            "INSERT INTO article_entities VALUES (?, ?, ?, ?, ?)", _entity_rows(a.id, a.entities)
        )

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

    def lsh_candidates(self, band_keys: Sequence[int], limit: int = 5) -> list[DedupCandidate]:
        """Articles sharing band keys with these, with their sketches; most shared keys first
        (then oldest), at most limit.

        Each key contributes its oldest few documents only: a story copied a thousand times
        is found through its first copies, at the cost of a dozen rows, not a thousand. The
        sketches come with the ids: a second query for them cost a third of a lookup.
        """
        if not band_keys:
            return []
        per_key = " UNION ALL ".join(
            [
                "SELECT * FROM (SELECT doc FROM lsh_keys WHERE band_key = ?"
                f" ORDER BY doc LIMIT {_PER_KEY}) AS b"
            ]
            * len(band_keys)
        )
        # Grouped by doc alone, then joined: the signatures stay out of the grouping.
        rows = self._db.execute(
            "SELECT d.article_id, d.minhash, d.shingle_count FROM"
            f" (SELECT k.doc, count(*) AS shared FROM ({per_key}) AS k GROUP BY k.doc"
            "  ORDER BY shared DESC, k.doc LIMIT ?) AS c"
            " JOIN dedup_docs d ON d.doc = c.doc ORDER BY c.shared DESC, c.doc",
            (*band_keys, limit),
        )
        return [DedupCandidate(row[0], bytes(row[1]), int(row[2])) for row in rows]

    def story_texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """For each id: (normalised text, cluster id)."""
        return {
            i: (text, cluster)
            for i, (text, cluster) in self._by_ids("text_norm, cluster_id", ids).items()
        }

    def stories(
        self, min_copies: int = 1, limit: int | None = None, wanted: StoryFilter = EVERY_STORY
    ) -> list[StoryCopies]:
        """Stories with their copies (first seen first), the most copied stories first.

        With a filter, only the copies it admits are counted and listed.
        """
        where, admitted = story_filter_sql(wanted)
        sql = (
            "SELECT a.cluster_id, count(*) AS n, min(a.rowid) AS first FROM articles a"
            f" WHERE 1 = 1{where} GROUP BY a.cluster_id HAVING count(*) >= ? ORDER BY n DESC, first"
        )
        params = [*admitted, min_copies]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        columns = ", ".join("a." + c for c in _ARTICLE_COLUMNS.split(", "))
        result = []
        for cluster_id, _n, _first in self._db.execute(sql, params).fetchall():
            copies = self._with_entities(
                [
                    _article(row)
                    for row in self._db.execute(
                        f"SELECT {columns} FROM articles a WHERE a.cluster_id = ?{where}"
                        " ORDER BY a.rowid",
                        (cluster_id, *admitted),
                    )
                ]
            )
            sources = [s for copy in copies for s in self.sources_of(copy.id)]
            result.append(StoryCopies(cluster_id, copies[0].title, copies, sources))
        return result

    def reset_stories(self) -> None:
        """Forget every band key and story link (before recomputing them all)."""
        with self._transaction():
            self._db.execute("DELETE FROM lsh_keys")
            self._db.execute("DELETE FROM dedup_docs")
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
                    "UPDATE articles SET cluster_id = ?, duplicate_of = ?, similarity = ?"
                    " WHERE id = ?",
                    (
                        story.cluster_id,
                        story.duplicate_of,
                        story.similarity,
                        fp.article.id,
                    ),
                )
                # Its indexed document carries the story fields: send it again.
                self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (fp.article.id,))
                self._add_band_keys(fp)

    def sources_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Every source of each article, first seen first."""
        return self._lists_in(
            "SELECT article_id, source FROM article_sources WHERE article_id IN ({marks})"
            " ORDER BY first_seen, source",
            ids,
        )

    def iter_articles(self, wanted: StoryFilter = EVERY_STORY) -> Iterator[Article]:
        """All articles the filter admits, oldest first."""
        where, params = story_filter_sql(wanted)
        columns = ", ".join("a." + c for c in _ARTICLE_COLUMNS.split(", "))
        cursor = self._db.execute(
            f"SELECT {columns} FROM articles a WHERE 1 = 1{where} ORDER BY a.ingested_at, a.rowid",
            params,
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

    def search(
        self,
        any_of_groups: Sequence[Sequence[str]],
        limit: int,
        entity_ids: Sequence[str] = (),
        wanted: StoryFilter = EVERY_STORY,
    ) -> list[tuple[Article, float]]:
        """Articles with, for every group, one of its terms, and every entity; best first.

        With no terms, the articles naming every entity, newest first (score 0).
        """
        groups = [[t for t in group if t] for group in any_of_groups]
        groups = [g for g in groups if g]
        if not groups and not entity_ids:
            return []
        columns = ", ".join("a." + c for c in _ARTICLE_COLUMNS.split(", "))
        story_where, story_params = story_filter_sql(wanted)
        where = story_where + "".join(
            " AND a.id IN (SELECT article_id FROM article_entities WHERE entity_id = ?)"
            for _ in entity_ids
        )
        params = (*story_params, *entity_ids, limit)
        if not groups:
            rows = self._db.execute(
                f"SELECT {columns}, 0.0 AS score FROM articles a WHERE 1 = 1{where}"
                " ORDER BY a.story_time DESC, a.rowid DESC LIMIT ?",
                params,
            ).fetchall()
        else:
            rows = self._match_rows(columns, groups, where, params)
        articles = self._with_entities([_article(row) for row in rows])
        return [(a, float(row["score"])) for a, row in zip(articles, rows, strict=True)]

    def _match_rows(
        self,
        columns: str,
        groups: list[list[str]],
        where: str,
        parameters: Sequence[str | int],
    ) -> list[Row]:
        """Rows of the articles with a term of every group, with a `score`, best first."""
        expression = " AND ".join(
            "(" + " OR ".join(_fts_phrase(t) for t in group) + ")" for group in groups
        )
        # bm25 is lower for better matches; title matches weigh more than body matches.
        return self._db.execute(
            f"SELECT {columns}, -bm25(articles_fts, 0.0, 3.0, 1.0) AS score"
            " FROM articles_fts JOIN articles a ON a.id = articles_fts.id"
            f" WHERE articles_fts MATCH ?{where} ORDER BY score DESC LIMIT ?",
            (expression, *parameters),
        ).fetchall()
