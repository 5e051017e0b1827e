"""Benchmark input shared by several benches: the seed stories, tagged, under many ids."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from enrich.article import build_article
from enrich.boilerplate import clean_text, load_rules
from enrich.entities import tag_articles, tagger_for
from newsmon.records import Article, CleanItem

ROOT = Path(__file__).resolve().parent.parent


def seed_copies(n: int) -> list[Article]:
    """n articles: the five seeds cleaned and tagged, repeated under ids bench-00000000, ..."""
    rules = load_rules()
    now = datetime.now(UTC)
    seeds = []
    for path in sorted((ROOT / "seeds").glob("*")):
        title, text = clean_text(path.read_text("utf-8"), rules)
        seeds.append(build_article(CleanItem(path.name, title, text, "utf-8"), now))
    tagged = tag_articles(seeds, tagger_for(None)).items
    return [replace(tagged[i % len(tagged)], id=f"bench-{i:08d}") for i in range(n)]
