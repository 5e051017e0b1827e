"""Alerts and feed health in Elasticsearch beside the stories, for the dashboards.

Two small indices with a template each: `<base>-alerts` (one document per alert, its
delivery state rewritten as it changes) and `<base>-feeds` (one document per feed, its
health as of the last sync). `<base>` is the stories alias without its `-stories` ending.
They are written whole on every sync: a few thousand documents at most, keyed by alert or
feed, so sending one again only brings it up to date.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.elasticsearch import ElasticsearchSink, IndexOutcome
from newsmon.packaged import packaged
from newsmon.records import AlertRecord, DeliveryState, DeliveryStatus, FeedAlert, FeedState

ALERTS_TEMPLATE = packaged("alerts-template.json")
FEEDS_TEMPLATE = packaged("feeds-template.json")
_HEALTHY = {"fetched", "not-modified", "unchanged"}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def delivery_state(deliveries: Sequence[DeliveryStatus]) -> str:
    """One word for an alert's deliveries: the worst of its channels' states."""
    states = {d.state for d in deliveries}
    if not states:
        return "none"
    for worst in (DeliveryState.GIVEN_UP, DeliveryState.PENDING):
        if worst in states:
            return str(worst)
    return str(DeliveryState.SENT)


def _delivery_fields(deliveries: Sequence[DeliveryStatus]) -> dict[str, Any]:
    errors = [d.last_error for d in deliveries if d.last_error]
    sent = [d.sent_at for d in deliveries if d.sent_at]
    return {
        "delivery_state": delivery_state(deliveries),
        "channels": sorted({d.channel for d in deliveries}),
        "channel_states": sorted({f"{d.channel}:{d.state}" for d in deliveries}),
        "attempts": sum(d.attempts for d in deliveries),
        "last_error": errors[-1] if errors else None,
        "sent_at": _iso(max(sent)) if sent else None,
    }


def _alert_head(alert: AlertRecord | FeedAlert, kind: str) -> dict[str, Any]:
    return {
        "id": f"{kind}-{alert.id}",
        "kind": kind,
        "rule": alert.rule,
        "fired_at": alert.matched_at.isoformat(),
        "state": str(alert.state),
        **_delivery_fields(alert.deliveries),
    }


def alert_document(alert: AlertRecord) -> dict[str, Any]:
    """A story alert as the alerts index holds it."""
    return {
        **_alert_head(alert, "story"),
        "run_id": alert.run_id,
        "title": alert.title,
        "article_id": alert.article_id,
        "cluster_id": alert.cluster_id,
        "event_id": alert.event_id,
        "updates": len(alert.updates),
    }


def feed_alert_document(alert: FeedAlert) -> dict[str, Any]:
    """A feed-silence alert as the alerts index holds it."""
    return {
        **_alert_head(alert, "feed-silent"),
        "title": f"{alert.feed}: nothing new since {alert.quiet_since:%Y-%m-%d %H:%M} UTC",
        "feed": alert.feed,
        "url": alert.url,
        "quiet_since": alert.quiet_since.isoformat(),
    }


def feed_document(feed: FeedState, now: datetime) -> dict[str, Any]:
    """A feed's health as of `now`: last poll, failures, counts, and how long it is quiet."""
    quiet = feed.quiet_since
    return {
        "id": hashlib.sha256(feed.url.encode()).hexdigest()[:20],
        "name": feed.name,
        "url": feed.url,
        "checked_at": now.isoformat(),
        "last_poll_at": _iso(feed.last_poll_at),
        "next_poll_at": _iso(feed.next_poll_at),
        "last_status": feed.last_status,
        "last_error": feed.last_error,
        "healthy": feed.last_status in _HEALTHY,
        "failures": feed.failures,
        "polls": feed.polls,
        "entries_seen": feed.entries_seen,
        "stored": feed.stored,
        "pending": feed.pending,
        "last_new_at": _iso(feed.last_new_at),
        "quiet_since": _iso(quiet),
        "quiet_hours": round((now - quiet).total_seconds() / 3600, 2) if quiet else None,
    }


@dataclass(frozen=True, slots=True)
class StatusIndex:
    """One status index: its name and the template file it is made from."""

    name: str
    template: Path


class StatusIndices:
    """The alerts and feeds indices of one sink's cluster."""

    def __init__(self, sink: ElasticsearchSink) -> None:
        self.sink = sink
        base = sink.alias.removesuffix("-stories")
        self.alerts = StatusIndex(f"{base}-alerts", ALERTS_TEMPLATE)
        self.feeds = StatusIndex(f"{base}-feeds", FEEDS_TEMPLATE)

    def setup(self) -> None:
        """Install both templates and create the indices that are missing."""
        for index in (self.alerts, self.feeds):
            try:
                body = json.loads(index.template.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"{index.template}: cannot read index template: {exc}") from exc
            body["index_patterns"] = [index.name]
            body["template"]["settings"]["number_of_replicas"] = self.sink.replicas
            self.sink.install_template(index.name, body)
            self.sink.ensure_index(index.name, body["template"]["mappings"]["properties"])

    def send(
        self,
        alerts: Sequence[AlertRecord],
        feed_alerts: Sequence[FeedAlert],
        feeds: Sequence[FeedState],
        now: datetime,
    ) -> IndexOutcome:
        """Write every alert and feed given, replacing what the indices held for them."""
        outcome = self.sink.index(
            [
                *(alert_document(a) for a in alerts),
                *(feed_alert_document(a) for a in feed_alerts),
            ],
            index=self.alerts.name,
        )
        feed_outcome = self.sink.index(
            [feed_document(f, now) for f in feeds], index=self.feeds.name
        )
        outcome.indexed += feed_outcome.indexed
        outcome.rejected += feed_outcome.rejected
        outcome.retry_later += feed_outcome.retry_later
        return outcome
