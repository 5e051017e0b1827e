"""Throughput benchmark: the whole ingest flow against bare trafilatura, on real pages.

Usage: python bench/throughput_bench.py [--pages 300] [--texts 2000] [--batch 50] [--no-dask]

Pages are the two real Arabic pages in tests/fixtures/html, each copy with a share of the
words in its text nodes swapped for others from the same page (seeded per copy) and its own
URL, so every page is a distinct story with the markup, boilerplate and size of the real
one. Printed, from one run: bare single-core `trafilatura.extract` over the pages; the
`ingest-files` flow over the same pages on the default task runner (run time as the flow
records it, and with Prefect's start-up); their ratio; the flow over plain-text stories made
the same way from the seeds; and the same page ingest on a local Dask cluster, with whether
it stored the same.

A run's time includes starting its worker processes (each imports Prefect, trafilatura and
the taggers, and warms dateparser: seconds, once per worker). The flow also runs over twice
the pages (and texts); the difference between the two runs, per extra input, is the cost of
a page once the workers are up, which is what a long backfill pays. Two runs differ by noise
on a busy machine, so the same figure is also taken within one run: every article of a batch
carries the batch's build time, and the batches after each worker's first one give the rate
between those stamps.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
_TEXT_NODE = re.compile(r">([^<>]*[\u0600-\u06ff][^<>]*)<")
_CANONICAL = re.compile(r'<link rel="canonical" href="([^"]+)"')


def _swap_words(text: str, vocabulary: list[str], rng: random.Random, share: float) -> str:
    return " ".join(w if rng.random() > share else rng.choice(vocabulary) for w in text.split(" "))


def _swapper(
    vocabulary: list[str], rng: random.Random, share: float
) -> Callable[[re.Match[str]], str]:
    return lambda m: ">" + _swap_words(m.group(1), vocabulary, rng, share) + "<"


def _own_url(page: str, n: int) -> str:
    """The page with its canonical URL, wherever it appears, made the copy's own.

    Copies at one URL would each be stored as a new version of the first (a re-read URL
    whose text changed), a path with its own check that a backfill of distinct stories
    does not take.
    """
    found = _CANONICAL.search(page)
    if found is None:
        raise SystemExit("bench page has no canonical link")
    url = found.group(1)
    parts = urlsplit(url)
    return page.replace(url, urlunsplit(parts._replace(path=f"/copy-{n}{parts.path}")))


def make_pages(folder: Path, count: int, share: float = 0.5) -> int:
    """Write `count` distinct pages made from the real ones, each at its own URL; returns
    bytes written."""
    sources = [
        (ROOT / "tests/fixtures/html" / n).read_text("utf-8")
        for n in ("assabah.html", "cnn_arabic.html")
    ]
    written = 0
    for n in range(count):
        rng = random.Random(n)
        page = _own_url(sources[n % len(sources)], n)
        vocabulary = sorted({w for node in _TEXT_NODE.findall(page) for w in node.split()})
        data = _TEXT_NODE.sub(_swapper(vocabulary, rng, share), page)
        path = folder / f"page-{n:05d}.html"
        path.write_text(data, "utf-8")
        written += path.stat().st_size
    return written


def make_texts(folder: Path, count: int, share: float = 0.5) -> int:
    """Write `count` distinct plain-text stories made from the seeds; returns bytes written."""
    seeds = [p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    vocabulary = sorted({w for text in seeds for w in text.split()})
    written = 0
    for n in range(count):
        rng = random.Random(-n - 1)
        lines = [
            _swap_words(line, vocabulary, rng, share) for line in seeds[n % len(seeds)].splitlines()
        ]
        path = folder / f"story-{n:05d}.txt"
        path.write_text("\n".join(lines), "utf-8")
        written += path.stat().st_size
    return written


def bare_extract(folder: Path) -> float:
    """Seconds for plain trafilatura.extract over every page, one core."""
    pages = [p.read_text("utf-8") for p in sorted(folder.glob("*.html"))]
    start = time.perf_counter()
    for page in pages:
        trafilatura.extract(page)
    return time.perf_counter() - start


def run_flow(folder: Path, db: Path, batch: int, runner: str) -> tuple[float, float, int]:
    """The ingest flow once: (seconds the run recorded, seconds with start-up, stored)."""
    from flows.ingest import ingest_files
    from newsmon.compose import pipeline_config
    from newsmon.settings import Settings

    settings = Settings(db=str(db), batch_size=batch, task_runner=runner)
    start = time.perf_counter()
    summary = ingest_files([str(folder)], pipeline_config(settings))
    return summary.seconds, time.perf_counter() - start, summary.stored


def stories(db: Path) -> list[tuple[str, str, str]]:
    """Each stored article's file name, id and story, for comparing two runs."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT source, id, cluster_id FROM articles ORDER BY source").fetchall()
    con.close()
    return [(Path(source).name, i, c) for source, i, c in rows]


