"""Entity tagging benchmark: documents/s of the gazetteer path on seed-sized documents.

Usage: python bench/entities_bench.py [--docs 2000]

Two figures. Cold: token caches empty (gazetteer loaded), over every distinct text at hand:
the five cleaned seeds and the dedup dev set's rewritten stories (other vocabulary,
diacritics and tatweel noise). Warm: --docs seed-sized documents (the cleaned seeds with
their paragraphs shuffled), as a long run sees them. Gazetteer load time is printed on
its own: it happens once per process.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from enrich.boilerplate import clean_text, load_rules
from enrich.entities import EntityTagger, _normalise, proclitic_splits
from enrich.gazetteer import load_gazetteer

ROOT = Path(__file__).resolve().parent.parent


def seed_texts() -> list[str]:
    """The five seeds, cleaned as the pipeline cleans them."""
    rules = load_rules()
    return [clean_text(p.read_text("utf-8"), rules)[1] for p in sorted((ROOT / "seeds").glob("*"))]


def devset_texts() -> list[str]:
    """The dedup dev set's stories, cleaned."""
    rules = load_rules()
    devset = ROOT / "tests" / "fixtures" / "dedup" / "devset.ndjson"
    return [
        clean_text(json.loads(line)["text"], rules)[1]
        for line in devset.read_text("utf-8").splitlines()
    ]


def rate(tagger: EntityTagger, texts: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    mentions = sum(len(m.mentions) for t in texts for m in tagger.tag(t, "ar"))
    return len(texts) / (time.perf_counter() - start), mentions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    gazetteer = load_gazetteer()
    print(
        f"gazetteer: {len(gazetteer.entities)} entities, {gazetteer.alias_count} aliases, "
        f"loaded in {time.perf_counter() - start:.3f} s"
    )
    tagger = EntityTagger(gazetteer)
    seeds = seed_texts()
    distinct = seeds + devset_texts()
    _normalise.cache_clear()
    proclitic_splits.cache_clear()
    cold, _ = rate(tagger, distinct)
    mean = sum(map(len, distinct)) / len(distinct)
    print(f"cold: {cold:7.0f} docs/s  {len(distinct)} distinct texts, mean {mean:.0f} chars")
    rng = random.Random(7)
    docs = []
    for _ in range(args.docs):
        paragraphs = rng.choice(seeds).split("\n")
        rng.shuffle(paragraphs)
        docs.append("\n".join(paragraphs))
    warm, mentions = rate(tagger, docs)
    mean = sum(map(len, docs)) / len(docs)
    print(
        f"warm: {warm:7.0f} docs/s  {args.docs} seed-sized docs, mean {mean:.0f} chars, "
        f"{mentions} mentions (one core)"
    )


if __name__ == "__main__":
    main()
