"""What only the SQLite backend does: its file, its schema versions, its migrations."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrich.arabic import search_terms
from enrich.article import build_article
from enrich.dedup import DedupParams, fingerprinter_for, store_stories
from enrich.entities import tag_articles, tagger_for
from newsmon.errors import StoreError
from newsmon.records import CleanItem, Rejection, RunSummary
from newsmon.store.sqlite import SQLiteStore


def _store(path: Path) -> SQLiteStore:
    return SQLiteStore(path, analyzer=search_terms)


def test_a_finished_run_is_written_with_its_status(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.db")
    run = store.begin_run(["in"])
    store.finish_run(RunSummary(run, 1, 0, 0, [Rejection("bad.txt", "decode", "empty file")], 0.1))
    row = sqlite3.connect(tmp_path / "s.db").execute("SELECT status, read FROM runs").fetchone()
    assert row == ("some-rejected", 1)


def test_writers_that_open_a_fresh_store_at_once_all_get_it(tmp_path: Path) -> None:
    # The first to open a new file switches it to WAL; the others used to get "database is
    # locked" at once (SQLite does not wait for that switch) and the run stopped.
    for round_ in range(20):
        path = tmp_path / f"fresh-{round_}.db"
        errors: list[BaseException] = []

        def open_and_close(where: Path = path, seen: list[BaseException] = errors) -> None:
            try:
                SQLiteStore(where, analyzer=search_terms).close()
            except BaseException as exc:
                seen.append(exc)

        threads = [threading.Thread(target=open_and_close) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors


def test_store_opened_by_a_newer_newsmon_is_refused(tmp_path: Path) -> None:
    _store(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        _store(tmp_path / "s.db")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        _store(junk)


def test_a_store_from_before_entities_is_migrated_and_can_be_retagged(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    migrations = Path(__file__).resolve().parents[2] / "newsmon" / "store" / "migrations"
    old = sqlite3.connect(path)
    for name in ("0001_initial.sql", "0002_stories.sql"):
        old.executescript((migrations / name).read_text("utf-8"))
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()
    store = _store(path)
    run = store.begin_run([])
    item = CleanItem("old.txt", "عنوان", "قال بوتين إن العقوبات فشلت.", "utf-8")
    article = build_article(item, datetime(2026, 11, 21, tzinfo=UTC))
    fingerprint = fingerprinter_for(DedupParams()).fingerprint(article)
    store_stories(store, [fingerprint], run, DedupParams())  # new code, but no entities
    assert next(store.iter_articles()).entities == ()
    store.replace_entities(tag_articles(list(store.iter_articles()), tagger_for(None)).items)
    assert [t.id for t in next(store.iter_articles()).entities] == ["Q7747"]
    latest = len(list(migrations.glob("*.sql")))
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == latest


def test_band_keys_of_a_version_7_store_move_to_the_compact_tables(
    tmp_path: Path, seeds: Path
) -> None:
    """A story stored before migration 0008 (keys in lsh_bands, signature on the article row)
    is still found by a copy read afterwards, with no `dedup rebuild`."""
    path = tmp_path / "v7.db"
    migrations = Path(__file__).resolve().parents[2] / "newsmon" / "store" / "migrations"
    params = DedupParams()
    text = (seeds / "002_78f173c836337b59.txt").read_text("utf-8")
    at = datetime(2026, 11, 21, tzinfo=UTC)
    original = build_article(CleanItem("a.txt", "عنوان", text, "utf-8"), at)
    fp = fingerprinter_for(params).fingerprint(original)
    old = sqlite3.connect(path)
    for name in sorted(p.name for p in migrations.glob("000[1-7]_*.sql")):
        old.executescript((migrations / name).read_text("utf-8"))
    old.execute(
        "INSERT INTO articles (id, source, title, text, text_norm, lang, encoding, ingested_at,"
        " run_id, cluster_id, minhash, shingle_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (original.id, "a.txt", "عنوان", text, original.text_norm, "ar", "utf-8",
         at.isoformat(), "r", original.id, fp.signature, fp.shingle_count),
    )  # fmt: skip
    old.executemany("INSERT INTO lsh_bands VALUES (?, ?)", [(k, original.id) for k in fp.band_keys])
    old_layout = fingerprinter_for(params).layout.replace(f"w{params.max_words}:", "")
    old.execute("INSERT INTO meta VALUES ('dedup_layout', ?)", (old_layout,))
    old.execute("PRAGMA user_version = 7")
    old.commit()
    old.close()

    store = _store(path)
    paragraphs = text.split("\n")
    copy_text = "\n".join([*paragraphs[:3], "اقرأ أيضا: قمة بريكس المقبلة"])
    copy = build_article(CleanItem("b.txt", "عنوان", copy_text, "utf-8"), at)
    run = store.begin_run([])
    result = store_stories(store, [fingerprinter_for(params).fingerprint(copy)], run, params)
    assert result.new_ids == [copy.id]
    stored = {a.id: a for a in store.iter_articles()}
    assert (stored[copy.id].cluster_id, stored[copy.id].duplicate_of) == (original.id, original.id)
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM lsh_keys").fetchone()[0] == 2 * len(fp.band_keys)
    # Signatures and shingle counts are kept once, in dedup_docs, not on the article rows.
    article_columns = {r[1] for r in db.execute("PRAGMA table_info(articles)")}
    assert not {"minhash", "shingle_count"} & article_columns
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "lsh_bands" not in tables


def test_deliveries_of_a_version_9_store_are_kept_when_update_messages_arrive(
    tmp_path: Path,
) -> None:
    """Migrations 0010 and 0013 rebuild deliveries (new kinds); rows, ids and links survive."""
    path = tmp_path / "v9.db"
    migrations = Path(__file__).resolve().parents[2] / "newsmon" / "store" / "migrations"
    old = sqlite3.connect(path)
    old.execute("PRAGMA foreign_keys = ON")
    for name in sorted(p.name for p in migrations.glob("000[1-9]_*.sql")):
        old.executescript((migrations / name).read_text("utf-8"))
    at = "2026-11-20T10:00:00+00:00"
    old.execute(
        "INSERT INTO articles (id, source, title, text, text_norm, lang, encoding, ingested_at,"
        " run_id, cluster_id) VALUES ('a1', 'a.txt', 't', 'x', 'x', 'ar', 'utf-8', ?, 'r', 'a1')",
        (at,),
    )
    old.execute(
        "INSERT INTO alerts (id, rule, story_key, article_id, matched_at, state)"
        " VALUES (7, 'putin-xi', 'a1', 'a1', ?, 'queued')",
        (at,),
    )
    old.execute(
        "INSERT INTO deliveries (id, key, rule, channel, kind, target, state, attempts,"
        " created_at, next_attempt_at, sent_at) VALUES (41, 'key-1', 'putin-xi', 'email',"
        " 'alert', 'a@x.org', 'sent', 1, ?, ?, ?)",
        (at, at, at),
    )
    old.execute("INSERT INTO delivery_alerts VALUES (41, 7)")
    old.execute("PRAGMA user_version = 9")
    old.commit()
    old.close()

    store = _store(path)
    [alert] = store.alerts()
    [delivery] = alert.deliveries
    assert (delivery.id, delivery.kind, str(delivery.state), delivery.attempts) == (
        41,
        "alert",
        "sent",
        1,
    )
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT key FROM deliveries").fetchall() == [("key-1",)]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "deliveries_before_0010" not in tables and "delivery_updates" in tables
    assert "deliveries_before_0013" not in tables and "feed_alerts" in tables
    db.execute(
        "INSERT INTO deliveries (key, rule, channel, kind, target, state, created_at,"
        " next_attempt_at) VALUES ('key-2', 'putin-xi', 'email', 'update', 'a@x.org',"
        " 'pending', ?, ?)",
        (at, at),
    )
