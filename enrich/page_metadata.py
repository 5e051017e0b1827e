"""Read what a page says about itself with trafilatura's own metadata functions.

`trafilatura.metadata.extract_metadata` also extracts categories, tags and a licence, which
newsmon does not keep (a sixth of the metadata pass), and searches the page's visible text
for a date even when its markup has one. This follows its steps for the fields newsmon
keeps, and searches the text for a date only when the markup has none and the caller has
none either.
"""

from __future__ import annotations

import logging

from courlan import extract_domain
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document, set_date_params

log = logging.getLogger(__name__)


def read_metadata(tree: HtmlElement, url: str | None, dated: bool) -> Document:
    """Title, author, canonical URL, host, site name and date of a parsed page.

    `dated`: the caller has the page's date (a feed's), so only the markup is read for one.
    """
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # as trafilatura: a one-word author is a handle or a site
    try:
        meta = extract_meta_json(tree, meta)
    except Exception as exc:  # trafilatura guards its JSON-LD reader the same way
        log.warning("page JSON-LD metadata unreadable: %s", exc)
    meta.title = meta.title or extract_title(tree)
    meta.author = meta.author or extract_author(tree)
    meta.url = meta.url or extract_url(tree, url)
    if meta.url:
        meta.hostname = extract_domain(meta.url, fast=True)
    meta.date = _date(tree, meta.url, dated)
    meta.sitename = meta.sitename or extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
    elif meta.url and (host := META_URL.match(meta.url)):
        meta.sitename = host[1]
    meta.clean_and_trim()  # entities unescaped, spaces folded, lengths capped
    return meta


def _date(tree: HtmlElement, url: str | None, dated: bool) -> str | None:
    """The page's date from its markup (meta tags, JSON-LD, time elements, the URL), else
    from its visible text unless the caller is `dated`.

    The text search costs four times the markup pass (its first use in a process compiles
    dateparser's patterns for every locale), and where the markup has a date it may pick a
    worse one: the assabah test page, of 2019-02-08, gave its date widget, 2020-02-19.
    """
    found = find_date(tree, url=url, **set_date_params(extensive=False))
    if not found and not dated:
        found = find_date(tree, url=url, **set_date_params(extensive=True))
    return found if isinstance(found, str) else None
