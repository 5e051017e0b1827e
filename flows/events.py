"""Prefect events newsmon emits, for automations: a new story, an alert sent, a feed failed
or fallen silent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prefect.events import emit_event

from newsmon.records import AlertMessage, Article, Delivery, EntityTag, FeedPoll, FeedState

STORY_NEW = "newsmon.story.new"
ALERT_SENT = "newsmon.alert.sent"
FEED_FAILED = "newsmon.feed.failed"
FEED_SILENT = "newsmon.feed.silent"
_NAME_CHARS = 120
# Prefect refuses an event with more related resources than this (pydantic ValidationError),
# and the event is lost: a long document names hundreds of entities, a digest many stories.
MAX_RELATED = 100


def most_mentioned(article: Article, limit: int) -> list[EntityTag]:
    """The article's entities, the most mentioned first, at most `limit`."""
    ranked = sorted(enumerate(article.entities), key=lambda p: (-len(p[1].mentions), p[0]))
    return [tag for _, tag in ranked[:limit]]


def emit_new_stories(articles: Sequence[Article]) -> int:
    """One `newsmon.story.new` event per new story, its entities as related resources.

    Up to Prefect's 100, the most mentioned first; the payload lists every entity id.

    An automation matches a story's entities with `match_related` on role `entity` and id
    `newsmon.entity.<id>` (see deploy/prefect/putin-xi-automation.yaml).
    """
    emitted = 0
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
        emitted += event is not None
    return emitted


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
