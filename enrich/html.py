"""Extract the article text and metadata from an HTML page with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import trafilatura

from newsmon.errors import RejectedInput

# Shorter than a news brief: a section page, a video page with a caption, an error page.
MIN_ARTICLE_WORDS = 20


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What trafilatura found on a page: main text and the metadata we keep."""

    text: str
    title: str | None
    url: str | None
    published_at: datetime | None
    author: str | None = None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def extract_page(html: str, url: str | None = None) -> ExtractedPage:
    """Main text (comments off), title, canonical URL and date; rejects pages with no article."""
    document = trafilatura.bare_extraction(
        html, url=url, include_comments=False, with_metadata=True
    )
    if isinstance(document, dict):  # only with as_dict=True, which we never pass
        raise TypeError("trafilatura returned a dict")
    if document is None or not (document.text or "").strip():
        raise RejectedInput("no article text found in the HTML page")
    words = len((document.text or "").split())
    if words < MIN_ARTICLE_WORDS:
        # What is left of a section or index page: menu entries and link titles.
        raise RejectedInput(f"no article text found in the HTML page (only {words} words of text)")
    return ExtractedPage(
        text=document.text or "",
        title=(document.title or "").strip() or None,
        url=document.url or url,
        published_at=_parse_date(document.date),
        author=(document.author or "").strip() or None,
    )