def steady_rate(db: Path, workers: int) -> float:
    """Inputs per second between the build stamps of the batches after each worker's first."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT ingested_at, count(*) FROM articles GROUP BY ingested_at ORDER BY ingested_at"
    ).fetchall()
    con.close()
    stamps = [datetime.fromisoformat(at) for at, _ in rows]
    if len(stamps) <= workers + 1:
        raise SystemExit(f"{db}: {len(stamps)} batches, too few for a rate after start-up")
    # Each stamp is the same point of its batch, so the inputs of the batches after stamp k
    # took the time from stamp k to the last stamp.
    inputs: int = sum(count for _, count in rows[workers + 1 :])
    return inputs / (stamps[-1] - stamps[workers]).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--runner", default="processes")
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    with tempfile.TemporaryDirectory(prefix="newsmon-throughput-") as tmp:
        pages, texts = Path(tmp) / "pages", Path(tmp) / "texts"
        pages.mkdir()
        texts.mkdir()
        size = make_pages(pages, args.pages)
        each = size / args.pages / 1024
        print(f"pages: {args.pages} distinct, {each:.0f} KB each; {os.cpu_count()} cores")
        bare = bare_extract(pages)
        print(f"bare trafilatura.extract, 1 core: {bare:.1f} s ({args.pages / bare:.1f} pages/s)")
        run_s, total_s, stored = run_flow(pages, Path(tmp) / "pages.db", args.batch, args.runner)
        print(
            f"ingest-files ({args.runner}, batch {args.batch}): {stored} stored in {run_s:.1f} s"
            f" ({args.pages / run_s:.1f} pages/s; {total_s:.1f} s with Prefect start-up)"
        )
        print(f"ratio pipeline / bare extraction, whole run: {run_s / bare:.2f}x")
        double = Path(tmp) / "pages2"
        double.mkdir()
        make_pages(double, 2 * args.pages)
        run2_s, _, _ = run_flow(double, Path(tmp) / "pages2.db", args.batch, args.runner)
        per_page = (run2_s - run_s) / args.pages
        print(
            f"  {2 * args.pages} pages in {run2_s:.1f} s: {1000 * per_page:.1f} ms per extra page"
            f" against bare {1000 * bare / args.pages:.1f} ms;"
            f" ratio once workers are up: {per_page * args.pages / bare:.2f}x"
        )
        workers = os.cpu_count() or 1
        page_rate = steady_rate(Path(tmp) / "pages2.db", workers)
        print(
            f"  within that run, after each worker's first batch: {page_rate:.1f} pages/s,"
            f" {1000 / page_rate:.1f} ms per page; ratio: {args.pages / page_rate / bare:.2f}x"
        )

        count = make_texts(texts, args.texts)
        t_run, _, t_stored = run_flow(texts, Path(tmp) / "texts.db", 500, args.runner)
        print(
            f"plain text: {args.texts} stories ({count / args.texts / 1024:.1f} KB each),"
            f" {t_stored} stored in {t_run:.1f} s ({args.texts / t_run:.0f} stories/s)"
        )
        texts2 = Path(tmp) / "texts2"
        texts2.mkdir()
        make_texts(texts2, 2 * args.texts)
        t2_run, _, _ = run_flow(texts2, Path(tmp) / "texts2.db", 500, args.runner)
        print(
            f"  {2 * args.texts} stories in {t2_run:.1f} s:"
            f" {args.texts / (t2_run - t_run):.0f} stories/s once workers are up;"
            f" within that run, after each worker's first batch:"
            f" {steady_rate(Path(tmp) / 'texts2.db', workers):.0f} stories/s"
        )

        if not args.no_dask:
            d_run, _, d_stored = run_flow(pages, Path(tmp) / "dask.db", args.batch, "dask")
            same = stories(Path(tmp) / "dask.db") == stories(Path(tmp) / "pages.db")
            print(
                f"dask (local cluster): {d_stored} stored in {d_run:.1f} s"
                f" ({args.pages / d_run:.1f} pages/s); same stories and ids as above: {same}"
            )


if __name__ == "__main__":
    main()
