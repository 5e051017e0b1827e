"""Measure dedup against a gold-labelled development set: pairwise precision and recall."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from enrich.article import build_article
from enrich.boilerplate import clean_text, load_rules
from enrich.dedup import DedupParams, fingerprinter_for, store_stories
from newsmon.records import CleanItem
from newsmon.store.base import Store


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pairwise confusion counts over all document pairs, with precision and recall."""

    true_pos: int
    false_pos: int
    false_neg: int

    @property
    def precision(self) -> float:
        """Linked pairs that are the same gold story."""
        linked = self.true_pos + self.false_pos
        return self.true_pos / linked if linked else 1.0

    @property
    def recall(self) -> float:
        """Same-story pairs that were linked."""
        same = self.true_pos + self.false_neg
        return self.true_pos / same if same else 1.0


def pairwise_scores(gold: dict[str, str], predicted: dict[str, str]) -> PairScores:
    """Compare two labellings of the same documents pair by pair."""
    tp = fp = fn = 0
    for a, b in combinations(sorted(gold), 2):
        same_gold = gold[a] == gold[b]
        same_pred = predicted[a] == predicted[b]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    return PairScores(tp, fp, fn)


def load_devset(path: Path) -> list[dict[str, str]]:
    """The records of a dev-set NDJSON file, in arrival order."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def cluster_devset(
    records: Iterable[dict[str, str]], params: DedupParams, store: Store, batch_size: int = 50
) -> dict[str, str]:
    """Run the records through clean → article → dedup → an empty store; doc → cluster id."""
    rules = load_rules()
    fingerprinter = fingerprinter_for(params)
    doc_to_article: dict[str, str] = {}
    run_id = store.begin_run(["devset"])
    pending = []
    for record in [*records, None]:
        if record is not None:
            title, text = clean_text(record["text"], rules, title=record["title"])
            item = CleanItem(record["doc"], title, text, "utf-8")
            article = build_article(item, datetime.now(UTC))
            doc_to_article[record["doc"]] = article.id
            pending.append(fingerprinter.fingerprint(article))
        if pending and (record is None or len(pending) >= batch_size):
            store_stories(store, pending, run_id, params)
            pending = []
    clusters = {a.id: a.cluster_id or a.id for a in store.iter_articles()}
    return {doc: clusters[article_id] for doc, article_id in doc_to_article.items()}


def evaluate(path: Path, params: DedupParams, store: Store) -> PairScores:
    """Pairwise scores of dedup with these parameters on a dev-set file, in an empty store."""
    records = load_devset(path)
    predicted = cluster_devset(records, params, store)
    return pairwise_scores({r["doc"]: r["story"] for r in records}, predicted)
