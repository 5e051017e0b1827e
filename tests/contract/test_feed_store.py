"""The feed store: poll state per feed, and each listed page recorded once and settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsmon.records import FeedEntry, FeedPoll
from newsmon.store.base import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FEED = "https://rt.example/rss"


def _entry(feed: str, path: str) -> FeedEntry:
    url = f"https://news.example/{path}"
    return FeedEntry(feed, url, url + "?utm_source=rss", f"id-{path}", f"headline {path}")


def test_a_poll_is_remembered_with_its_validators_and_next_time(store: Store) -> None:
    listed = (_entry("rt", "1"), _entry("rt", "2"))
    poll = FeedPoll("rt", "fetched", listed, etag='"v1"', last_modified="Sat, 21 Nov 2026")
    store.record_poll(FEED, poll, 2, 600.0, NOW + timedelta(minutes=10), NOW)
    state = store.feed_states()["rt"]
    assert (state.url, state.etag, state.last_modified) == (FEED, '"v1"', "Sat, 21 Nov 2026")
    assert (state.interval, state.next_poll_at, state.last_status) == (
        600.0,
        NOW + timedelta(minutes=10),
        "fetched",
    )
    failed = FeedPoll("rt", "failed", error="feed answered 503")
    store.record_poll(FEED, failed, 0, 1200.0, NOW + timedelta(minutes=30), NOW)
    state = store.feed_states()["rt"]
    assert (state.last_status, state.last_error, state.failures) == (
        "failed",
        "feed answered 503",
        1,
    )
    assert state.etag == '"v1"'  # a failed poll keeps the last validators


def test_a_listed_page_is_recorded_once_and_settled(store: Store) -> None:
    one, two = _entry("rt", "1"), _entry("rt", "2")
    assert store.add_entries([one, two], NOW) == [one, two]
    # The same page listed again, by this feed or another: not new.
    assert store.add_entries([one, _entry("sputnik", "1")], NOW) == []
    assert [e.url for e in store.due_entries(NOW, 10)] == [one.url, two.url]
    later = NOW + timedelta(minutes=5)
    store.mark_entries(stored=[one.url], failed=[(two.url, "page answered 503", later)])
    assert store.due_entries(NOW, 10) == []
    assert [e.url for e in store.due_entries(later, 10)] == [two.url]
    store.mark_entries(stored=[], failed=[(two.url, "not a story page", None)])
    assert store.due_entries(NOW + timedelta(days=1), 10) == []


def test_a_silence_notice_is_kept_per_feed(store: Store) -> None:
    for feed in ("rt", "bbc"):
        store.record_poll(FEED, FeedPoll(feed, "not-modified"), 0, 600.0, NOW, NOW)
    assert store.feed_states()["rt"].silent_noted_at is None
    store.note_silent(["rt"], NOW + timedelta(hours=25))
    store.note_silent([], NOW)
    states = store.feed_states()
    assert states["rt"].silent_noted_at == NOW + timedelta(hours=25)
    assert states["bbc"].silent_noted_at is None
