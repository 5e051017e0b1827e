"""Print entity tagging precision and recall per type, and for Putin and Xi, on the dev set.

Usage: python bench/entities_eval.py [--devset tests/fixtures/entities/devset.yml] [-v]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from enrich.entities import tagger_for
from enrich.entities_quality import Counts, evaluate, load_devset

ROOT = Path(__file__).resolve().parent.parent
DEVSET = ROOT / "tests" / "fixtures" / "entities" / "devset.yml"


def row(name: str, c: Counts) -> str:
    return (
        f"{name:<18}{c.precision:>10.4f}{c.recall:>8.4f}"
        f"{c.true_pos:>6}{c.false_pos:>5}{c.false_neg:>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("-v", "--verbose", action="store_true", help="List every error.")
    args = parser.parse_args()
    docs = load_devset(args.devset, ROOT / "seeds")
    types, leaders = evaluate(tagger_for(None), docs)
    print(f"dev set: {len(docs)} documents ({args.devset.name} + seeds)")
    print(f"{'':<18}{'precision':>10}{'recall':>8}{'tp':>6}{'fp':>5}{'fn':>5}")
    for name, counts in types.items():
        print(row(name, counts))
    print(row("Putin (Q7747)", leaders["Q7747"]))
    print(row("Xi (Q15031)", leaders["Q15031"]))
    if args.verbose:
        for counts in [*types.values(), *leaders.values()]:
            for error in counts.errors:
                print("  " + error)


if __name__ == "__main__":
    main()
