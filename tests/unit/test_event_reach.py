"""How far from an event a story may be and still join it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enrich.events import EventParams, event_gap, required_score
from newsmon.records import EventState

START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_required_score_rises_past_the_window_and_stops_at_its_tail() -> None:
    params = EventParams(min_score=0.1, window_hours=48, tail_hours=48)
    assert required_score(timedelta(hours=-1), params) == 0.1
    assert required_score(timedelta(hours=48), params) == 0.1
    assert required_score(timedelta(hours=72), params) == pytest.approx(0.15)
    assert required_score(timedelta(hours=96), params) == pytest.approx(0.2)
    assert required_score(timedelta(hours=96, seconds=1), params) is None
    closed = EventParams(min_score=0.1, window_hours=48, tail_hours=0)
    assert required_score(timedelta(hours=48), closed) == 0.1
    assert required_score(timedelta(hours=48, seconds=1), closed) is None


def test_the_gap_is_measured_from_the_nearer_end_of_the_event() -> None:
    event = EventState(
        id="e",
        title="t",
        first_seen=START,
        last_seen=START + timedelta(hours=10),
        stories=2,
        articles=2,
        profile=(),
        indexed_seen=START,
    )
    assert event_gap(event, START + timedelta(hours=5)) == timedelta(0)
    assert event_gap(event, START + timedelta(hours=13)) == timedelta(hours=3)
    assert event_gap(event, START - timedelta(hours=2)) == timedelta(hours=2)
