"""Measure entity tagging against the gold-labelled dev set: precision and recall."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from enrich.boilerplate import clean_text, load_rules
from enrich.dedup_quality import PairScores
from enrich.entities import EntityTagger

PUTIN, XI = "Q7747", "Q15031"


@dataclass(frozen=True, slots=True)
class GoldDocument:
    """A dev-set text with the entity ids it names; `only` limits which ids are judged."""

    name: str
    text: str
    lang: str
    gold: frozenset[str]
    only: frozenset[str] | None = None


@dataclass(slots=True)
class Counts:
    """Document-level confusion counts, with precision and recall."""

    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of tagged (document, entity) pairs that are gold."""
        return PairScores(self.true_pos, self.false_pos, self.false_neg).precision

    @property
    def recall(self) -> float:
        """Share of gold (document, entity) pairs that were tagged."""
        return PairScores(self.true_pos, self.false_pos, self.false_neg).recall


def load_devset(path: Path, seeds: Path) -> list[GoldDocument]:
    """The dev set's documents, plus its seed files cleaned as the pipeline cleans them."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    docs = [
        GoldDocument(d["why"], d["text"], d.get("lang", "ar"), frozenset(d["gold"] or []))
        for d in data["documents"]
    ]
    rules = load_rules()
    for name, gold in (data.get("seeds") or {}).items():
        _, text = clean_text((seeds / name).read_text(encoding="utf-8"), rules)
        ids = frozenset(gold)
        docs.append(GoldDocument(name, text, "ar", ids, only=frozenset({PUTIN, XI})))
    return docs


def evaluate(
    tagger: EntityTagger, docs: Iterable[GoldDocument]
) -> tuple[dict[str, Counts], dict[str, Counts]]:
    """Per-type counts (documents without `only`) and per-entity counts for Putin and Xi."""
    types = {t: Counts() for t in ("person", "place", "org")}
    leaders = {PUTIN: Counts(), XI: Counts()}
    entity_type = {e.id: e.type for e in tagger.gazetteer.entities.values()}
    for doc in docs:
        found = {tag.id for tag in tagger.tag(doc.text, doc.lang)}
        judged = doc.only or (found | doc.gold)
        for entity_id in judged:
            hit, gold = entity_id in found, entity_id in doc.gold
            buckets = [leaders[entity_id]] if entity_id in leaders else []
            if doc.only is None:
                buckets.append(types[entity_type.get(entity_id, "org")])
            for counts in buckets:
                if hit and gold:
                    counts.true_pos += 1
                elif hit:
                    counts.false_pos += 1
                    counts.errors.append(f"extra {entity_id}: {doc.name}")
                elif gold:
                    counts.false_neg += 1
                    counts.errors.append(f"missed {entity_id}: {doc.name}")
    return types, leaders
