"""Feed rules: `feed_silent` rules checked against each feed's state after a poll."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from connectors.feed_list import FeedSpec
from newsmon.alerts.channels import channel_targets
from newsmon.alerts.config import AlertConfig
from newsmon.alerts.rules import AlertRule
from newsmon.records import FeedAlert, FeedState, SilenceMatch
from newsmon.store.base import FeedAlerts


class SilenceStore(FeedAlerts, Protocol):
    """What checking feed rules needs from the store: feed states and feed alerts."""

    def feed_states(self) -> dict[str, FeedState]:
        """Every polled feed's remembered state."""
        ...


def silence_matches(
    rules: Sequence[AlertRule],
    specs: Sequence[FeedSpec],
    states: Mapping[str, FeedState],
    config: AlertConfig,
    now: datetime,
) -> list[SilenceMatch]:
    """Every (feed rule, feed) where the feed has brought nothing new for longer than the
    rule's `feed_silent` (a feed that never did counts from its first poll)."""
    found = []
    for rule in rules:
        if rule.feed_silent is None:
            continue
        targets = channel_targets(rule, config)
        for spec in specs:
            if rule.feeds and spec.name not in rule.feeds:
                continue
            state = states.get(spec.name)
            since = state.quiet_since if state is not None else None
            if since is None or (now - since).total_seconds() <= rule.feed_silent:
                continue
            found.append(SilenceMatch(rule.name, spec.name, str(spec.url), since, targets))
    return found


def check_silent_feeds(
    store: SilenceStore,
    rules: Sequence[AlertRule],
    config: AlertConfig,
    specs: Sequence[FeedSpec],
    run_id: str | None,
    now: datetime | None = None,
) -> list[FeedAlert]:
    """Record the feed alerts that fire now, each silence once per rule; the new ones."""
    at = now or datetime.now(UTC)
    found = silence_matches(rules, specs, store.feed_states(), config, at)
    return store.record_feed_alerts(run_id, found, at) if found else []
