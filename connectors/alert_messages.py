"""What an alert says: story briefs, the email's subject and parts, the webhook's JSON body."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from newsmon.records import AlertMessage, Article, FeedAlert, StoryBrief

_LEAD_CHARS = 400
_RTL_LANGS = {"ar", "fa", "ur", "he"}


def brief(article: Article, sources: list[str]) -> StoryBrief:
    """The part of a story an alert carries: headline, lead, link, sources, entities."""
    lead = article.text.strip()
    if len(lead) > _LEAD_CHARS:
        lead = lead[:_LEAD_CHARS].rsplit(" ", 1)[0] + " …"
    return StoryBrief(
        id=article.id,
        cluster_id=article.cluster_id or article.id,
        event_id=article.event_id,
        title=article.title,
        lead=lead,
        lang=article.lang,
        url=article.url,
        sources=tuple(sources or [article.source]),
        entities=tuple((tag.id, tag.label, tag.type) for tag in article.entities),
        published_at=article.published_at,
    )


def _when(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def silent_for(feed: FeedAlert) -> str:
    """How long the feed had been quiet when the alert fired, as `3 d 4 h` or `25 min`."""
    minutes = int((feed.matched_at - feed.quiet_since).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours)
    return " ".join(parts) if parts else f"{minutes} min"


def subject(message: AlertMessage) -> str:
    """Email subject: the rule and the headline (or the digest's day and size).

    An update's subject is its alert's, so mail clients thread it under the alert.
    """
    if message.kind == "digest":
        n = len(message.stories)
        return f"[newsmon] {message.rule}: {message.day}: {n} {'story' if n == 1 else 'stories'}"
    if message.feed is not None:
        feed = message.feed
        return f"[newsmon] {message.rule}: feed {feed.feed} silent since {_when(feed.quiet_since)}"
    if message.kind == "update" and message.head is not None:
        return f"[newsmon] {message.rule}: {message.head.title}"
    return f"[newsmon] {message.rule}: {message.stories[0].title}"


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("connectors", "templates"),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _direction(message: AlertMessage) -> tuple[str, str]:
    langs = [story.lang for story in message.stories]
    lang = max(set(langs), key=langs.count) if langs else "en"
    return lang, "rtl" if lang in _RTL_LANGS else "ltr"


def render(message: AlertMessage, fmt: str) -> str:
    """The message as plain text (fmt `txt`) or HTML (`html`, right-to-left for Arabic)."""
    lang, direction = _direction(message)
    template = _templates().get_template(f"alert.{fmt}.j2")
    return template.render(
        message=message,
        subject=subject(message),
        silent_for=silent_for(message.feed) if message.feed else None,
        lang=lang,
        dir=direction,
        rtl_langs=_RTL_LANGS,
    )


def is_rtl(message: AlertMessage) -> bool:
    """Whether the message's stories are mostly in a right-to-left language."""
    return _direction(message)[1] == "rtl"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _story_json(story: StoryBrief) -> dict[str, Any]:
    return {
        "id": story.id,
        "cluster_id": story.cluster_id,
        "event_id": story.event_id,
        "headline": story.title,
        "lead": story.lead,
        "lang": story.lang,
        "url": story.url,
        "sources": list(story.sources),
        "entities": [{"id": i, "label": label, "type": t} for i, label, t in story.entities],
        "published_at": _iso(story.published_at),
    }


def webhook_payload(message: AlertMessage, sent_at: datetime) -> dict[str, Any]:
    """The webhook's JSON body: an alert carries `story`, a digest `stories` and `day`, an
    update `stories` with `in_reply_to`, `event_id` and `alert_story`, a silent feed `feed`."""
    body: dict[str, Any] = {
        "type": f"newsmon.{message.kind}",
        "idempotency_key": message.key,
        "rule": message.rule,
        "rule_description": message.description,
        "sent_at": sent_at.isoformat(),
    }
    if message.feed is not None:
        feed = message.feed
        body["feed"] = {
            "name": feed.feed,
            "url": feed.url,
            "quiet_since": feed.quiet_since.isoformat(),
            "silent_for_seconds": round((feed.matched_at - feed.quiet_since).total_seconds()),
            "last_poll_at": _iso(feed.last_poll_at),
            "last_status": feed.last_status,
            "last_error": feed.last_error,
        }
    elif message.kind == "digest":
        body["day"] = message.day
        body["stories"] = [_story_json(story) for story in message.stories]
    elif message.kind == "update":
        # The alert it follows: its idempotency key and story; then the event's later stories.
        body["in_reply_to"] = message.replies_to
        body["event_id"] = message.head.event_id if message.head else None
        body["alert_story"] = _story_json(message.head) if message.head else None
        body["stories"] = [_story_json(story) for story in message.stories]
    else:
        body["story"] = _story_json(message.stories[0])
    return body
