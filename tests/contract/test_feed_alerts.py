"""Feed alerts: a silence fires a feed rule once, and its deliveries go through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsmon.records import AlertState, ChannelTarget, DeliveryState, FeedPoll, SilenceMatch
from newsmon.store.base import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FEED = "https://rt.example/rss"
EMAIL = ChannelTarget("email", "desk@example.org")
WEBHOOK = ChannelTarget("webhook", "https://hooks.example")


def _silence(since: datetime, *channels: ChannelTarget) -> SilenceMatch:
    return SilenceMatch("feed-silent", "rt", FEED, since, channels)


def test_a_silence_alerts_once_per_rule_and_again_after_the_feed_spoke(store: Store) -> None:
    store.record_poll(FEED, FeedPoll("rt", "failed", error="feed answered 503"), 0, 60, NOW, NOW)
    quiet = NOW - timedelta(days=2)
    [first] = store.record_feed_alerts("run-1", [_silence(quiet, EMAIL, WEBHOOK)], NOW)
    assert (first.rule, first.feed, first.url, first.quiet_since) == (
        "feed-silent",
        "rt",
        FEED,
        quiet,
    )
    assert first.state is AlertState.QUEUED
    assert (first.last_status, first.last_error) == ("failed", "feed answered 503")
    assert [(d.channel, d.kind, d.state) for d in first.deliveries] == [
        ("email", "feed-silent", DeliveryState.PENDING),
        ("webhook", "feed-silent", DeliveryState.PENDING),
    ]
    # The same silence on every later poll, from this caller or another: nothing new.
    later = NOW + timedelta(hours=1)
    assert store.record_feed_alerts("run-2", [_silence(quiet, EMAIL, WEBHOOK)], later) == []
    assert store.delivery_counts()["pending"] == 2
    # The feed spoke, then fell quiet again: a new silence, a new alert.
    [second] = store.record_feed_alerts("run-3", [_silence(NOW, EMAIL)], later + timedelta(days=2))
    assert second.id != first.id
    assert [a.id for a in store.feed_alerts()] == [second.id, first.id]
    assert store.feed_alerts(rule="other") == []


def test_a_feed_alert_delivery_is_claimed_sent_and_listed(store: Store) -> None:
    [alert] = store.record_feed_alerts("run-1", [_silence(NOW - timedelta(days=1), EMAIL)], NOW)
    [claimed] = store.claim_deliveries("sender", ["email"], NOW, 60)
    assert (claimed.kind, claimed.feed_alert_id, claimed.article_ids) == (
        "feed-silent",
        alert.id,
        (),
    )
    assert [a.id for a in store.feed_alerts(unsent=True)] == [alert.id]
    store.mark_sent(claimed.id, NOW)
    assert store.feed_alerts(unsent=True) == []
    [listed] = store.feed_alerts_by_id([alert.id, 999])
    assert listed.deliveries[0].state is DeliveryState.SENT


def test_without_channels_a_feed_alert_is_recorded_only(store: Store) -> None:
    [alert] = store.record_feed_alerts("run-1", [_silence(NOW - timedelta(days=1))], NOW)
    assert alert.state is AlertState.RECORDED and alert.deliveries == ()
    assert store.claim_deliveries("sender", ["email", "webhook"], NOW, 60) == []
