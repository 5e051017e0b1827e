"""Feeds: poll RSS/Atom with conditional GET, parse them with feedparser, fetch story pages."""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from connectors.decode import detect_and_decode
from connectors.feed_list import FeedSpec
from connectors.fetch import Fetcher, FetchError
from newsmon.errors import RejectedInput
from newsmon.ids import article_id, canonical_url
from newsmon.records import (
    ContentType,
    FeedEntry,
    FeedPoll,
    FeedState,
    RawItem,
    Rejection,
    StageOutput,
)
from newsmon.stages import map_stage

log = logging.getLogger("newsmon.feeds")

_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)[\"']")
_HTML_TYPES = {"text/html", "application/xhtml+xml"}


def _declared_encoding(data: bytes) -> str | None:
    found = _XML_DECLARATION.match(data[:200])
    return found[1].decode("ascii") if found else None


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def parse_feed(
    name: str, url: str, data: bytes, charset: str | None = None
) -> StageOutput[FeedEntry]:
    """The story pages a feed lists, and its entries refused (a bad link); RejectedInput with
    the reason when it is not a feed.

    Bytes are decoded first (HTTP charset, then the XML declaration, then detection, so a
    Windows-1256 feed without a declaration reads right) and handed to feedparser as UTF-8.
    A feed feedparser flags as malformed (`bozo`) is used when it still yields entries.
    """
    text, _ = detect_and_decode(data, charset or _declared_encoding(data))
    text = re.sub(r"^\s*<\?xml[^>]*\?>", '<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    parsed = feedparser.parse(
        text.encode("utf-8"), response_headers={"content-type": "application/xml; charset=utf-8"}
    )
    if not parsed.entries:
        if parsed.bozo:
            raise RejectedInput(f"not a readable feed: {parsed.bozo_exception}")
        if not parsed.version:
            raise RejectedInput("not an RSS or Atom feed")
    if parsed.bozo:
        log.info(
            "%s: malformed feed, %d entries read anyway: %s",
            name,
            len(parsed.entries),
            parsed.bozo_exception,
        )
    listed = map_stage(
        "feed",
        parsed.entries,
        lambda item: _entry(name, url, item),
        lambda item: f"{url}: entry {str(item.get('link') or item.get('title') or '?').strip()}",
    )
    return StageOutput([e for e in listed.items if e is not None], listed.rejections)


def _entry(name: str, url: str, item: Any) -> FeedEntry | None:
    link = item.get("link") or (
        item.get("id") if str(item.get("id", "")).startswith("http") else None
    )
    if not link:
        return None
    try:
        absolute = urljoin(url, link.strip())
        canonical = canonical_url(absolute)
    except ValueError as exc:
        # One bad link must not cost the feed's other entries, nor every later poll.
        raise RejectedInput(f"bad link: {exc}") from None
    return FeedEntry(
        feed=name,
        url=canonical,
        link=absolute,
        article_id=article_id(canonical, ""),
        title=(item.get("title") or "").strip() or None,
        published_at=_entry_time(item),
        author=(item.get("author") or "").strip() or None,
    )


def _poll_one(fetcher: Fetcher, spec: FeedSpec, state: FeedState | None) -> FeedPoll:
    url = str(spec.url)
    etag = state.etag if state and state.url == url else None
    modified = state.last_modified if state and state.url == url else None
    try:
        fetched = fetcher.get(url, etag=etag, last_modified=modified)
    except FetchError as exc:
        status = "refused" if exc.permanent else "failed"
        return FeedPoll(spec.name, status, error=str(exc), retry_after=exc.retry_after)
    if fetched.not_modified:
        return FeedPoll(spec.name, "not-modified")
    digest = hashlib.sha256(fetched.body).hexdigest()
    if state and state.url == url and state.body_hash == digest:
        # Same bytes although the validators changed or were missing: nothing to read.
        return FeedPoll(
            spec.name,
            "unchanged",
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=digest,
        )
    try:
        listed = parse_feed(spec.name, fetched.url, fetched.body, fetched.charset)
    except RejectedInput as exc:
        return FeedPoll(spec.name, "refused", error=f"{url}: {exc}", body_hash=None)
    return FeedPoll(
        spec.name,
        "fetched",
        entries=tuple(listed.items),
        rejected=tuple(listed.rejections),
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        body_hash=digest,
    )


def poll_feeds(
    fetcher: Fetcher,
    specs: Sequence[FeedSpec],
    states: dict[str, FeedState],
    workers: int = 4,
) -> list[FeedPoll]:
    """Fetch and parse feeds, several hosts at once (the fetcher keeps one per host)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda spec: _poll_one(fetcher, spec, states.get(spec.name)), specs))


@dataclass(slots=True)
class PageFetch:
    """Story pages fetched for one batch: raw items, and pages to try again later."""

    loaded: StageOutput[RawItem] = field(default_factory=StageOutput)
    retry: list[tuple[str, str, float | None]] = field(default_factory=list)  # url, why, wait


def _fetch_page(fetcher: Fetcher, entry: FeedEntry) -> RawItem:
    fetched = fetcher.get(entry.link)
    if fetched.content_type and fetched.content_type not in _HTML_TYPES:
        raise RejectedInput(f"not an HTML page ({fetched.content_type})")
    return RawItem(
        source=entry.url,
        data=fetched.body,
        content_type=ContentType.HTML,
        declared_encoding=fetched.charset,
        title=entry.title,
        url=entry.url,
        published_at=entry.published_at,
        author=entry.author,
        metadata_is_fallback=True,
    )


def fetch_pages(fetcher: Fetcher, entries: Sequence[FeedEntry], workers: int = 4) -> PageFetch:
    """Fetch each entry's page; refusals are rejections, transient failures go to retry."""
    result = PageFetch()

    def one(entry: FeedEntry) -> tuple[FeedEntry, RawItem | Exception]:
        try:
            return entry, _fetch_page(fetcher, entry)
        except (FetchError, RejectedInput) as exc:
            return entry, exc

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(one, entries))
    for entry, outcome in outcomes:
        if isinstance(outcome, RawItem):
            result.loaded.items.append(outcome)
        elif isinstance(outcome, FetchError) and not outcome.permanent:
            result.retry.append((entry.url, str(outcome), outcome.retry_after))
        else:
            result.loaded.rejections.append(Rejection(entry.url, "fetch", str(outcome)))
    return result
