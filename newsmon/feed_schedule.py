"""When to poll a feed: due feeds, an adaptive interval, backoff after failures, silence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from connectors.feed_list import FeedSpec
from newsmon.records import FeedPoll, FeedState

# Busy feeds are polled down to a quarter of their base interval, quiet ones up to 4 times it.
_FASTEST, _SLOWEST = 0.25, 4.0
_SPEED_UP, _SLOW_DOWN = 0.5, 1.5
_MAX_BACKOFF = 6 * 3600.0


def due_feeds(
    specs: Sequence[FeedSpec], states: dict[str, FeedState], now: datetime, force: bool = False
) -> list[FeedSpec]:
    """Feeds never polled, or whose next poll time has come (all of them with force)."""
    due = []
    for spec in specs:
        state = states.get(spec.name)
        if (
            force
            or state is None
            or state.url != str(spec.url)  # the list moved it: poll the new address
            or state.next_poll_at is None
            or state.next_poll_at <= now
        ):
            due.append(spec)
    return due


def next_poll(
    spec: FeedSpec, state: FeedState | None, poll: FeedPoll, new_entries: int, now: datetime
) -> tuple[float, datetime]:
    """(interval now in force, next poll time) after this poll."""
    current = state.interval if state and state.interval else spec.interval
    if poll.status in ("failed", "refused"):
        failures = (state.failures if state else 0) + 1
        wait = min(spec.interval * 2 ** (failures - 1), _MAX_BACKOFF)
        if poll.retry_after:
            wait = max(wait, poll.retry_after)
        return current, now + timedelta(seconds=wait)
    if new_entries:
        current = max(spec.interval * _FASTEST, current * _SPEED_UP)
    else:
        current = min(spec.interval * _SLOWEST, current * _SLOW_DOWN)
    return current, now + timedelta(seconds=current)


def quiet_since(state: FeedState | None) -> datetime | None:
    """Since when the feed has brought nothing new (its first poll, if it never did)."""
    return state.quiet_since if state is not None else None


def is_silent(spec: FeedSpec, state: FeedState | None, now: datetime) -> bool:
    """The feed brought nothing new for longer than its `silent_after` (or never did)."""
    since = quiet_since(state)
    return since is not None and now - since > timedelta(seconds=spec.silent_after)


def newly_silent(
    specs: Sequence[FeedSpec], states: Mapping[str, FeedState], now: datetime
) -> list[tuple[FeedSpec, datetime]]:
    """Feeds silent past their `silent_after` whose silence has not been announced yet, with
    the time they went quiet: each silence once, until the feed brings something new."""
    found = []
    for spec in specs:
        since = quiet_since(states.get(spec.name))
        if since is None or now - since <= timedelta(seconds=spec.silent_after):
            continue
        noted = states[spec.name].silent_noted_at
        if noted is None or noted < since:
            found.append((spec, since))
    return found
