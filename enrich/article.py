"""Article stage: normalised text, language and the stable content-derived id."""

from __future__ import annotations

from datetime import datetime

from enrich.arabic import normalize_text
from enrich.language import detect_language
from newsmon.ids import article_id, canonical_url
from newsmon.records import Article, CleanItem, StageOutput
from newsmon.stages import map_stage


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
