"""The NDJSON export contract: one JSON object per stored story."""

from __future__ import annotations

from typing import Any

from newsmon.records import Article


def article_json(article: Article, sources: list[str]) -> dict[str, Any]:
    """The export object for one article; later stages add fields, never rename these."""
    return {
        "id": article.id,
        "source": article.source,
        "sources": sources or [article.source],
        "url": article.url,
        "title": article.title,
        "text": article.text,
        "lang": article.lang,
        "encoding": article.encoding,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "author": article.author,
        "ingested_at": article.ingested_at.isoformat(),
        "cluster_id": article.cluster_id or article.id,
        "duplicate_of": article.duplicate_of,
        "similarity": article.similarity,
        "version_of": article.version_of,
        "event_id": article.event_id,
        "entities": [
            {
                "id": tag.id,
                "label": tag.label,
                "type": tag.type,
                "mentions": [
                    {"start": m.start, "end": m.end, "text": m.text, "field": m.field}
                    for m in tag.mentions
                ],
            }
            for tag in article.entities
        ],
    }
