"""Measure event linking against a hand-grouped dev set of real reports: pairwise scores.

The dev set (tests/fixtures/events/devset.yml) names real news texts of
shared/testdata/real-arabic (not copied into the project) and groups by hand those that
report one event. Every text is run through the whole prepare path (clean, build, tag,
fingerprint) and stored in publication order in an empty store; two texts are in one
predicted event when the events stage put them there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from enrich.dedup import store_stories
from enrich.dedup_quality import PairScores, pairwise_scores
from enrich.events import EventParams
from newsmon.prepare import PrepareConfig, prepare_items
from newsmon.records import ContentType, RawItem, StageOutput
from newsmon.store.base import Store
from newsmon.yaml_model import load_yaml_model

# gold.jsonl's `source` names the dataset file a text came from, with its date:
# SaudiNewsNet «dataset/2015-07-21.zip», ANT «JA-internationalNews-653-20170403.txt»
# (one file of 2015 writes the day first: «-17112015.txt»).
_ISO_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})\.zip")
_FILE_DAY = re.compile(r"-(\d{8})\.txt$")


class DevEvent(BaseModel):
    """One hand-made group: texts that report the same event, and why they do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    why: str
    members: tuple[str, ...] = Field(min_length=2)


class NearMiss(BaseModel):
    """Texts that look alike (same people, same day) but report different events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: tuple[str, ...] = Field(min_length=2)
    why: str


class EventDevset(BaseModel):
    """The dev-set file: the grouped events and the near misses worth naming."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: tuple[DevEvent, ...]
    near_misses: tuple[NearMiss, ...] = ()


@dataclass(frozen=True, slots=True)
class DevText:
    """One real text of the dev set with the day it was published."""

    name: str
    data: bytes
    published_at: datetime


def load_event_devset(path: Path) -> EventDevset:
    """Read and check the dev-set file."""
    return load_yaml_model(path, EventDevset, "events", "event")


def publication_day(source: str) -> datetime:
    """The day a real-arabic text was published, from its gold.jsonl source (noon UTC)."""
    if found := _ISO_DAY.search(source):
        day = datetime.strptime(found[1], "%Y-%m-%d")
    elif found := _FILE_DAY.search(source):
        digits = found[1]
        pattern = "%Y%m%d" if digits.startswith("20") else "%d%m%Y"
        day = datetime.strptime(digits, pattern)
    else:
        raise ValueError(f"no publication date in source {source!r}")
    return day.replace(hour=12, tzinfo=UTC)


def real_texts(real_arabic: Path) -> list[DevText]:
    """Every text of shared/testdata/real-arabic with its publication day, oldest first."""
    texts = []
    for line in (real_arabic / "gold.jsonl").read_text("utf-8").splitlines():
        record = json.loads(line)
        data = (real_arabic / "texts" / f"{record['name']}.txt").read_bytes()
        texts.append(DevText(record["name"], data, publication_day(record["source"])))
    return sorted(texts, key=lambda t: (t.published_at, t.name))


def place_texts(
    texts: Sequence[DevText], prepare: PrepareConfig, events: EventParams, store: Store
) -> dict[str, str]:
    """Store the texts oldest first (one batch) in an empty store; name -> event id."""
    items = [
        RawItem(
            source=f"devset/{t.name}.txt",
            data=t.data,
            content_type=ContentType.TEXT,
            published_at=t.published_at,
        )
        for t in texts
    ]
    batch = prepare_items(StageOutput(items=items), prepare)
    if batch.rejections:
        raise ValueError(f"dev-set texts rejected: {batch.rejections}")
    run_id = store.begin_run(["event-devset"])
    store_stories(store, batch.fingerprints, run_id, prepare.dedup, events)
    by_source = {fp.article.source: fp.article.id for fp in batch.fingerprints}
    stored = {a.id: a.event_id for a in store.articles_by_id(list(by_source.values()))}
    placed = {}
    for source, article_id in by_source.items():
        event_id = stored[article_id]
        if event_id is None:
            raise ValueError(f"{source}: stored without an event")
        placed[Path(source).stem] = event_id
    return placed


def gold_events(devset: EventDevset, names: Sequence[str]) -> dict[str, str]:
    """Each text's gold event: its group's name, or a group of its own."""
    gold = {name: name for name in names}
    for event in devset.events:
        for member in event.members:
            if member not in gold:
                raise ValueError(f"event {event.name}: {member} is not a dev-set text")
            gold[member] = event.name
    return gold


def score_devset(
    devset: EventDevset,
    texts: Sequence[DevText],
    prepare: PrepareConfig,
    events: EventParams,
    store: Store,
) -> tuple[PairScores, dict[str, str], dict[str, str]]:
    """Pairwise scores of event linking on the dev set; with the gold and predicted events."""
    predicted = place_texts(texts, prepare, events, store)
    gold = gold_events(devset, list(predicted))
    return pairwise_scores(gold, predicted), gold, predicted
