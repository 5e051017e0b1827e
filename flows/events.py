"""Prefect events newsmon emits, for automations: a new story, an alert sent, a feed failed
or fallen silent."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
from prefect.client.orchestration import get_client
from prefect.events import Event, emit_event
from prefect.events.filters import EventFilter, EventIDFilter, EventOccurredFilter

from newsmon.records import AlertMessage, Article, Delivery, EntityTag, FeedPoll, FeedState

STORY_NEW = "newsmon.story.new"
ALERT_SENT = "newsmon.alert.sent"
FEED_FAILED = "newsmon.feed.failed"
FEED_SILENT = "newsmon.feed.silent"
_NAME_CHARS = 120
# Prefect refuses an event with more related resources than this (pydantic ValidationError),
# and the event is lost: a long document names hundreds of entities, a digest many stories.
MAX_RELATED = 100

log = logging.getLogger(__name__)


def most_mentioned(article: Article, limit: int) -> list[EntityTag]:
    """The article's entities, the most mentioned first, at most `limit`."""
    ranked = sorted(enumerate(article.entities), key=lambda p: (-len(p[1].mentions), p[0]))
    return [tag for _, tag in ranked[:limit]]


def emit_new_stories(articles: Sequence[Article]) -> list[Event]:
    """One `newsmon.story.new` event per new story, its entities as related resources;
    returns the events emitted.

    Up to Prefect's 100, the most mentioned first; the payload lists every entity id.

    An automation matches a story's entities with `match_related` on role `entity` and id
    `newsmon.entity.<id>` (see deploy/prefect/putin-xi-automation.yaml).
    """
    emitted: list[Event] = []
    for article in articles:
        event = emit_event(
            STORY_NEW,
            resource={
                "prefect.resource.id": f"newsmon.story.{article.cluster_id or article.id}",
                "prefect.resource.name": article.title[:_NAME_CHARS],
                "newsmon.lang": article.lang,
            },
            related=[
                {
                    "prefect.resource.id": f"newsmon.entity.{tag.id}",
                    "prefect.resource.role": "entity",
                    "prefect.resource.name": tag.label,
                }
                for tag in most_mentioned(article, MAX_RELATED)
            ],
            payload={
                "article_id": article.id,
                "cluster_id": article.cluster_id or article.id,
                "event_id": article.event_id,
                "title": article.title,
                "url": article.url,
                "lang": article.lang,
                "source": article.source,
                "entity_ids": [tag.id for tag in article.entities],
            },
        )
        if event is not None:
            emitted.append(event)
    return emitted


class EventPacer:
    """Keeps a run's story events at most `in_flight` ahead of what the Prefect server has
    recorded.

    The server takes events in without pushing back and queues them in memory for each of
    its services, 10,000 a queue; past that it drops them, and the automations they were
    for never fire. A backfill emits them faster than a server sharing two cores with the
    workers records them. Past `in_flight` unconfirmed events, the run waits until the
    oldest batch's last event is readable from the server. A poll's few events never wait:
    the server's recorder may hold a short tail for seconds. A server that has not recorded
    an event after `patience` seconds (it lost it, or records none) ends the pacing for the
    run, with a warning.
    """

    def __init__(self, in_flight: int = 2000, patience: float = 60.0, every: float = 0.2) -> None:
        self.in_flight = in_flight
        self.patience = patience
        self.every = every
        self.waited = 0.0  # seconds this run spent waiting for the server
        self._batches: deque[tuple[Event, int]] = deque()  # last event, events in the batch
        self._unconfirmed = 0
        self._on = True

    def sent(self, last: Event | None, count: int) -> None:
        """Note a batch of `count` events ending with `last`; wait while too many are
        unconfirmed, the oldest batch first."""
        if not self._on or last is None:
            return
        self._batches.append((last, count))
        self._unconfirmed += count
        while self._on and self._unconfirmed > self.in_flight and len(self._batches) > 1:
            oldest, oldest_count = self._batches.popleft()
            self._wait_for(oldest)
            self._unconfirmed -= oldest_count

    def _wait_for(self, event: Event) -> None:
        start = time.monotonic()
        try:
            recorded = self._recorded_within_patience(event)
        except httpx.HTTPError as exc:
            log.warning(
                "cannot ask the Prefect API whether it recorded story event %s (%s);"
                " the rest of this run's story events go out unpaced",
                event.id,
                exc,
            )
            recorded = False
        else:
            if not recorded:
                log.warning(
                    "Prefect server has not recorded story event %s after %.0f s;"
                    " the rest of this run's story events go out unpaced",
                    event.id,
                    self.patience,
                )
        self._on = recorded
        self.waited += time.monotonic() - start

    def _recorded_within_patience(self, event: Event) -> bool:
        query = EventFilter(
            id=EventIDFilter(id=[event.id]),
            occurred=EventOccurredFilter(
                since=event.occurred - timedelta(seconds=1),
                until=event.occurred + timedelta(seconds=1),
            ),
        )
        deadline = time.monotonic() + self.patience
        with get_client(sync_client=True) as client:
            while not client.read_events(query, limit=1).events:
                if time.monotonic() > deadline:
                    return False
                time.sleep(self.every)
        return True


def emit_alert_sent(delivery: Delivery, message: AlertMessage) -> None:
    """A `newsmon.alert.sent` event for a delivered message."""
    related = [
        {
            "prefect.resource.id": f"newsmon.story.{story.cluster_id}",
            "prefect.resource.role": "story",
        }
        for story in message.stories[: MAX_RELATED - 1]
    ]
    if message.feed is not None:
        related.append(
            {
                "prefect.resource.id": f"newsmon.feed.{message.feed.feed}",
                "prefect.resource.role": "feed",
            }
        )
    emit_event(
        ALERT_SENT,
        resource={
            "prefect.resource.id": f"newsmon.alert.{delivery.key}",
            "prefect.resource.name": f"{delivery.rule} via {delivery.channel}",
        },
        related=[
            {
                "prefect.resource.id": f"newsmon.rule.{delivery.rule}",
                "prefect.resource.role": "rule",
            },
            *related,
        ],
        payload={
            "rule": delivery.rule,
            "channel": delivery.channel,
            "kind": delivery.kind,
            "idempotency_key": delivery.key,
            "day": delivery.digest_day,
            "story_ids": [story.id for story in message.stories],
            "headline": message.stories[0].title if message.stories else None,
            "feed": message.feed.feed if message.feed else None,
        },
    )


def emit_feed_failed(poll: FeedPoll, url: str) -> None:
    """A `newsmon.feed.failed` event for a feed a poll could not read (failed or refused)."""
    emit_event(
        FEED_FAILED,
        resource={
            "prefect.resource.id": f"newsmon.feed.{poll.feed}",
            "prefect.resource.name": poll.feed,
        },
        payload={"feed": poll.feed, "url": url, "status": poll.status, "error": poll.error},
    )


def emit_feed_silent(
    url: str, state: FeedState, quiet_since: datetime, silent_after: float, now: datetime
) -> None:
    """A `newsmon.feed.silent` event for a feed that brought nothing new past its limit."""
    emit_event(
        FEED_SILENT,
        resource={
            "prefect.resource.id": f"newsmon.feed.{state.name}",
            "prefect.resource.name": state.name,
        },
        payload={
            "feed": state.name,
            "url": url,
            "quiet_since": quiet_since.isoformat(),
            "silent_for_seconds": round((now - quiet_since).total_seconds()),
            "silent_after_seconds": silent_after,
            "last_status": state.last_status,
            "last_error": state.last_error,
        },
    )
