"""Extract the article text and metadata from an HTML page with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import trafilatura
from trafilatura.utils import load_html

from enrich.boilerplate import line_key
from enrich.page_meta import (
    clean_author,
    headings,
    lead_candidate,
    page_clues,
    strip_site_name,
)
from enrich.page_metadata import read_metadata
from newsmon.errors import RejectedInput

# Shorter than a news brief: a section page, a video page with a caption, an error page.
MIN_ARTICLE_WORDS = 20
# A flash headline has a few words, and it is most of the flash's text.
_FLASH_MIN_WORDS = 3
_FLASH_SHARE = 0.6


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


def _is_flash(text: str, headline: str | None) -> bool:
    """Whether a short text is its headline: the page is a one-sentence flash, not an index.

    The headline has a few words and makes up most of the text (or the text most of it): a
    section page whose menu happens to hold its one-word title («العالم») is no flash.
    """
    if not headline or len(headline.split()) < _FLASH_MIN_WORDS:
        return False
    text_key, headline_key = line_key(text), line_key(headline)
    if not text_key or not headline_key:
        return False
    if text_key in headline_key:  # «بوتين يصل إلى بكين» under «عاجل: بوتين يصل إلى بكين»
        return len(text_key) >= _FLASH_SHARE * len(headline_key)
    # The headline, once or repeated (h1 and paragraph), and little else.
    rest = text_key.replace(headline_key, "")
    return len(rest) < len(text_key) and len(rest) <= (1 - _FLASH_SHARE) * len(headline_key)


def extract_page(
    html: str, url: str | None = None, title: str | None = None, dated: bool = False
) -> ExtractedPage:
    """Main text (comments off), title, canonical URL and date; rejects pages with no article.

    `title` is the headline a feed gave for the page, if any; `dated` says the caller has the
    page's date (a feed's), so only the markup is read for one. The headline loses the site's
    name, the author keeps only names, and a lead paragraph beside the body is put back
    (enrich.page_meta).
    """
    tree = load_html(html)
    if tree is None:
        raise RejectedInput("no article text found in the HTML page (unparsable HTML)")
    page_headings = headings(tree)
    meta = read_metadata(tree, url, dated)
    document = trafilatura.bare_extraction(tree, url=url, include_comments=False)
    if isinstance(document, dict):  # only with as_dict=True, which we never pass
        raise TypeError("trafilatura returned a dict")
    if document is None or not (document.text or "").strip():
        raise RejectedInput("no article text found in the HTML page")
    text = document.text or ""
    # trafilatura works on a copy of the tree, so the page is still whole here.
    lead = lead_candidate(tree, unless_in=text)
    if lead:
        text = lead + "\n" + text
    words = len(text.split())
    if words < MIN_ARTICLE_WORDS and not any(_is_flash(text, h) for h in (meta.title, title)):
        # What is left of a section or index page: menu entries and link titles. A wire flash
        # is short too, but its one sentence is its own headline.
        raise RejectedInput(f"no article text found in the HTML page (only {words} words of text)")
    clues = page_clues(page_headings, meta.sitename, meta.hostname)
    page_title, site_name = strip_site_name((meta.title or "").strip(), clues)
    names = [*clues.site_names, *([site_name] if site_name else [])]
    return ExtractedPage(
        text=text,
        title=page_title or None,
        url=meta.url or url,
        published_at=_parse_date(meta.date),
        author=clean_author(meta.author, names),
    )
