"""Events on every store backend: stories join the event they report, copies follow them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enrich.dedup import DedupParams, store_stories
from enrich.entities import EntityConfig
from enrich.events import (
    EventParams,
    merged_profile,
    rebuild_events,
    similarity,
)
from newsmon.compose import StoreConfig
from newsmon.prepare import PrepareConfig, prepare_items
from newsmon.records import ContentType, Fingerprint, RawItem, StageOutput
from newsmon.store.base import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CALL = FIXTURES / "events" / "putin-xi-call"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
PREPARE = PrepareConfig(
    max_file_bytes=10_000_000,
    boilerplate_rules=None,
    entities=EntityConfig(None, None, 32),
    dedup=DedupParams(),
)


def _prepared(paths: list[Path], published: list[datetime] | None = None) -> list[Fingerprint]:
    times = published or [NOW] * len(paths)
    items = [
        RawItem(str(p), p.read_bytes(), ContentType.TEXT, published_at=at)
        for p, at in zip(paths, times, strict=True)
    ]
    batch = prepare_items(StageOutput(items=items), PREPARE)
    assert not batch.rejections
    return batch.fingerprints


def _store(
    store: Store, fingerprints: list[Fingerprint], params: EventParams | None = None
) -> None:
    run_id = store.begin_run(["events"])
    store_stories(store, fingerprints, run_id, DedupParams(), params or EventParams())


def _events(store: Store, fingerprints: list[Fingerprint]) -> list[str | None]:
    ids = [fp.article.id for fp in fingerprints]
    found = {a.id: a.event_id for a in store.articles_by_id(ids)}
    return [found[i] for i in ids]


def test_ten_write_ups_of_one_call_are_one_event_with_reasons(store: Store) -> None:
    fingerprints = _prepared(sorted(CALL.glob("*.txt")))
    _store(store, fingerprints)
    events = _events(store, fingerprints)
    assert len(set(events)) == 1 and events[0] == fingerprints[0].article.id
    [summary] = store.events(10, NOW)
    assert (summary.event.stories, summary.event.articles, summary.sources) == (10, 10, 10)
    members = store.event_members(events[0] or "")
    assert [m.article.id for m in members] == [fp.article.id for fp in fingerprints]
    assert members[0].score is None and not members[0].shared  # it opened the event
    for member in members[1:]:
        assert member.score is not None and member.score >= EventParams().min_score
        assert member.shared  # the evidence it shares, heaviest first


def test_the_five_seeds_are_five_events(store: Store) -> None:
    fingerprints = _prepared(sorted(SEEDS.glob("*.txt")))
    _store(store, fingerprints)
    assert len(set(_events(store, fingerprints))) == 5


def test_reports_further_apart_than_the_window_and_its_tail_are_different_events(
    store: Store,
) -> None:
    paths = [CALL / "01.txt", CALL / "03.txt"]
    params = EventParams()
    reach = timedelta(hours=params.window_hours + params.tail_hours, minutes=1)
    fingerprints = _prepared(paths, [NOW - reach, NOW])
    _store(store, fingerprints, params)
    first, second = _events(store, fingerprints)
    assert first != second


@pytest.mark.parametrize(("hours_into_tail", "joins"), [(4.8, True), (24, False)])
def test_past_the_window_a_story_joins_only_on_stronger_evidence(
    store: Store, hours_into_tail: float, joins: bool
) -> None:
    start = NOW - timedelta(days=10)
    first, second = _prepared(
        [CALL / "01.txt", CALL / "03.txt"], [start, start + timedelta(hours=48 + hours_into_tail)]
    )
    profile = merged_profile((), first.event_terms, EventParams().profile_terms)
    score = similarity(second.event_terms, profile)
    # A threshold the pair clears by a fifth: enough 10% into the tail, not halfway.
    params = EventParams(min_score=score / 1.2, window_hours=48, tail_hours=48)
    _store(store, [first, second], params)
    assert (len(set(_events(store, [first, second]))) == 1) is joins


def test_the_same_reports_a_day_apart_are_one_event(store: Store) -> None:
    closer = _prepared([CALL / "01.txt", CALL / "03.txt"], [NOW - timedelta(days=1), NOW])
    _store(store, closer)
    assert len(set(_events(store, closer))) == 1


def test_a_copy_follows_its_story_and_adds_no_evidence(store: Store, tmp_path: Path) -> None:
    original = CALL / "02.txt"
    copy = tmp_path / "republished.txt"
    copy.write_text("وكالات\n\n" + original.read_text(encoding="utf-8"), encoding="utf-8")
    fingerprints = _prepared([original, copy])
    _store(store, fingerprints)
    story, republished = store.articles_by_id([fp.article.id for fp in fingerprints])
    assert republished.duplicate_of == story.id
    assert republished.event_id == story.event_id == story.id
    state = store.event_states([story.id])[story.id]
    assert (state.stories, state.articles) == (1, 2)
    # One story's evidence, unchanged by the copy.
    assert [t for t, _ in state.profile] == [t for t, _ in fingerprints[0].event_terms]


def test_two_writers_at_once_make_one_event(store_config: StoreConfig) -> None:
    fingerprints = _prepared(sorted(CALL.glob("*.txt")))
    halves = [fingerprints[0::2], fingerprints[1::2]]
    errors: list[BaseException] = []

    def write(half: list[Fingerprint]) -> None:
        try:
            writer = store_config.open()
            try:
                for fp in half:
                    _store(writer, [fp])
            finally:
                writer.close()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(half,)) for half in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    reader = store_config.open()
    try:
        assert len(set(_events(reader, fingerprints))) == 1
        [summary] = reader.events(10, NOW)
        assert summary.event.stories == 10
    finally:
        reader.close()


def test_rebuild_places_every_article_as_storing_did(store: Store) -> None:
    fingerprints = _prepared([*sorted(CALL.glob("*.txt")), *sorted(SEEDS.glob("*.txt"))])
    _store(store, fingerprints)
    before = _events(store, fingerprints)
    assert rebuild_events(store, EventParams(), batch_size=4) == len(fingerprints)
    assert _events(store, fingerprints) == before
    # The call's ten write-ups and seed 004, the call's own report; four other seeds.
    assert len(store.events(100, NOW)) == len(set(before)) == 5
    call = {before[i] for i in range(10)}
    assert len(call) == 1 and before[14] in call


def test_old_events_are_not_candidates(store: Store) -> None:
    fingerprints = _prepared([CALL / "01.txt"], [NOW - timedelta(hours=5)])
    _store(store, fingerprints)
    keys = [t for t, _ in fingerprints[0].event_terms]
    assert store.event_candidates(keys, NOW - timedelta(hours=6), 5) == [fingerprints[0].article.id]
    assert store.event_candidates(keys, NOW - timedelta(hours=1), 5) == []


def test_an_event_whose_index_rows_lag_is_still_found_within_the_window(
    store: Store, tmp_path: Path
) -> None:
    # A copy half an hour later moves the event's last story time but not its index rows
    # (rewritten at most hourly); a report 47 h 45 min after that copy is within the window.
    start = NOW - timedelta(days=3)
    copy = tmp_path / "copy-01.txt"
    copy.write_text("وكالات\n\n" + (CALL / "01.txt").read_text(encoding="utf-8"), "utf-8")
    first, later_copy = _prepared([CALL / "01.txt", copy], [start, start + timedelta(minutes=30)])
    _store(store, [first, later_copy])
    event = store.event_states([first.article.id])[first.article.id]
    assert event.indexed_seen == start < event.last_seen
    [report] = _prepared([CALL / "03.txt"], [event.last_seen + timedelta(hours=47, minutes=45)])
    _store(store, [report])
    assert _events(store, [report]) == [first.article.id]
