"""The events newsmon emits reach the Prefect API, however many entities a story names."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from peers import wait_for_events
from prefect.client.orchestration import get_client
from prefect.events import Event
from prefect.events.filters import EventFilter, EventIDFilter
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.events import MAX_RELATED, STORY_NEW, EventPacer, emit_new_stories
from newsmon.records import Article, EntityTag, Mention

pytestmark = pytest.mark.integration


def _story(article_id: str) -> Article:
    return Article(
        id=article_id,
        source=f"{article_id}.txt",
        title="خبر",
        text="نص",
        text_norm="نص",
        lang="ar",
        ingested_at=datetime.now(UTC),
        encoding="utf-8",
    )


def test_a_story_naming_hundreds_of_entities_still_makes_its_event() -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    minor = [
        EntityTag(f"nm:place-{n}", f"مكان {n}", "place", (Mention(10 * n, 10 * n + 4, "مكان"),))
        for n in range(150)
    ]
    putin = EntityTag(
        "Q7747", "فلاديمير بوتين", "person", tuple(Mention(i, i + 5, "بوتين") for i in range(3))
    )
    # The most mentioned comes last in text order.
    article = replace(_story("many-entities"), entities=(*minor, putin))
    assert len(emit_new_stories([article])) == 1
    key = "newsmon.story.many-entities"
    events = wait_for_events(STORY_NEW, since, lambda got: any(e.resource.id == key for e in got))
    found = [e for e in events if e.resource.id == key]
    [event] = found
    related = [r.id for r in event.related]
    assert len(related) == MAX_RELATED and related[0] == "newsmon.entity.Q7747"
    assert len(event.payload["entity_ids"]) == 151


def _recorded(event: Event) -> bool:
    with get_client(sync_client=True) as client:
        return bool(
            client.read_events(EventFilter(id=EventIDFilter(id=[event.id])), limit=1).events
        )


def test_the_pacer_waits_for_the_oldest_batch_once_too_many_events_are_unconfirmed() -> None:
    pacer = EventPacer(in_flight=8)
    first = emit_new_stories([_story(f"paced-1-{n}") for n in range(5)])
    pacer.sent(first[-1], len(first))
    assert pacer.waited == 0.0  # 5 unconfirmed: under the limit
    # The server records events in batches of 20 or every 5 s: five are not readable at once.
    second = emit_new_stories([_story(f"paced-2-{n}") for n in range(5)])
    pacer.sent(second[-1], len(second))
    assert _recorded(first[-1]) and pacer.waited > 0
    waited = pacer.waited
    third = emit_new_stories([_story(f"paced-3-{n}") for n in range(2)])
    pacer.sent(third[-1], len(third))
    assert pacer.waited == waited  # 7 unconfirmed: no wait


def test_a_server_that_never_records_an_event_ends_the_pacing_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pacer = EventPacer(in_flight=1, patience=0.5)
    never_sent = Event(event=STORY_NEW, resource={"prefect.resource.id": "x"}, id=uuid4())
    pacer.sent(never_sent, 1)
    with caplog.at_level(logging.WARNING, logger="flows.events"):
        started = time.monotonic()
        pacer.sent(Event(event=STORY_NEW, resource={"prefect.resource.id": "y"}, id=uuid4()), 1)
        assert 0.5 <= time.monotonic() - started < 10
    assert f"has not recorded story event {never_sent.id}" in caplog.text
    started = time.monotonic()
    for _ in range(3):
        pacer.sent(Event(event=STORY_NEW, resource={"prefect.resource.id": "z"}, id=uuid4()), 1)
    assert time.monotonic() - started < 0.5  # unpaced from then on


def test_an_unreachable_api_ends_the_pacing_with_a_warning_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pacer = EventPacer(in_flight=1)
    first = Event(event=STORY_NEW, resource={"prefect.resource.id": "a"}, id=uuid4())
    pacer.sent(first, 1)
    # Port 9 (discard) has no listener on loopback: the connection is refused.
    with (
        temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        caplog.at_level(logging.WARNING, logger="flows.events"),
    ):
        pacer.sent(Event(event=STORY_NEW, resource={"prefect.resource.id": "b"}, id=uuid4()), 1)
    assert f"cannot ask the Prefect API whether it recorded story event {first.id}" in caplog.text
    waited = pacer.waited
    pacer.sent(Event(event=STORY_NEW, resource={"prefect.resource.id": "c"}, id=uuid4()), 1)
    assert pacer.waited == waited
