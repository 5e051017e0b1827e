"""List every entity mention in a `newsmon export` with its context, for a reader to judge.

Usage: newsmon export --db D | python bench/entities_audit.py [--type place] [--summary]

Precision on real text is judged by reading: each line shows the entity, the words tagged and
a window of text around them. `--summary` prints one line per (entity, words tagged) with its
count, the form in which plainly wrong tags (a common word read as a place) stand out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_WINDOW = 40


def mentions(doc: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(source, entity id, type, words tagged, context) for every mention in one exported story."""
    out = []
    for tag in doc.get("entities") or []:
        for m in tag["mentions"]:
            field = m.get("field", "text")
            body = str(doc.get(field) or "")
            start, end = m["start"], m["end"]
            context = (
                body[max(0, start - _WINDOW) : start]
                + "["
                + body[start:end]
                + "]"
                + body[end : end + _WINDOW]
            ).replace("\n", " ")
            source = Path(str(doc.get("source"))).stem
            out.append((source, f"{tag['id']} {tag['label']}", tag["type"], m["text"], context))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", type=Path, help="NDJSON export (default: stdin)")
    parser.add_argument("--type", choices=("person", "place", "org"))
    parser.add_argument("--summary", action="store_true", help="Count per entity and words.")
    args = parser.parse_args()
    lines = (args.export.read_text(encoding="utf-8") if args.export else sys.stdin.read()).split(
        "\n"
    )
    rows = [
        row
        for line in lines
        if line.strip()
        for row in mentions(json.loads(line))
        if args.type is None or row[2] == args.type
    ]
    if args.summary:
        counts = Counter((entity, kind, words) for _, entity, kind, words, _ in rows)
        for (entity, kind, words), n in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0])):
            print(f"{n:4d}  {kind:<6} {entity:<40} «{words}»")
    else:
        for source, entity, kind, words, context in rows:
            print(f"{source:<40} {kind:<6} {entity:<36} «{words}»  …{context}…")
    print(f"{len(rows)} mentions", file=sys.stderr)


if __name__ == "__main__":
    main()
