"""Bytes a SQLite store takes per stored article: in all, and without the story text."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class StoreSize:
    """A store's bytes per article: the files, without the text, and dedup's own tables."""

    articles: int
    per_article: float
    without_text: float
    dedup: float


def store_size(path: Path) -> StoreSize:
    """Measure the store at `path` (its -wal and -shm files counted too).

    Text excluded: the articles' two text columns and the full-text index, which hold the
    story text (the raw and the normalised form, and the search terms made from them).
    """
    db = sqlite3.connect(path)
    try:
        # What a writer still holds in the write-ahead log belongs in the database file.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0] or 1
        text = db.execute(
            "SELECT sum(length(CAST(text AS BLOB)) + length(CAST(text_norm AS BLOB))) FROM articles"
        ).fetchone()[0]
        fts = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'articles_fts%'")
        fts_bytes = fts.fetchone()[0] or 0
        dedup = db.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'lsh_keys%'"
            " OR name LIKE 'dedup_docs%' OR name LIKE 'sqlite_autoindex_dedup_docs%'"
        ).fetchone()[0]
    finally:
        db.close()
    files = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return StoreSize(
        articles=articles,
        per_article=files / articles,
        without_text=(files - (text or 0) - fts_bytes) / articles,
        dedup=(dedup or 0) / articles,
    )
