"""When a failed delivery is tried again."""

from __future__ import annotations

import pytest

from newsmon.alerts.delivery import RetryPolicy


@pytest.mark.parametrize(
    ("attempts", "asked", "expected"),
    [(1, None, 5.0), (2, None, 30.0), (9, None, 60.0), (1, 120.0, 120.0)],
)
def test_backoff_steps_then_repeats_the_last(
    attempts: int, asked: float | None, expected: float
) -> None:
    policy = RetryPolicy(backoff=(5.0, 30.0, 60.0), max_attempts=10, lease_seconds=60)
    assert policy.delay(attempts, asked) == expected
