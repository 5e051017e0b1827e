"""The lifecycle policy file, retention and which indices have expired (no cluster needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.es_lifecycle import DEFAULT_LIFECYCLE, LifecyclePolicy, parse_duration
from connectors.es_rollover import expired


def test_durations_in_elasticsearch_units() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("0ms") == timedelta(0)
    with pytest.raises(ValueError, match="'a month' is not a duration"):
        parse_duration("a month")


def test_the_shipped_policy_rolls_over_by_size_and_age_and_keeps_for_ever() -> None:
    policy = LifecyclePolicy.load(None, None)
    assert policy.source == DEFAULT_LIFECYCLE
    assert set(policy.rollover_conditions()) == {"max_primary_shard_size", "max_age"}
    assert policy.delete_after() is None
    assert "delete" not in policy.body["phases"]


def test_retention_adds_the_delete_phase() -> None:
    policy = LifecyclePolicy.load(None, "90d")
    assert policy.body["phases"]["delete"] == {"min_age": "90d", "actions": {"delete": {}}}
    assert policy.delete_after() == timedelta(days=90)
    # The file itself is unchanged: the setting applies per load.
    assert "delete" not in json.loads(DEFAULT_LIFECYCLE.read_text("utf-8"))["phases"]


def test_a_bad_policy_file_is_named_with_the_reason(fixtures: Path, tmp_path: Path) -> None:
    bad = fixtures / "elasticsearch" / "bad-retention-lifecycle.json"
    with pytest.raises(ValueError, match=r"bad-retention-lifecycle.json: delete phase: 'a month'"):
        LifecyclePolicy.load(bad, None)
    LifecyclePolicy.load(bad, "7d")  # the setting replaces the file's delete phase
    missing = tmp_path / "none.json"
    with pytest.raises(ValueError, match=r"none.json: cannot read lifecycle policy"):
        LifecyclePolicy.load(missing, None)


def test_an_index_expires_counting_from_its_rollover_never_the_write_index() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    created = {
        "s-000001": now - timedelta(days=100),
        "s-000002": now - timedelta(days=40),  # 000001 rolled over 40 days ago
        "s-000003": now - timedelta(days=5),  # 000002 rolled over 5 days ago
    }
    assert expired(created, "s-000003", now, timedelta(days=30)) == ["s-000001"]
    assert expired(created, "s-000003", now, timedelta(days=3)) == ["s-000001", "s-000002"]
    # An index created long ago but written to until now has not begun its retention.
    assert expired({"s-000001": now - timedelta(days=400)}, "s-000001", now, timedelta(0)) == []
