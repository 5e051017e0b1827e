"""Clean what a page says about itself: headline without the site name, author, lead paragraph.

Outlets put their name in the page title («… - اليوم السابع», «المدينة نيوز - …»), publish
the site or a logo file as the author («Sputnik https; Cdnarabic; I; Logo Png»), and keep the
lead paragraph in an element beside the article body, where an extractor that takes the
body node misses it. Each rule here uses only what the page itself gives: its headings, its
site name, its host and its own description.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lxml.html import HtmlElement

from enrich.boilerplate import line_key

# How outlets join a headline and their name in <title>.
_TITLE_SEPARATORS = re.compile(r"\s+(?:[-|–—:»«•·]|::)\s+")
# A site name has a few words; a longer part of a title is a headline.
_SITE_NAME_MAX_WORDS = 5
# Traces of markup in an author field: a link, an image file, a logo.
_MARKUP = re.compile(r"https?\b|www\.|\b(?:png|jpe?g|gif|svg|webp)\b|\blogo\b", re.IGNORECASE)
_AUTHOR_MAX_WORDS = 6
# Leads shorter than this are taglines, not an article's first paragraph.
_LEAD_MIN_WORDS = 10
_LEAD_PREFIX_CHARS = 60
_CHROME = re.compile(r"footer|\bnav|menu|sidebar|header|breadcrumb|related", re.IGNORECASE)
_CHROME_TAGS = frozenset({"footer", "nav", "header", "aside", "script", "style", "head"})


@dataclass(frozen=True, slots=True)
class PageClues:
    """What the page's own markup says: its headings and the names it gives the site."""

    headings: tuple[str, ...]
    site_names: frozenset[str]  # comparison keys


def _host_label(hostname: str | None) -> str | None:
    """The distinctive label of a host name: sputniknews for arabic.sputniknews.com."""
    if not hostname:
        return None
    labels = [label for label in hostname.lower().split(".") if label]
    if len(labels) < 2 or all(label.isdigit() for label in labels):
        return None
    # Skip a second-level suffix (com.tn, co.uk, gov.sa): the label before it names the site.
    index = -3 if len(labels) >= 3 and len(labels[-2]) <= 3 else -2
    return labels[index]


def headings(tree: HtmlElement) -> tuple[str, ...]:
    """The page's h1 texts, spaces folded."""
    return tuple(text for e in tree.iter("h1") if (text := " ".join(e.text_content().split())))


def page_clues(
    page_headings: tuple[str, ...], sitename: str | None, hostname: str | None
) -> PageClues:
    """Headings and site-name keys (og:site_name, host) of a page."""
    names = {line_key(name) for name in (sitename, _host_label(hostname)) if name}
    return PageClues(page_headings, frozenset(n for n in names if n))


def _is_site_name(part: str, clues: PageClues) -> bool:
    part_key = line_key(part)
    if not part_key or len(part.split()) > _SITE_NAME_MAX_WORDS:
        return False
    # «قناة صدى البلد» is the site «صدى البلد»; «Sputnik» the site sputniknews.
    return any(part_key in name or name in part_key for name in clues.site_names)


def strip_site_name(title: str, clues: PageClues) -> tuple[str, str | None]:
    """The headline without a site-name prefix or suffix, and the site name removed (if any).

    A part is the site's name when the page names its site so (og:site_name, host), or when
    the page's own h1 is the title without that part.
    """
    parts = _TITLE_SEPARATORS.split(title.strip())
    if len(parts) < 2:
        return title, None
    heading_keys = {line_key(h) for h in clues.headings}
    for rest, cut in (("".join(parts[1:]), parts[0]), ("".join(parts[:-1]), parts[-1])):
        if _is_site_name(cut, clues) or (
            len(cut.split()) <= _SITE_NAME_MAX_WORDS and line_key(rest) in heading_keys
        ):
            kept = parts[1:] if cut is parts[0] else parts[:-1]
            return _rejoin(title, kept), cut
    return title, None


