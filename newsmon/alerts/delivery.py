"""Sending the outbox: claim due deliveries, send each once, record the outcome, back off."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.alert_channel import Channel, DeliveryError
from connectors.alert_messages import brief
from newsmon.alerts.rules import AlertRule
from newsmon.records import AlertMessage, Delivery, DeliveryReport
from newsmon.store.base import Store

log = logging.getLogger("newsmon.alerts")

OnSent = Callable[[Delivery, AlertMessage], None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when it is given up."""

    backoff: tuple[float, ...]
    max_attempts: int
    lease_seconds: float

    def delay(self, attempts: int, asked: float | None = None) -> float:
        """Seconds before the next try after `attempts` failures (the receiver's ask wins)."""
        scheduled = self.backoff[min(attempts, len(self.backoff)) - 1]
        return max(scheduled, asked) if asked is not None else scheduled


def build_message(store: Store, delivery: Delivery, rules: Mapping[str, AlertRule]) -> AlertMessage:
    """The message a delivery sends, from the stories (or the feed) as stored now."""
    rule = rules.get(delivery.rule)
    description = rule.description if rule else ""
    if delivery.kind == "feed-silent":
        feeds = store.feed_alerts_by_id([delivery.feed_alert_id or 0])
        if not feeds:
            raise DeliveryError("its feed alert is no longer in the store", permanent=True)
        return AlertMessage(
            key=delivery.key,
            rule=delivery.rule,
            description=description,
            kind=delivery.kind,
            stories=(),
            feed=feeds[0],
        )
    articles = store.articles_by_id(list(delivery.article_ids))
    if not articles:
        raise DeliveryError("its stories are no longer in the store", permanent=True)
    head = store.articles_by_id([delivery.head_id]) if delivery.head_id else []
    sources = store.sources_for([a.id for a in [*articles, *head]])
    return AlertMessage(
        key=delivery.key,
        rule=delivery.rule,
        description=description,
        kind=delivery.kind,
        stories=tuple(brief(a, sources[a.id]) for a in articles),
        day=delivery.digest_day,
        replies_to=delivery.replies_to,
        head=brief(head[0], sources[head[0].id]) if head else None,
    )


def deliver(
    store: Store,
    channels: Mapping[str, Channel],
    rules: Sequence[AlertRule],
    policy: RetryPolicy,
    *,
    ignore_backoff: bool = False,
    on_sent: OnSent | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> DeliveryReport:
    """Send every due delivery once (all pending ones with ignore_backoff), oldest first.

    A transient failure (connection refused, timeout, 5xx, 429, SMTP 4xx) is retried later
    with backoff; a permanent one (other 4xx, SMTP 5xx, refused login) or the last allowed
    attempt gives the delivery up, with the reason kept.
    """
    report = DeliveryReport()
    owner = uuid.uuid4().hex
    by_name = {rule.name: rule for rule in rules}
    after = 0
    # One at a time: a reservation must not expire while it waits behind slow sends, and
    # senders running at once share the work instead of one holding it all.
    while batch := store.claim_deliveries(
        owner,
        list(channels),
        clock(),
        policy.lease_seconds,
        after_id=after,
        limit=1,
        ignore_backoff=ignore_backoff,
    ):
        for delivery in batch:
            after = max(after, delivery.id)
            sent = _send_one(
                store, channels[delivery.channel], delivery, by_name, policy, owner, report
            )
            if sent and on_sent:
                on_sent(delivery, sent)
    return report


def _send_one(
    store: Store,
    channel: Channel,
    delivery: Delivery,
    rules: Mapping[str, AlertRule],
    policy: RetryPolicy,
    owner: str,
    report: DeliveryReport,
) -> AlertMessage | None:
    """Try one delivery and record the outcome; the message when it was sent."""
    label = f"{delivery.rule} via {delivery.channel} ({delivery.key[:12]})"
    try:
        message = build_message(store, delivery, rules)
        note = channel.send(delivery, message)
    except DeliveryError as exc:
        error: DeliveryError = exc
    except Exception as exc:
        # A bug must not stop the other deliveries; the traceback goes to the log.
        log.exception("%s: unexpected error while sending", label)
        error = DeliveryError(f"internal error: {type(exc).__name__}: {exc}")
    else:
        store.mark_sent(delivery.id, _utcnow(), note)
        report.sent += 1
        return message
    given_up = error.permanent or delivery.attempts >= policy.max_attempts
    if given_up:
        why = "permanent error" if error.permanent else f"{delivery.attempts} attempts"
        reason = f"gave up ({why}): {error}"
        store.mark_failed(delivery.id, owner, reason, None)
        report.given_up += 1
    else:
        wait = policy.delay(delivery.attempts, error.retry_after)
        store.mark_failed(delivery.id, owner, str(error), _utcnow() + timedelta(seconds=wait))
        report.retrying += 1
        reason = f"{error}; retry in {wait:g} s"
    report.errors.append(f"{label}: {reason}")
    log.warning("alert %s: %s", label, reason)
    return None
