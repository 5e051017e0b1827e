"""Times a person types for --since and --until: dates, date-times, or a span back from now."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

_SPAN = re.compile(r"^([1-9][0-9]*)([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class TimeError(ValueError):
    """A time that cannot be read, with what was given and the forms that can."""


def parse_when(value: str, now: datetime, end_of_day: bool = False) -> datetime:
    """A UTC time from `2026-12-01`, `2026-12-01T08:00[+03:00]` (no zone: UTC) or `24h` ago.

    A bare date is the start of that day, or its last second when end_of_day (an --until
    of a day includes the day). Spans are m, h, d or w back from now.
    """
    text = value.strip()
    span = _SPAN.match(text)
    if span:
        return now.astimezone(UTC) - timedelta(seconds=int(span[1]) * _UNIT_SECONDS[span[2]])
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise TimeError(
            f"{value!r} is not a time: give a date (2026-12-01), a date and time"
            " (2026-12-01T08:00, with +03:00 for a zone other than UTC) or a span back"
            " from now (30m, 24h, 7d, 2w)"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
