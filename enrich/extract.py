"""Clean-text stage: HTML through trafilatura, plain text through the boilerplate rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from urllib.parse import urlsplit

from enrich.boilerplate import BoilerplateRules, clean_text
from enrich.html import extract_page
from enrich.page_meta import PageClues, repeated_parts, strip_site_name
from newsmon.records import CleanItem, ContentType, DecodedItem, StageOutput
from newsmon.stages import map_stage


def _page_date_first(page: datetime | None, feed: datetime | None) -> datetime | None:
    """The page's date; the feed's when the page gives only the same day (htmldate's dates
    have no time of day, a feed's usually do)."""
    if page is None:
        return feed
    day_only = page.tzinfo is None and page.time() == time(0)
    if feed is not None and day_only and page.date() == feed.date():
        return feed
    return page


def extract_item(item: DecodedItem, rules: BoilerplateRules) -> CleanItem:
    """Headline and clean story text of one decoded item; raises RejectedInput if none is left."""
    url, published_at, title, body = item.url, item.published_at, item.title, item.body
    author = item.author
    if item.content_type is ContentType.HTML:
        dated = published_at is not None and not item.metadata_is_fallback
        page = extract_page(body, url=url, title=title, dated=dated)
        body = page.text
        url = url or page.url
        if item.metadata_is_fallback:
            title = page.title or title
            author = page.author or author
            published_at = _page_date_first(page.published_at, published_at)
        else:
            title = title or page.title
            published_at = published_at or page.published_at
            author = author or page.author
    title, text = clean_text(body, rules, title=title)
    return CleanItem(
        source=item.source,
        title=title,
        text=text,
        encoding=item.encoding,
        url=url,
        published_at=published_at,
        author=author,
    )


def _host(item: CleanItem) -> str | None:
    # This step runs over the whole batch, outside the per-item guard: a URL the parser
    # refuses must cost this story its site-name cleanup, not the batch.
    try:
        return urlsplit(item.url).hostname if item.url else None
    except ValueError:
        return None


def strip_repeated_title_parts(items: list[CleanItem]) -> list[CleanItem]:
    """Headlines without a part that other headlines of the same host repeat (its site name)."""
    by_host: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        host = _host(item)
        if host:
            by_host.setdefault(host, []).append(index)
    out = list(items)
    for indexes in by_host.values():
        repeated = repeated_parts(items[i].title for i in indexes)
        if not repeated:
            continue
        clues = PageClues(headings=(), site_names=repeated)
        for i in indexes:
            title, cut = strip_site_name(items[i].title, clues)
            if cut:
                out[i] = replace(items[i], title=title)
    return out


def extract_batch(items: list[DecodedItem], rules: BoilerplateRules) -> StageOutput[CleanItem]:
    """Clean a batch; items with no article text left are rejected with the reason."""
    out = map_stage("extract", items, lambda item: extract_item(item, rules), lambda i: i.source)
    out.items[:] = strip_repeated_title_parts(out.items)
    return out
