"""Print dedup's pairwise precision and recall on the dev set; --sweep compares settings.

Usage: python bench/dedup_eval.py [--devset tests/fixtures/dedup/devset.ndjson] [--sweep]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from enrich.arabic import normalize_text
from enrich.boilerplate import clean_text, load_rules
from enrich.dedup import DedupParams, containment, shingles
from enrich.dedup_quality import evaluate, load_devset
from newsmon.compose import StoreConfig

DEVSET = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dedup" / "devset.ndjson"


def line(params: DedupParams, path: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="newsmon-dedup-eval-") as tmp:
        store = StoreConfig(str(Path(tmp) / "eval.db")).open()
        try:
            s = evaluate(path, params, store)
        finally:
            store.close()
    return (
        f"{params.shingle:<5}{params.size:>3}{params.lsh_threshold:>6.2f}"
        f"{params.min_containment:>7.2f}{s.precision:>10.4f}{s.recall:>8.4f}"
        f"{s.true_pos:>6}{s.false_pos:>5}{s.false_neg:>5}"
    )


def margins(records: list[dict[str, str]], params: DedupParams) -> str:
    """Exact containment each document has with its best same-story and best other match."""
    rules = load_rules()
    grams = {}
    for r in records:
        _, text = clean_text(r["text"], rules, title=r["title"])
        grams[r["doc"]] = shingles(normalize_text(text), params.shingle, params.size)
    story = {r["doc"]: r["story"] for r in records}
    best_same: dict[str, float] = {}
    best_other: dict[str, float] = {}
    for a, b in itertools.combinations(sorted(grams), 2):
        score = containment(grams[a], grams[b])
        best = best_same if story[a] == story[b] else best_other
        for doc in (a, b):
            best[doc] = max(best.get(doc, 0.0), score)
    return (
        f"{params.shingle} {params.size}-grams: lowest best same-story containment "
        f"{min(best_same.values()):.3f}, highest other-story containment "
        f"{max(best_other.values()):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--sweep", action="store_true", help="try other shingles and thresholds")
    args = parser.parse_args()
    records = load_devset(args.devset)
    print(f"dev set: {len(records)} documents, {len({r['story'] for r in records})} stories")
    print(
        f"{'unit':<5}{'k':>3}{'lsh':>6}{'contain':>7}{'precision':>10}{'recall':>8}"
        f"{'tp':>6}{'fp':>5}{'fn':>5}"
    )
    print(line(DedupParams(), args.devset), " <- defaults")
    print(margins(records, DedupParams()))
    if args.sweep:
        print(margins(records, DedupParams(shingle="word", size=2)))
        print(margins(records, DedupParams(shingle="word", size=4)))
        print(margins(records, DedupParams(shingle="char", size=5)))
        print(margins(records, DedupParams(shingle="char", size=7)))
    if args.sweep:
        grid = itertools.chain(
            (DedupParams(shingle="word", size=k) for k in (1, 2, 4, 5)),
            (DedupParams(shingle="char", size=k) for k in (4, 5, 7, 9)),
            (DedupParams(lsh_threshold=t) for t in (0.2, 0.4, 0.5, 0.7)),
            (DedupParams(min_containment=c) for c in (0.3, 0.4, 0.5, 0.7, 0.8, 0.9)),
        )
        for params in grid:
            print(line(params, args.devset))


if __name__ == "__main__":
    main()
