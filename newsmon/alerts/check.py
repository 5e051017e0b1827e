"""The alerts stage: check the rules against newly stored stories and record what fired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Protocol
from zoneinfo import ZoneInfo

from newsmon.alerts.breaking import is_breaking
from newsmon.alerts.channels import channel_targets
from newsmon.alerts.config import AlertConfig, StoryEvents
from newsmon.alerts.rules import AlertRule, matching_rules
from newsmon.records import AlertRecord, AlertState, Article, EventSource, RuleMatch
from newsmon.store.base import AlertOutbox


@dataclass(slots=True)
class AlertCheck:
    """What one pass over the alert queue did."""

    checked: int = 0
    alerts: list[AlertRecord] = field(default_factory=list)
    new_stories: list[Article] = field(default_factory=list)  # first copies, for events

    def to_announce(self, which: StoryEvents) -> list[Article]:
        """The new stories to announce as events: `all`, those that fired an alert, or `off`."""
        if which == "off":
            return []
        if which == "alerted":
            # A throttled match was held back: it alerted nobody.
            fired = {a.article_id for a in self.alerts if a.state is not AlertState.THROTTLED}
            return [story for story in self.new_stories if story.id in fired]
        return self.new_stories


class EventReports(Protocol):
    """Where an event was reported: what a breaking rule counts."""

    def event_sources(self, event_id: str) -> list[EventSource]:
        """Every place an event's articles were read, with publication and first-seen times."""
        ...


class AlertStore(AlertOutbox, EventReports, Protocol):
    """What checking the rules needs from the store."""


def rule_matches(
    rules: Sequence[AlertRule],
    articles: Sequence[Article],
    config: AlertConfig,
    reports: EventReports | None = None,
) -> list[RuleMatch]:
    """Every (rule, article) match, with the story key and the channels it goes to.

    A breaking rule matches once its event has enough outlets (`reports` tells where the
    event was reported); without `reports` breaking rules match nothing.
    """
    targets = {rule.name: channel_targets(rule, config) for rule in rules}
    found = []
    sources: dict[str, list[EventSource]] = {}
    for article in articles:
        for rule in matching_rules(rules, article):
            if rule.breaking is not None:
                event_id = article.event_id
                if reports is None or event_id is None:
                    continue
                if event_id not in sources:
                    sources[event_id] = reports.event_sources(event_id)
                if is_breaking(rule, sources[event_id]):
                    found.append(
                        RuleMatch(
                            rule=rule.name,
                            article_id=article.id,
                            story_key=f"breaking:{event_id}",
                            channels=targets[rule.name],
                            throttle_seconds=rule.throttle,
                        )
                    )
                continue
            found.append(
                RuleMatch(
                    rule=rule.name,
                    article_id=article.id,
                    story_key=_story_key(rule, article),
                    channels=targets[rule.name],
                    throttle_seconds=rule.throttle,
                    digest=rule.digest is not None,
                    # A copy of a story adds nothing to its event: only stories are updates.
                    update=rule.per == "event" and article.duplicate_of is None,
                    update_message=rule.updates == "digest",
                )
            )
    return found


def _story_key(rule: AlertRule, article: Article) -> str:
    """What a rule alerts once for: the article's event, story or the article itself."""
    story = article.cluster_id or article.id
    if rule.per == "event":
        return article.event_id or story  # stored before events existed: its story
    return story if rule.per == "story" else article.id


def check_new_stories(
    store: AlertStore,
    rules: Sequence[AlertRule],
    config: AlertConfig,
    run_id: str | None,
    now: datetime | None = None,
) -> AlertCheck:
    """Check every queued story (this run's and any left by an interrupted run) once."""
    result = AlertCheck()
    while articles := store.alert_queue(config.batch_size):
        when = now or datetime.now(UTC)
        found = rule_matches(rules, articles, config, store)
        alerts, taken = store.record_alerts(run_id, [a.id for a in articles], found, when)
        result.checked += len(taken)
        result.alerts += alerts
        mine = set(taken)
        result.new_stories += [a for a in articles if a.id in mine and a.duplicate_of is None]
    return result


def close_digests(
    store: AlertOutbox, rules: Sequence[AlertRule], config: AlertConfig, now: datetime | None = None
) -> int:
    """Write the digest deliveries of every finished day; returns how many were written."""
    zone = ZoneInfo(config.timezone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    written = 0
    for rule in rules:
        if rule.digest is None:
            continue
        waiting = [
            (at.astimezone(zone).date(), alert_id) for alert_id, at in store.undigested(rule.name)
        ]
        finished = sorted(item for item in waiting if item[0] < today)
        for day, items in groupby(finished, key=lambda item: item[0]):
            written += store.add_digest(
                rule.name,
                day.isoformat(),
                [alert_id for _, alert_id in items],
                channel_targets(rule, config),
                now or datetime.now(UTC),
            )
    return written


def close_updates(
    store: AlertOutbox, rules: Sequence[AlertRule], config: AlertConfig, now: datetime | None = None
) -> int:
    """Write the update messages that are due; returns how many deliveries were written.

    A rule with `updates: digest` sends an alert's waiting later stories once its last
    message (the alert or the previous update) is `updates_every` old.
    """
    at = now or datetime.now(UTC)
    written = 0
    for rule in rules:
        if rule.updates != "digest":
            continue
        targets = channel_targets(rule, config)
        for pending in store.pending_updates(rule.name):
            last = pending.last_message_at
            if last is not None and (at - last).total_seconds() < rule.updates_every:
                continue
            written += store.add_updates(pending, targets, at)
    return written
