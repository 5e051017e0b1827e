"""Event linking on real reports: pairwise precision and recall on the hand-grouped dev set.

Usage: python bench/events_eval.py [--real-arabic ../shared/testdata/real-arabic]
       [--window 48h] [--tail 48h] [--min-score 0.10]

Prints the dev set's pairwise precision and recall (tests/fixtures/events/devset.yml over
shared/testdata/real-arabic), the pairs it missed or joined wrongly with their similarity,
what became of the named near misses, and two checks in fresh stores: the five seeds stay
five events, and the dedup dev set's 15 stories (11 edited copies each) keep every copy in
its story's event.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from events_devset import load_event_devset, real_texts, score_devset

from enrich.dedup_quality import load_devset
from newsmon.compose import StoreConfig, pipeline_config
from newsmon.prepare import prepare_items
from newsmon.records import ContentType, RawItem, StageOutput
from newsmon.settings import Settings
from newsmon.yaml_model import parse_duration

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "tests" / "fixtures" / "events" / "devset.yml"
DEDUP_DEVSET = ROOT / "tests" / "fixtures" / "dedup" / "devset.ndjson"


def _events_of(store_path: Path, items: list[RawItem], settings: Settings) -> dict[str, str]:
    """Store raw items in one batch in a fresh store; source -> event id."""
    from enrich.dedup import store_stories

    config = pipeline_config(settings)
    store = StoreConfig(str(store_path)).open()
    try:
        batch = prepare_items(StageOutput(items=items), config.prepare)
        run_id = store.begin_run(["events-eval"])
        store_stories(store, batch.fingerprints, run_id, config.prepare.dedup, config.events)
        ids = {fp.article.source: fp.article.id for fp in batch.fingerprints}
        stored = {a.id: a.event_id or "" for a in store.articles_by_id(list(ids.values()))}
        return {source: stored[article_id] for source, article_id in ids.items()}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--real-arabic", type=Path, default=ROOT.parent / "shared/testdata/real-arabic"
    )
    parser.add_argument("--window", default="48h")
    parser.add_argument("--tail", default="48h")
    parser.add_argument("--min-score", type=float, default=0.10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsmon-events-eval-") as tmp:
        settings = Settings(
            db=str(Path(tmp) / "x.db"),
            event_window=parse_duration(args.window),
            event_tail=parse_duration(args.tail),
            event_min_score=args.min_score,
        )
        config = pipeline_config(settings)
        devset = load_event_devset(DEVSET)
        texts = real_texts(args.real_arabic)
        store = StoreConfig(str(Path(tmp) / "devset.db")).open()
        try:
            scores, gold, predicted = score_devset(
                devset, texts, config.prepare, config.events, store
            )
        finally:
            store.close()
        print(
            f"dev set: {len(texts)} real texts, {sum(len(e.members) for e in devset.events)} in"
            f" {len(devset.events)} hand-made events (window {args.window}, tail {args.tail},"
            f" min score {args.min_score})"
        )
        print(
            f"pairwise precision {scores.precision:.3f} recall {scores.recall:.3f}"
            f" (tp {scores.true_pos}, fp {scores.false_pos}, fn {scores.false_neg})"
        )
        for a, b in combinations(sorted(gold), 2):
            if gold[a] == gold[b] and predicted[a] != predicted[b]:
                print(f"  missed: {a} / {b}")
            elif gold[a] != gold[b] and predicted[a] == predicted[b]:
                print(f"  joined wrongly: {a} / {b}")
        for miss in devset.near_misses:
            kept = len({predicted[m] for m in miss.members}) == len(miss.members)
            print(f"  near miss {' / '.join(miss.members)}: {'kept apart' if kept else 'JOINED'}")

        seeds = sorted((ROOT / "seeds").glob("*.txt"))
        now = datetime.now(UTC)
        seed_items = [
            RawItem(str(p), p.read_bytes(), ContentType.TEXT, published_at=now) for p in seeds
        ]
        seed_events = _events_of(Path(tmp) / "seeds.db", seed_items, settings)
        print(f"seeds: {len(seeds)} texts in {len(set(seed_events.values()))} events")

        records = load_devset(DEDUP_DEVSET)
        copies = [
            RawItem(
                r["doc"],
                (r["title"] + "\n\n" + r["text"]).encode("utf-8"),
                ContentType.TEXT,
                published_at=now,
            )
            for r in records
        ]
        placed = _events_of(Path(tmp) / "copies.db", copies, settings)
        by_story: dict[str, set[str]] = defaultdict(set)
        for r in records:
            by_story[r["story"]].add(placed[r["doc"]])
        split = {story: len(events) for story, events in by_story.items() if len(events) > 1}
        stories_in: dict[str, set[str]] = defaultdict(set)
        for r in records:
            stories_in[placed[r["doc"]]].add(r["story"])
        merged = [sorted(s) for s in stories_in.values() if len(s) > 1]
        print(
            f"dedup dev set: {len(records)} texts of {len(by_story)} stories in"
            f" {len(stories_in)} events; stories split over several events:"
            f" {split or 'none'}; stories sharing an event: {merged or 'none'}"
        )


if __name__ == "__main__":
    main()
