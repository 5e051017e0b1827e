"""--since/--until/--source/--lang on both store backends, and the story_time backfill (0014)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from enrich.article import build_article
from enrich.dedup import DedupParams, fingerprinter_for, store_stories
from newsmon.compose import open_store
from newsmon.records import Article, ChannelTarget, CleanItem, RuleMatch, StoryFilter
from newsmon.settings import load_settings
from newsmon.store.base import Store
from newsmon.store.sql.migrations import migrations
from newsmon.store.sql.tables import story_second

READ = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))


def _article(seeds: Path, n: int, **fields: object) -> Article:
    name = sorted(seeds.glob("*.txt"))[n]
    text = name.read_text("utf-8")
    item = CleanItem(str(name), text.splitlines()[0], text, "utf-8")
    return replace(build_article(item, READ), **fields)  # type: ignore[arg-type]


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    opened = open_store(load_settings(db=store_location))
    yield opened
    opened.close()


@pytest.fixture
def stored(store: Store, seeds: Path) -> dict[str, Article]:
    """Five seed stories with the dates, outlets and languages a filter tells apart."""
    articles = {
        # 09:00 in Moscow is 06:00 UTC: a filter compares the UTC time.
        "moscow": _article(
            seeds,
            0,
            published_at=datetime(2026, 11, 20, 9, 0, tzinfo=MOSCOW),
            url="https://arabic.rt.com/world/1",
            source="https://arabic.rt.com/world/1",
        ),
        # A day-only date from a page has no zone: taken as UTC midnight.
        "day-only": _article(
            seeds,
            1,
            published_at=datetime(2026, 11, 18),
            url="https://www.aljazeera.net/news/2",
            source="https://www.aljazeera.net/news/2",
        ),
        # No date: the time it was first seen.
        "undated": _article(seeds, 2, lang="en"),
        # A date after the story was read is a wrong date: first seen counts.
        "future": _article(seeds, 3, published_at=datetime(2027, 1, 1, tzinfo=UTC)),
        "old": _article(
            seeds,
            4,
            published_at=datetime(2026, 10, 1, 8, 30, tzinfo=UTC),
            url="https://notrt.com/a",
            source="https://notrt.com/a",
        ),
    }
    fingerprint = fingerprinter_for(DedupParams()).fingerprint
    run = store.begin_run([])
    store_stories(store, [fingerprint(a) for a in articles.values()], run, DedupParams())
    return articles


def _names(stored: dict[str, Article], found: list[Article]) -> set[str]:
    by_id = {a.id: name for name, a in stored.items()}
    return {by_id[a.id] for a in found}


def test_listings_filter_by_story_time_outlet_and_language(
    store: Store, stored: dict[str, Article]
) -> None:
    def exported(**wanted: object) -> set[str]:
        return _names(stored, list(store.iter_articles(StoryFilter(**wanted))))  # type: ignore[arg-type]

    assert exported() == set(stored)
    # From 06:00 UTC on: the Moscow story (06:00Z), the undated and the future-dated (12:00Z).
    since = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert exported(since=since) == {"moscow", "undated", "future"}
    assert exported(since=since + timedelta(seconds=1)) == {"undated", "future"}
    assert exported(until=datetime(2026, 11, 18, 23, 59, 59, tzinfo=UTC)) == {"day-only", "old"}
    assert exported(until=datetime(2026, 10, 1, 8, 30, tzinfo=UTC)) == {"old"}
    # An outlet is its host and its subdomains, never a host that merely ends the same way.
    assert exported(sources=("rt.com",)) == {"moscow"}
    assert exported(sources=("aljazeera.net", "notrt.com")) == {"day-only", "old"}
    assert exported(sources=("HTTPS://www.AlJazeera.net/news",)) == {"day-only"}
    assert exported(sources=(str(Path(stored["undated"].source).parent) + "/",)) == {
        "undated",
        "future",
    }
    assert exported(sources=("100%_sure",)) == set()
    assert exported(langs=("en",)) == {"undated"}
    assert exported(langs=("ar",), sources=("rt.com",), since=since) == {"moscow"}

    hits = store.search([["بوتين"]], 10, (), StoryFilter(sources=("rt.com", "aljazeera.net")))
    assert _names(stored, [a for a, _score in hits]) <= {"moscow", "day-only"}
    assert hits, "the seeds from RT and Al Jazeera name Putin"
    assert store.search([["بوتين"]], 10, (), StoryFilter(langs=("fr",))) == []

    stories = store.stories(wanted=StoryFilter(since=since))
    assert {c.id for s in stories for c in s.copies} == {
        stored[n].id for n in ("moscow", "undated", "future")
    }


def test_alerts_filter_by_when_they_fired_and_the_story(
    store: Store, stored: dict[str, Article]
) -> None:
    email = (ChannelTarget("email", "analyst@example.org"),)
    fired = {}
    for hours, name in enumerate(("moscow", "undated", "old")):
        at = READ + timedelta(hours=hours)
        a = stored[name]
        store.record_alerts(
            None, [a.id], [RuleMatch("putin-xi", a.id, a.cluster_id or a.id, email)], at
        )
        fired[name] = at

    def alerted(**wanted: object) -> set[str]:
        found = store.alerts(limit=10, wanted=StoryFilter(**wanted))  # type: ignore[arg-type]
        return _names(stored, store.articles_by_id([x.article_id for x in found]))

    assert alerted() == {"moscow", "undated", "old"}
    # since/until bound the alert's time, not the story's: "old" fired last.
    assert alerted(since=fired["undated"]) == {"undated", "old"}
    assert alerted(until=fired["undated"]) == {"moscow", "undated"}
    assert alerted(sources=("rt.com",)) == {"moscow"}
    assert alerted(langs=("en",)) == {"undated"}
    assert store.feed_alerts(wanted=StoryFilter(langs=("ar",))) == []


def test_the_story_time_backfill_matches_what_the_store_writes(
    store_location: str, store: Store, stored: dict[str, Article]
) -> None:
    """Migration 0014 fills story_time for rows stored before it, in each database's SQL."""
    [migration] = [m for m in migrations() if m.number == 14]
    postgres = "://" in store_location
    [backfill] = [
        s
        for s in migration.statements("postgresql" if postgres else "sqlite")
        if "UPDATE articles" in s
    ]
    store.close()
    with (
        psycopg.connect(store_location, autocommit=True)
        if postgres
        else sqlite3.connect(store_location, isolation_level=None)
    ) as db:
        db.execute("UPDATE articles SET story_time = NULL")
        db.execute(backfill)
        rows = dict(db.execute("SELECT id, story_time FROM articles").fetchall())
    assert rows == {a.id: story_second(a.story_time()) for a in stored.values()}
    assert rows[stored["moscow"].id] == "2026-11-20T06:00:00"
    assert rows[stored["day-only"].id] == "2026-11-18T00:00:00"
    assert rows[stored["future"].id] == "2026-11-20T12:00:00"
