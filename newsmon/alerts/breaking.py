"""Breaking events: an event many outlets report within a short time alerts once.

An outlet is the registered domain of a report's URL (arabic.rt.com and rt.com are one),
or, for a file, the folder it was read from (a backfill keeps one folder per outlet). A
report's time is its publication time, else when that source was first seen. Copies count:
a wire story picked up by three outlets is three outlets reporting the event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from newsmon.alerts.rules import AlertRule
from newsmon.outlet import outlet
from newsmon.records import EventSource, as_utc


def _reported(report: EventSource) -> datetime:
    return as_utc(report.published_at or report.first_seen)


def most_outlets_within(sources: Sequence[EventSource], within: float) -> int:
    """The most distinct outlets that reported the event within any `within` seconds."""
    reports = sorted((_reported(r), outlet(r.source)) for r in sources)
    span = timedelta(seconds=within)
    best, first, counts = 0, 0, Counter[str]()
    for at, name in reports:
        counts[name] += 1
        while reports[first][0] < at - span:
            gone = reports[first][1]
            counts[gone] -= 1
            if not counts[gone]:
                del counts[gone]
            first += 1
        best = max(best, len(counts))
    return best


def is_breaking(rule: AlertRule, sources: Sequence[EventSource]) -> bool:
    """Whether the event has reached the rule's breaking threshold."""
    if rule.breaking is None:
        return False
    return most_outlets_within(sources, rule.breaking.within) >= rule.breaking.sources
