"""The NDJSON export contract: one JSON object per stored story."""

from __future__ import annotations

from typing import Any

from newsmon.records import AlertRecord, Article, DeliveryStatus, FeedAlert, RunSummary


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


def run_summary_json(summary: RunSummary) -> dict[str, Any]:
    """A run's summary as one JSON object (`newsmon run --json`, `newsmon poll --json`)."""
    delivery = summary.delivery
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "read": summary.inputs_read,
        "stored": summary.stored,
        "already_known": summary.already_known,
        "unchanged": summary.unchanged,
        "rejected": [
            {"source": r.source, "stage": r.stage, "reason": r.reason} for r in summary.rejected
        ],
        "seconds": round(summary.seconds, 3),
        "error": summary.error,
        "elasticsearch": None
        if summary.es_indexed is None and summary.es_error is None
        else {
            "indexed": summary.es_indexed,
            "pending": summary.es_pending,
            "error": summary.es_error,
        },
        "feeds": summary.feeds,
        "alerts": {
            "total": summary.alert_tally.total,
            "by_rule": summary.alert_tally.by_rule,
            "deliveries": summary.alert_tally.deliveries,
            # The first alerts of the run (a backfill may fire very many; all are counted).
            "first": [
                {
                    "rule": a.rule,
                    "article_id": a.article_id,
                    "title": a.title,
                    "state": str(a.state),
                }
                for a in summary.alerts
            ],
        },
        "delivery": None
        if delivery is None
        else {"sent": delivery.sent, "retrying": delivery.retrying, "given_up": delivery.given_up},
        "feed_alerts": [
            {"rule": a.rule, "feed": a.feed, "quiet_since": a.quiet_since.isoformat()}
            for a in summary.feed_alerts
        ],
        "timings": [
            {"stage": t.stage, "items": t.items_in, "seconds": round(t.seconds, 3)}
            for t in summary.timings
        ],
    }


def alert_json(alert: AlertRecord) -> dict[str, Any]:
    """An alert with its updates and deliveries (`newsmon alerts --json`)."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "article_id": alert.article_id,
        "cluster_id": alert.cluster_id,
        "title": alert.title,
        "matched_at": alert.matched_at.isoformat(),
        "run_id": alert.run_id,
        "state": str(alert.state),
        "event_id": alert.event_id,
        "updates": [
            {
                "article_id": u.article_id,
                "title": u.title,
                "matched_at": u.matched_at.isoformat(),
                "in_message": u.in_message,
            }
            for u in alert.updates
        ],
        "deliveries": [delivery_json(d) for d in alert.deliveries],
    }


def delivery_json(d: DeliveryStatus) -> dict[str, object]:
    """One channel's delivery of an alert."""
    return {
        "channel": d.channel,
        "kind": d.kind,
        "target": d.target,
        "state": str(d.state),
        "attempts": d.attempts,
        "last_error": d.last_error,
        "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
    }


def feed_alert_json(alert: FeedAlert) -> dict[str, Any]:
    """A feed-silence alert with its deliveries (`newsmon alerts --json`)."""
    return {
        "id": alert.id,
        "kind": "feed-silent",
        "rule": alert.rule,
        "feed": alert.feed,
        "url": alert.url,
        "quiet_since": alert.quiet_since.isoformat(),
        "matched_at": alert.matched_at.isoformat(),
        "state": str(alert.state),
        "last_status": alert.last_status,
        "last_error": alert.last_error,
        "deliveries": [delivery_json(d) for d in alert.deliveries],
    }
