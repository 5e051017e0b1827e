"""Dedup benchmark: signature + LSH lookup cost per document as the store grows.

Usage: python bench/dedup_bench.py [--sizes 10000,100000] [--probe 2000] [--repeat 3]
                                   [--chunk 5000] [--fill store|tables]

Documents are random draws of 10-20 sentences from the real Arabic texts in the repo (seeds,
article pages, dev-set stories), a third of their words swapped for others from the same
texts, plus a numbered sentence: each one is distinct, and pairs share words and a phrase
now and then, as unrelated news does. The store is filled in chunks through
the real path (fingerprint, then link and insert in one SQLite transaction). At each size
checkpoint, `--probe` new documents are fingerprinted and looked up (LSH candidates from the
store, containment check) without being stored: that is the per-document dedup cost at that
store size. The probe runs `--repeat` times and the fastest run counts (a shared machine's
other work only ever slows a run down). Figures printed: docs/s for signature, lookup and
both; the fill rate (link + insert, with article text and full-text index); peak RSS; store
bytes per document: all, text excluded (the articles' text columns and the full-text
index), and dedup's own tables.

`--fill tables` fills a million in under half an hour on two cores: documents are
fingerprinted on every core and their signatures and band keys written straight into
dedup's tables (the rows the store writes), with a bare article row holding only the
normalised text that an exact check reads; no full-text index, no entities. Lookups then
run through the store as in the default mode. Only dedup's own bytes per document are
comparable in this mode.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import yaml
from store_size import store_size

from enrich.arabic import normalize_text, search_terms
from enrich.dedup import DedupParams, fingerprinter_for, link_story, store_stories
from newsmon.records import Article
from newsmon.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def sentence_pool() -> list[str]:
    """Normalised sentences from every real Arabic text in the repository."""
    texts = [p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    texts.append((ROOT / "tests/fixtures/html/cnn_arabic.gold.txt").read_text("utf-8"))
    texts.append((ROOT / "tests/fixtures/dedup/assabah.text.txt").read_text("utf-8"))
    extra = yaml.safe_load((ROOT / "tests/fixtures/dedup/hard_negatives.yml").read_text("utf-8"))
    texts.extend("\n".join(story["paragraphs"]) for story in extra.values())
    sentences = []
    for text in texts:
        for part in normalize_text(text).replace("\n", ". ").split(". "):
            if len(part.split()) >= 6:
                sentences.append(part.strip())
    return sentences


def documents(pool: list[str], start: int, count: int, seed: int) -> Iterator[Article]:
    """`count` distinct articles numbered from `start`."""
    rng = random.Random(seed)
    vocabulary = sorted({word for sentence in pool for word in sentence.split()})
    for n in range(start, start + count):
        # A third of the words swapped: unrelated reports share words and the odd phrase,
        # rarely whole sentences (with the bare pool, every pair would share ~10 % of text).
        picked = [
            " ".join(w if rng.random() > 0.35 else rng.choice(vocabulary) for w in s.split())
            for s in rng.sample(pool, rng.randint(10, 20))
        ]
        picked.insert(rng.randrange(len(picked)), f"وفي التحديث رقم {n} افاد مراسلنا بتطورات جديده")
        text = ". ".join(picked)
        doc_id = hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
        yield Article(doc_id, f"bench/{n}", "عنوان", text, text, "ar", NOW)


# (article id, normalised text, signature, shingle count, band keys)
Signed = tuple[str, str, bytes, int, tuple[int, ...]]


def signed_documents(start: int, count: int) -> list[Signed]:
    """Fingerprints of `count` documents numbered from `start` (run in a worker process)."""
    fingerprinter = fingerprinter_for(DedupParams())
    out = []
    for article in documents(sentence_pool(), start, count, seed=start):
        fp = fingerprinter.fingerprint(article)
        out.append((article.id, article.text_norm, fp.signature, fp.shingle_count, fp.band_keys))
    return out


class TablesFill:
    """Documents signed on every core, written straight into dedup's tables (--fill tables)."""

    def __init__(self, path: Path) -> None:
        self.workers = ProcessPoolExecutor(os.cpu_count())
        self.db = sqlite3.connect(path, isolation_level=None)
        # The bench's own writer: a large page cache, and no fsync (a lost bench is rerun).
        self.db.execute("PRAGMA cache_size = -1000000")
        self.db.execute("PRAGMA synchronous = OFF")

    def add(self, start: int, count: int) -> None:
        """Sign documents start … start+count-1, split across the cores, and store their rows."""
        step = -(-count // (os.cpu_count() or 1))
        parts = range(start, start + count, step)
        sizes = [min(step, start + count - p) for p in parts]
        signed = [row for rows in self.workers.map(signed_documents, parts, sizes) for row in rows]
        fill_tables(self.db, signed, start + 1)

    def close(self) -> None:
        """Stop the workers and close the writer."""
        self.workers.shutdown()
        self.db.close()


def fill_tables(db: sqlite3.Connection, signed: list[Signed], first_doc: int) -> None:
    """Write documents' dedup rows (and a bare article row each) in one transaction."""
    now = NOW.isoformat()
    with db:
        db.executemany(
            "INSERT INTO articles (id, source, title, text, text_norm, lang, encoding,"
            " ingested_at, run_id, cluster_id) VALUES (?, 'bench', '', '', ?, 'ar', 'utf-8',"
            " ?, 'bench', ?)",
            [(i, norm, now, i) for i, norm, _, _, _ in signed],
        )
        docs = range(first_doc, first_doc + len(signed))
        db.executemany(
            "INSERT INTO dedup_docs (doc, article_id, minhash, shingle_count) VALUES (?, ?, ?, ?)",
            [(doc, i, sig, n) for doc, (i, _, sig, n, _) in zip(docs, signed, strict=True)],
        )
        db.executemany(
            "INSERT OR IGNORE INTO lsh_keys (band_key, doc) VALUES (?, ?)",
            [
                (key, doc)
                for doc, (_, _, _, _, keys) in zip(docs, signed, strict=True)
                for key in keys
            ],
        )


def probe(
    store: SQLiteStore, articles: list[Article], params: DedupParams
) -> tuple[float, float, float]:
    """Seconds fingerprinting, seconds looking up + confirming, and LSH candidates per article."""
    fingerprinter = fingerprinter_for(params)
    start = time.perf_counter()
    fps = [fingerprinter.fingerprint(a) for a in articles]
    signed = time.perf_counter()
    for fp in fps:
        link_story(fp, store, params)
    looked_up = time.perf_counter()
    candidates = sum(len(store.lsh_candidates(fp.band_keys, 1000)) for fp in fps)
    return signed - start, looked_up - signed, candidates / len(fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--probe", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--fill", choices=["store", "tables"], default="store")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    params = DedupParams()
    pool = sentence_pool()
    fingerprinter = fingerprinter_for(params)
    print(f"pool: {len(pool)} sentences; layout {fingerprinter.layout}")
    print(
        f"{'stored':>9}{'sign/s':>9}{'lookup/s':>10}{'both/s':>9}{'cand/doc':>9}{'fill/s':>9}"
        f"{'RSS MiB':>9}{'store B/doc':>12}{'no-text B':>10}{'dedup B/doc':>12}"
    )
    with tempfile.TemporaryDirectory(prefix="newsmon-dedup-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        store = SQLiteStore(path, analyzer=search_terms)
        run_id = store.begin_run(["bench"])
        stored = 0
        fill_seconds = 0.0
        tables = TablesFill(path) if args.fill == "tables" else None
        for size in sizes:
            while stored < size:
                count = min(args.chunk, size - stored)
                start = time.perf_counter()
                if tables is not None:
                    tables.add(stored, count)
                else:
                    batch = list(documents(pool, stored, count, seed=stored))
                    fps = [fingerprinter.fingerprint(a) for a in batch]
                    store_stories(store, fps, run_id, params)
                fill_seconds += time.perf_counter() - start
                stored += count
            probes = list(documents(pool, 10**9 + stored, args.probe, seed=-stored))
            runs = [probe(store, probes, params) for _ in range(args.repeat)]
            sign = min(run[0] for run in runs)
            lookup = min(run[1] for run in runs)
            candidates = runs[0][2]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            size_now = store_size(path)
            whole = f"{size_now.per_article:>12.0f}{size_now.without_text:>10.0f}"
            if tables is not None:
                whole = f"{'-':>12}{'-':>10}"  # no full-text index, no entities: not comparable
            print(
                f"{stored:>9}{args.probe / sign:>9.0f}{args.probe / lookup:>10.0f}"
                f"{args.probe / (sign + lookup):>9.0f}{candidates:>9.2f}"
                f"{stored / fill_seconds:>9.0f}{rss:>9.0f}"
                f"{whole}{size_now.dedup:>12.0f}",
                flush=True,
            )
        if tables is not None:
            tables.close()
        store.close()


if __name__ == "__main__":
    main()