def repeated_parts(titles: Iterable[str]) -> frozenset[str]:
    """Keys of title parts (first or last, a few words) that different titles share.

    Over the pages of one host, a part repeated at the same end of two or more headlines is
    the site's name or a fixed tag, not news.
    """
    counts: Counter[tuple[int, str]] = Counter()
    for title in set(titles):
        parts = _TITLE_SEPARATORS.split(title.strip())
        if len(parts) < 2:
            continue
        for end, part in ((0, parts[0]), (-1, parts[-1])):
            if len(part.split()) <= _SITE_NAME_MAX_WORDS and line_key(part):
                counts[(end, line_key(part))] += 1
    return frozenset(part for (_, part), n in counts.items() if n >= 2)


def _rejoin(title: str, kept: list[str]) -> str:
    """The kept parts with the separators the title used between them."""
    start = title.find(kept[0])
    end = title.rfind(kept[-1]) + len(kept[-1])
    return title[start:end].strip()


def clean_author(author: str | None, site_names: Iterable[str]) -> str | None:
    """The author's names, without links, logo file names or the site's own name."""
    if not author:
        return None
    if _MARKUP.search(author):
        # Built from a link or an image (a logo's URL split into words): no part is reliable.
        return None
    names = [line_key(n) for n in site_names if n]
    kept = []
    for part in re.split(r"\s*[;|,]\s*", author):
        part = part.strip()
        part_key = line_key(part)
        if len(part_key) < 2 or any(c.isdigit() for c in part) or "@" in part:
            continue
        if len(part.split()) > _AUTHOR_MAX_WORDS:
            continue
        if any(part_key in n or n in part_key for n in names if n):
            continue
        kept.append(part)
    return "; ".join(dict.fromkeys(kept)) or None


def _in_chrome(element: HtmlElement) -> bool:
    """Whether an element sits in page chrome (header, footer, navigation, sidebars)."""
    node: HtmlElement | None = element
    while node is not None:
        if node.tag in _CHROME_TAGS:
            return True
        marks = f"{node.get('class', '')} {node.get('id', '')}"
        if _CHROME.search(marks):
            return True
        node = node.getparent()
    return False


def _description(tree: HtmlElement) -> str | None:
    """The page's own description: og:description, twitter:description or description."""
    for attribute, name in (
        ("property", "og:description"),
        ("name", "twitter:description"),
        ("name", "description"),
    ):
        for meta in tree.iter("meta"):
            if meta.get(attribute) == name and (content := (meta.get("content") or "").strip()):
                return content
    return None


def lead_candidate(tree: HtmlElement, unless_in: str | None = None) -> str | None:
    """The paragraph that shows the page's own description, if the page shows it.

    The smallest p or div outside header, footer, navigation and sidebars whose text starts
    with the description. A description that is no visible paragraph (a site blurb in a meta
    tag only) gives none; so does one that `unless_in` (the extracted text) already holds.
    """
    description = _description(tree)
    if not description or len(description.split()) < _LEAD_MIN_WORDS:
        return None
    prefix = line_key(description.rstrip(" .…"))[:_LEAD_PREFIX_CHARS]
    # Usually the extractor kept the lead: the one key of its text saves a walk of the page.
    if not prefix or (unless_in is not None and prefix in line_key(unless_in)):
        return None
    body = tree.find("body")
    root = body if body is not None else tree
    # An element's text is a run of the page's text, so a page whose text lacks the prefix
    # has no such element: one key of the whole text saves testing each p and div.
    if prefix not in line_key(root.text_content()):
        return None
    best: str | None = None
    for element in root.iter("p", "div"):
        # A bounded head tests the prefix: the text of a whole page-wide div is only read
        # when it starts with the description.
        if not line_key(_head(element, 4 * _LEAD_PREFIX_CHARS)).startswith(prefix):
            continue
        content = " ".join(element.text_content().split())
        if (best is None or len(content) < len(best)) and not _in_chrome(element):
            best = content
    return best


def _head(element: HtmlElement, chars: int) -> str:
    """About the first `chars` characters of an element's text, spaces folded."""
    parts: list[str] = []
    size = 0
    for piece in element.itertext():
        parts.append(piece)
        size += len(piece)
        if size >= chars:
            break
    return " ".join("".join(parts).split())[:chars]
