"""Article stage: normalised text, language and the stable content-derived id."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url

from enrich.arabic import normalize_text
from enrich.language import detect_language
from newsmon.records import Article, CleanItem, StageOutput
from newsmon.stages import map_stage

_WHITESPACE = re.compile(r"\s+")
ID_HEX_CHARS = 20


# Mobile and www. hosts serve the same article as the bare domain.
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")


def canonical_url(url: str) -> str:
    """Canonical URL: https, lower-case host without www./m., no port, fragment or trackers."""
    try:
        normalized = str(normalize_url(url, strict=True))
    except ValueError:
        return url.strip()
    parts = urlsplit(normalized)
    host = parts.netloc
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    # Outlets serve one article over http and https; the scheme is not part of its identity.
    scheme = "https" if parts.scheme == "http" else parts.scheme
    return urlunsplit((scheme, host, parts.path, parts.query, ""))


def article_id(url: str | None, text_norm: str) -> str:
    """Stable id: hash of the canonical URL when there is one, else of the normalised text."""
    key = "url:" + canonical_url(url) if url else "text:" + _WHITESPACE.sub(" ", text_norm).strip()
    return hashlib.blake2b(key.encode("utf-8"), digest_size=ID_HEX_CHARS // 2).hexdigest()


def build_article(item: CleanItem, ingested_at: datetime) -> Article:
    """Turn a clean item into an Article with its normalised form, language and id."""
    text_norm = normalize_text(item.text)
    return Article(
        id=article_id(item.url, text_norm),
        source=item.source,
        title=item.title,
        text=item.text,
        text_norm=text_norm,
        lang=detect_language(item.text),
        ingested_at=ingested_at,
        encoding=item.encoding,
        url=canonical_url(item.url) if item.url else None,
        published_at=item.published_at,
        author=item.author,
    )


def build_articles(items: list[CleanItem], ingested_at: datetime) -> StageOutput[Article]:
    """Build articles for a batch, all stamped with the same ingestion time."""
    return map_stage("article", items, lambda item: build_article(item, ingested_at), _source)


def _source(item: CleanItem) -> str:
    return item.source
