"""Feed parsing, the feed list, and poll scheduling: offline."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.feed_list import DEFAULT_FEEDS, FeedSpec, load_feed_list
from connectors.feeds import fetch_pages, parse_feed
from connectors.fetch import Fetcher
from newsmon.compose import fetch_config
from newsmon.errors import RejectedInput
from newsmon.feed_schedule import due_feeds, is_silent, newly_silent, next_poll
from newsmon.records import FeedEntry, FeedPoll, FeedState
from newsmon.settings import Settings
from newsmon.yaml_model import ConfigFileError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RSS = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>أخبار</title>
<item><title>بوتين يستقبل شي في الكرملين</title>
<link>/world/1/?utm_source=rss</link><pubDate>Thu, 16 May 2024 09:30:00 +0000</pubDate>
<author>مراسلنا</author></item>
<item><title>بلا رابط</title></item>
</channel></rss>"""


def _spec(interval: float = 600, **extra: object) -> FeedSpec:
    return FeedSpec.model_validate(
        {"name": "f", "url": "https://x.example/rss", "interval": interval, **extra}
    )


def test_shipped_feed_list_has_the_outlets() -> None:
    names = {spec.name for spec in load_feed_list(DEFAULT_FEEDS)}
    assert {"rt-arabic", "bbc-arabic", "sky-news-arabia", "france24-arabic", "al-arabiya"} <= names
    assert {"al-jazeera", "sputnik-arabic", "cgtn-arabic"} <= names
    assert "xinhua-arabic" not in names  # listed, disabled: no feed found


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("feeds:\n  - {name: a, url: 'not a url'}\n", "feed 'a' url: Input should be a valid URL"),
        ("feeds:\n  - {name: a, url: 'https://x/r', interval: soon}\n", "is not a duration"),
        (
            "feeds:\n  - {name: a, url: 'https://x/r', interval: 5s}\n",
            "greater than or equal to 30",
        ),
        (
            "feeds:\n  - {name: a, url: 'https://x/r'}\n  - {name: a, url: 'https://y/r'}\n",
            "feed name 'a' is listed twice",
        ),
        ("feeds:\n  - {name: a, url: 'https://x/r', colour: red}\n", "colour: Extra inputs"),
    ],
)
def test_bad_feed_lists_name_the_feed_and_reason(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "feeds.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigFileError, match=message):
        load_feed_list(path)


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1256"])
def test_entries_are_absolute_canonical_and_dated(encoding: str) -> None:
    data = RSS.format(encoding=encoding).encode(encoding)
    (entry,) = parse_feed("f", "https://arabic.example.com/rss/", data).items
    assert entry.title == "بوتين يستقبل شي في الكرملين"
    assert entry.link == "https://arabic.example.com/world/1/?utm_source=rss"
    assert entry.url == "https://arabic.example.com/world/1/"
    assert entry.published_at == datetime(2024, 5, 16, 9, 30, tzinfo=UTC)
    assert entry.author == "مراسلنا"


def test_undeclared_windows_1256_is_detected() -> None:
    data = (
        RSS.format(encoding="x").replace('<?xml version="1.0" encoding="x"?>', "").encode("cp1256")
    )
    (entry,) = parse_feed("f", "https://a.example/rss", data).items
    assert entry.title == "بوتين يستقبل شي في الكرملين"


def test_what_is_not_a_feed_is_refused_with_the_reason() -> None:
    with pytest.raises(RejectedInput, match=r"not a readable feed|not an RSS or Atom feed"):
        parse_feed("f", "https://a.example/rss", b"<html><body>hello</body></html>")
    with pytest.raises(RejectedInput, match="binary file"):
        parse_feed("f", "https://a.example/rss", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)


def test_due_feeds() -> None:
    spec = _spec()
    later = FeedState("f", "https://x.example/rss", next_poll_at=NOW + timedelta(minutes=5))
    assert due_feeds([spec], {}, NOW) == [spec]  # never polled
    assert due_feeds([spec], {"f": later}, NOW) == []
    assert due_feeds([spec], {"f": later}, NOW, force=True) == [spec]
    moved = FeedState("f", "https://old.example/rss", next_poll_at=NOW + timedelta(hours=1))
    assert due_feeds([spec], {"f": moved}, NOW) == [spec]


def test_interval_adapts_and_failures_back_off() -> None:
    spec = _spec(600)
    ok = FeedPoll("f", "fetched")
    interval, at = next_poll(spec, None, ok, 3, NOW)
    assert (interval, at) == (300, NOW + timedelta(seconds=300))  # busy: twice as often
    state = FeedState("f", "u", interval=150)
    assert next_poll(spec, state, ok, 5, NOW)[0] == 150  # never below a quarter
    quiet = FeedState("f", "u", interval=2000)
    assert next_poll(spec, quiet, FeedPoll("f", "not-modified"), 0, NOW)[0] == 2400  # 4x at most
    failing = FeedState("f", "u", interval=600, failures=3)
    _, retry = next_poll(spec, failing, FeedPoll("f", "failed"), 0, NOW)
    assert retry == NOW + timedelta(seconds=600 * 8)
    asked = FeedPoll("f", "failed", retry_after=86400)
    assert next_poll(spec, None, asked, 0, NOW)[1] == NOW + timedelta(days=1)


def test_silence_is_flagged_after_silent_after() -> None:
    spec = _spec(silent_after="6h")
    fresh = FeedState("f", "u", first_poll_at=NOW - timedelta(hours=1))
    assert not is_silent(spec, fresh, NOW)
    quiet = FeedState(
        "f", "u", first_poll_at=NOW - timedelta(days=2), last_new_at=NOW - timedelta(hours=7)
    )
    assert is_silent(spec, quiet, NOW)
    assert not is_silent(spec, None, NOW)


def test_each_silence_is_announced_once_until_the_feed_speaks_again() -> None:
    spec = _spec(silent_after="6h")
    went_quiet = NOW - timedelta(hours=7)
    quiet = FeedState("f", "u", first_poll_at=NOW - timedelta(days=2), last_new_at=went_quiet)
    assert newly_silent([spec], {"f": quiet}, NOW) == [(spec, went_quiet)]
    noted = replace(quiet, silent_noted_at=NOW - timedelta(minutes=5))
    assert newly_silent([spec], {"f": noted}, NOW) == []
    # New stories after the notice, then quiet again for longer than the limit: a new silence.
    again = replace(noted, last_new_at=NOW - timedelta(minutes=1))
    assert newly_silent([spec], {"f": again}, NOW) == []
    later = NOW + timedelta(hours=7)
    assert newly_silent([spec], {"f": again}, later) == [(spec, again.last_new_at)]
    never = FeedState("f", "u", first_poll_at=NOW - timedelta(hours=8))  # never brought any
    assert newly_silent([spec], {"f": never}, NOW) == [(spec, never.first_poll_at)]
    assert newly_silent([spec], {}, NOW) == []  # never polled: not silent


def test_a_bad_link_is_refused_and_the_other_entries_are_listed() -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>a</title><link>http://[::1</link></item>"
        b"<item><title>b</title><link>https://news.example/good</link></item>"
        b"</channel></rss>"
    )
    listed = parse_feed("f", "https://news.example/rss", data)
    assert [e.url for e in listed.items] == ["https://news.example/good"]
    (refused,) = listed.rejections
    assert refused.source == "https://news.example/rss: entry http://[::1"
    assert (refused.stage, refused.reason) == ("feed", "bad link: Invalid IPv6 URL")


def test_a_page_link_the_url_parser_refuses_is_rejected_not_retried() -> None:
    fetcher = Fetcher(fetch_config(Settings(fetch_allow=("127.0.0.1/32",), fetch_host_delay=0)))
    link = "http://127.0.0.1:99999/x"
    bad = FeedEntry("f", link, link, "id-x")
    try:
        fetched = fetch_pages(fetcher, [bad])
    finally:
        fetcher.close()
    assert fetched.retry == [] and fetched.loaded.items == []
    (refused,) = fetched.loaded.rejections
    assert refused.source == link and "Port out of range" in refused.reason
