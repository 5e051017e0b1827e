"""Cost of placing a story in its event as the store grows: it should stay flat.

Usage: python bench/events_bench.py [--stories 20000] [--per-hour 50] [--batch 500]

Stories are the real texts of shared/testdata/real-arabic and the seeds, each copy with half
its words swapped for others of the same texts (seeded per copy), so every story is distinct
and they share the vocabulary and entities of real Arabic news. They are dated `--per-hour`
apart in publication order, so the 48-h window always holds the same number of recent
events. Printed per batch, at each store size: milliseconds per story for the event linking
(candidates, profiles, similarity, writing the event) and for the whole store step.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from enrich import dedup
from enrich.events import EventIndex, EventParams, link_event
from newsmon.compose import StoreConfig, pipeline_config
from newsmon.prepare import prepare_items
from newsmon.records import ContentType, EventLink, Fingerprint, RawItem, StageOutput, StoryLink
from newsmon.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def sources(real_arabic: Path) -> list[str]:
    """The real texts and the seeds, as the variants are made from."""
    paths = [
        *sorted((real_arabic / "texts").glob("*.txt")),
        *sorted((ROOT / "seeds").glob("*.txt")),
    ]
    return [p.read_text("utf-8") for p in paths]


def variant(texts: list[str], vocabulary: list[str], n: int) -> str:
    """Story n: one of the texts with half its words swapped (seeded by n)."""
    rng = random.Random(n)
    text = texts[n % len(texts)]
    return "\n".join(
        " ".join(w if rng.random() > 0.5 else rng.choice(vocabulary) for w in line.split(" "))
        for line in text.splitlines()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--per-hour", type=float, default=50.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--real-arabic", type=Path, default=ROOT.parent / "shared" / "testdata" / "real-arabic"
    )
    args = parser.parse_args()
    texts = sources(args.real_arabic)
    vocabulary = sorted({w for t in texts for w in t.split()})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1 / args.per_hour)
    linking = [0.0]

    def timed(
        fp: Fingerprint, story: StoryLink, index: EventIndex, params: EventParams
    ) -> EventLink:
        began = time.perf_counter()
        link = link_event(fp, story, index, params)
        linking[0] += time.perf_counter() - began
        return link

    # The store step calls the events stage through enrich.dedup: time it there.
    setattr(dedup, "link_event", timed)  # noqa: B010 - replaced for this process only
    reported = {args.batch, 1000, 5000, 10_000, 20_000, 50_000, 100_000, args.stories}
    with tempfile.TemporaryDirectory(prefix="newsmon-events-bench-") as tmp:
        config = pipeline_config(Settings(db=str(Path(tmp) / "unused.db")))
        store = StoreConfig(str(Path(tmp) / "events.db")).open()
        run_id = store.begin_run(["events-bench"])
        print(
            f"{args.stories} stories, {args.per_hour:g} an hour"
            f" ({48 * args.per_hour:.0f} in a 48-h window), batches of {args.batch}"
        )
        print("stored   events   linking ms/story   store step ms/story")
        for first in range(0, args.stories, args.batch):
            count = min(args.batch, args.stories - first)
            items = [
                RawItem(
                    f"bench/{n:06d}.txt",
                    variant(texts, vocabulary, n).encode("utf-8"),
                    ContentType.TEXT,
                    published_at=start + n * step,
                )
                for n in range(first, first + count)
            ]
            batch = prepare_items(StageOutput(items=items), config.prepare)
            linking[0] = 0.0
            began = time.perf_counter()
            dedup.store_stories(
                store, batch.fingerprints, run_id, config.prepare.dedup, config.events
            )
            total = time.perf_counter() - began
            stored = first + count
            if stored in reported:
                events = len(store.events(10**9, start))
                print(
                    f"{stored:>6}   {events:>6}   {1000 * linking[0] / count:>16.2f}"
                    f"   {1000 * total / count:>19.2f}"
                )
        store.close()


if __name__ == "__main__":
    main()
