"""The events newsmon emits reach the Prefect API, however many entities a story names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from peers import wait_for_events

from flows.events import MAX_RELATED, STORY_NEW, emit_new_stories
from newsmon.records import Article, EntityTag, Mention

pytestmark = pytest.mark.integration


def test_a_story_naming_hundreds_of_entities_still_makes_its_event() -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    minor = [
        EntityTag(f"nm:place-{n}", f"مكان {n}", "place", (Mention(10 * n, 10 * n + 4, "مكان"),))
        for n in range(150)
    ]
    putin = EntityTag(
        "Q7747", "فلاديمير بوتين", "person", tuple(Mention(i, i + 5, "بوتين") for i in range(3))
    )
    article = Article(
        id="many-entities",
        source="long.txt",
        title="تقرير طويل",
        text="نص",
        text_norm="نص",
        lang="ar",
        ingested_at=datetime.now(UTC),
        encoding="utf-8",
        entities=(*minor, putin),  # the most mentioned comes last in text order
    )
    assert emit_new_stories([article]) == 1
    key = "newsmon.story.many-entities"
    events = wait_for_events(STORY_NEW, since, lambda got: any(e.resource.id == key for e in got))
    found = [e for e in events if e.resource.id == key]
    [event] = found
    related = [r.id for r in event.related]
    assert len(related) == MAX_RELATED and related[0] == "newsmon.entity.Q7747"
    assert len(event.payload["entity_ids"]) == 151
