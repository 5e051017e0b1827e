"""Write enrich/data/term_zipf.tsv.gz: how common each Arabic word is (maintainer tool).

Event linking weighs a word by how rare it is in the language: «في» says nothing about which
event a report covers, «الاستفتاء» says much. wordfreq (PyPI; its data CC BY-SA 4.0, built
from Wikipedia, subtitles, news, books, web text and social media) gives each Arabic word's
Zipf frequency: log10 of its uses per billion words. Keys here are newsmon's normalised forms
(enrich.arabic.normalize_text), the largest frequency of the spellings that share one; words
rarer than --min-zipf are left out (they all count as rare). Run with wordfreq installed:

    pip install wordfreq==3.1.1
    python scripts/build_term_weights.py enrich/data/term_zipf.tsv.gz
"""

from __future__ import annotations

import argparse
import gzip
import math
from pathlib import Path

from wordfreq import get_frequency_dict

from enrich.arabic import normalize_text


def main() -> None:
    """Build the table and write it gzipped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the gzipped TSV to write")
    parser.add_argument("--min-zipf", type=float, default=3.0)
    args = parser.parse_args()
    zipf: dict[str, float] = {}
    for word, frequency in get_frequency_dict("ar").items():
        value = math.log10(frequency * 1e9)
        if value < args.min_zipf:
            continue
        key = normalize_text(word)
        if " " in key or not key:
            continue
        zipf[key] = max(zipf.get(key, 0.0), value)
    lines = ["# normalised word\tZipf frequency (wordfreq 3.1.1, Arabic; data CC BY-SA 4.0)"]
    lines += [f"{key}\t{zipf[key]:.2f}" for key in sorted(zipf)]
    # mtime 0: the same words give the same bytes, so a rebuild shows no spurious diff.
    with args.out.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
