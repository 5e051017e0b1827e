"""What --since and --until accept, and what they refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsmon.time_window import TimeError, parse_when

NOW = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "end_of_day", "expected"),
    [
        ("2026-12-01", False, datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01", True, datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-12-01T08:00", True, datetime(2026, 12, 1, 8, tzinfo=UTC)),
        ("2026-12-01 08:00:30", False, datetime(2026, 12, 1, 8, 0, 30, tzinfo=UTC)),
        ("2026-12-01T08:00+03:00", False, datetime(2026, 12, 1, 5, tzinfo=UTC)),
        ("2026-12-01T08:00Z", False, datetime(2026, 12, 1, 8, tzinfo=UTC)),
        ("30m", False, datetime(2026, 12, 5, 14, 0, tzinfo=UTC)),
        ("24h", True, datetime(2026, 12, 4, 14, 30, tzinfo=UTC)),
        ("7d", False, datetime(2026, 11, 28, 14, 30, tzinfo=UTC)),
        ("2w", False, datetime(2026, 11, 21, 14, 30, tzinfo=UTC)),
    ],
)
def test_dates_times_and_spans_back_from_now(
    given: str, end_of_day: bool, expected: datetime
) -> None:
    assert parse_when(given, NOW, end_of_day) == expected


@pytest.mark.parametrize("given", ["yesterday", "2026-13-01", "0d", "24 h", "-7d", ""])
def test_anything_else_is_refused_with_the_forms_that_work(given: str) -> None:
    with pytest.raises(TimeError, match="is not a time: give a date") as refused:
        parse_when(given, NOW)
    assert repr(given) in str(refused.value)
