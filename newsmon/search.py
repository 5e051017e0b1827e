"""Full-text search over the store with Arabic-aware query analysis and snippets."""

from __future__ import annotations

from collections.abc import Sequence

from enrich.arabic import normalize_text, query_groups, words
from newsmon.records import EVERY_STORY, Article, SearchHit, StoryFilter
from newsmon.store.base import ArticleStore

_SNIPPET_CHARS = 160


def _matches(part: str, wanted: set[str]) -> bool:
    # Words inside clitic forms (وبوتين) match on the index side too, hence endswith.
    return any(
        t in wanted or any(t.endswith(w) for w in wanted) for t in words(normalize_text(part))
    )


def snippet(text: str, groups: list[list[str]]) -> str:
    """The first paragraph that contains a query word, trimmed around it."""
    wanted = {form for group in groups for form in group}
    for paragraph in text.splitlines():
        parts = paragraph.split()
        hit = next((i for i, part in enumerate(parts) if _matches(part, wanted)), None)
        if hit is not None:
            start = max(0, hit - 8)
            excerpt = " ".join(parts[start:])
            if len(excerpt) > _SNIPPET_CHARS:
                excerpt = excerpt[:_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
            return ("…" if start else "") + excerpt
    return text[:_SNIPPET_CHARS]


def _mention_groups(article: Article, entity_ids: Sequence[str]) -> list[list[str]]:
    """Query groups made of the first mention of the first wanted entity (for its snippet)."""
    for tag in article.entities:
        if tag.id in entity_ids and tag.mentions:
            return query_groups(tag.mentions[0].text)[-1:]
    return []


def find(
    store: ArticleStore,
    query: str,
    limit: int = 10,
    entity_ids: Sequence[str] = (),
    wanted: StoryFilter = EVERY_STORY,
) -> list[SearchHit]:
    """Stored articles the filter admits that match every query word (any spelling) and
    name every entity id."""
    groups = query_groups(query)
    return [
        SearchHit(
            id=article.id,
            title=article.title,
            source=article.source,
            score=score,
            snippet=snippet(article.text, groups or _mention_groups(article, entity_ids)),
            event_id=article.event_id,
        )
        for article, score in store.search(groups, limit, entity_ids, wanted)
    ]
