"""Ingestion benchmark: documents/s and peak memory per stage on documents made from the seeds.

Usage: python bench/ingest_bench.py [--docs 2000] [--batch 500] [--html-share 0.1] [--no-flow]

Documents are the seed stories with their paragraphs shuffled and a numbered line added (so
every one is a distinct story), written as .txt files, a share of them wrapped in article
HTML and a share encoded in Windows-1256. Each stage runs over the same batches the flow
uses; time is measured in one pass, peak memory (tracemalloc) in a second, since tracing
slows Python down. Last, the whole Prefect flow runs once over the files (ephemeral mode,
start-up included) to show the end-to-end rate.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.decode import decode_batch
from connectors.files import discover, load_files
from enrich.arabic import search_terms
from enrich.article import build_articles
from enrich.boilerplate import load_rules
from enrich.dedup import fingerprint_batch, fingerprinter_for, store_stories
from enrich.entities import tag_articles, tagger_for
from enrich.extract import extract_batch
from newsmon.compose import dedup_params, pipeline_config
from newsmon.records import Fingerprint, StageOutput
from newsmon.settings import Settings
from newsmon.store.sqlite import SQLiteStore

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
HTML_PAGE = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{title}</title></head><body><nav><a href="/">الرئيسية</a> <a href="/world">العالم</a></nav>
<article><h1>{title}</h1>{paragraphs}</article>
<aside><h3>اقرأ أيضا</h3><ul><li><a href="/x">خبر آخر</a></li></ul></aside>
<footer>جميع الحقوق محفوظة</footer></body></html>"""


def make_corpus(folder: Path, n_docs: int, html_share: float, seed: int = 7) -> int:
    """Write n_docs distinct stories built from the seeds; returns bytes written."""
    rng = random.Random(seed)
    seeds = [p.read_text(encoding="utf-8").splitlines() for p in sorted(SEEDS.glob("*.txt"))]
    written = 0
    for n in range(n_docs):
        lines = [line for line in rng.choice(seeds) if line.strip()]
        head, body = lines[0], lines[1:]
        rng.shuffle(body)
        body.insert(
            rng.randrange(len(body) + 1), f"وفي التحديث رقم {n} أفاد مراسلنا بتطورات جديدة."
        )
        if rng.random() < html_share:
            paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in body)
            data = HTML_PAGE.format(title=html.escape(head), paragraphs=paragraphs).encode()
            name = f"{n:06d}.html"
        else:
            text = "\n\n".join([head, *body])
            encoding = "cp1256" if rng.random() < 0.1 else "utf-8"
            data = text.encode(encoding, errors="ignore")
            name = f"{n:06d}.txt"
        (folder / name).write_bytes(data)
        written += len(data)
    return written


Stage = tuple[str, Callable[[list[Any]], StageOutput[Any]]]


def pipeline(settings: Settings, db: Path) -> tuple[list[Stage], SQLiteStore]:
    """The flow's stages as plain functions over one batch, storing into a fresh store."""
    rules = load_rules(settings.boilerplate_rules)
    params = dedup_params(settings)
    fingerprinter = fingerprinter_for(params)
    store = SQLiteStore(db, analyzer=search_terms)
    run_id = store.begin_run(["bench"])

    def store_batch(fps: list[Fingerprint]) -> StageOutput[str]:
        return StageOutput(items=store_stories(store, fps, run_id, params).new_ids)

    stages: list[Stage] = [
        ("load", lambda paths: load_files(paths, settings.max_file_bytes)),
        ("decode", decode_batch),
        ("extract", lambda items: extract_batch(items, rules)),
        ("build-articles", lambda items: build_articles(items, datetime.now(UTC))),
        ("entities", lambda articles: tag_articles(articles, tagger_for(settings.gazetteer))),
        ("dedup", lambda articles: fingerprint_batch(articles, fingerprinter)),
        ("store", store_batch),
    ]
    return stages, store


def run_stages(files: list[str], settings: Settings, db: Path) -> dict[str, tuple[int, float]]:
    """Run every stage over the files in batches; returns stage → (items in, seconds)."""
    stages, store = pipeline(settings, db)
    totals: dict[str, tuple[int, float]] = {}
    for start in range(0, len(files), settings.batch_size):
        items: list[Any] = files[start : start + settings.batch_size]
        for name, stage in stages:
            began = time.perf_counter()
            out = stage(items)
            n, seconds = totals.get(name, (0, 0.0))
            totals[name] = (n + len(items), seconds + time.perf_counter() - began)
            items = out.items
    store.close()
    return totals


def peak_memory(files: list[str], settings: Settings, db: Path) -> dict[str, float]:
    """Peak traced memory (MiB) of each stage over one batch."""
    stages, store = pipeline(settings, db)
    items: list[Any] = files[: settings.batch_size]
    peaks: dict[str, float] = {}
    for name, stage in stages:
        tracemalloc.start()
        items = stage(items).items
        peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    store.close()
    return peaks


def run_flow(folder: Path, settings: Settings) -> tuple[float, int]:
    """Run the real Prefect flow once; returns (seconds including start-up, stored)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    start = time.perf_counter()
    from flows.ingest import ingest_files

    summary = ingest_files([str(folder)], pipeline_config(settings))
    return time.perf_counter() - start, summary.stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--html-share", type=float, default=0.1)
    parser.add_argument("--no-flow", action="store_true", help="skip the Prefect end-to-end run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        size = make_corpus(folder, args.docs, args.html_share)
        settings = Settings(db=str(Path(tmp) / "flow.db"), batch_size=args.batch)
        files = discover([folder]).items
        print(f"corpus: {len(files)} documents, {size / 2**20:.1f} MiB, batch {args.batch}")

        timings = run_stages(files, settings, Path(tmp) / "stages.db")
        peaks = peak_memory(files, settings, Path(tmp) / "peak.db")
        total = sum(seconds for _, seconds in timings.values())
        print(f"{'stage':<15}{'docs':>8}{'seconds':>10}{'docs/s':>10}{'peak MiB/batch':>16}")
        for stage, (n, seconds) in timings.items():
            rate = n / seconds if seconds else float("inf")
            print(f"{stage:<15}{n:>8}{seconds:>10.2f}{rate:>10.0f}{peaks[stage]:>16.1f}")
        print(f"{'all stages':<15}{len(files):>8}{total:>10.2f}{len(files) / total:>10.0f}")

        if not args.no_flow:
            seconds, stored = run_flow(folder, settings)
            print(
                f"prefect flow: {stored} stored in {seconds:.1f} s "
                f"({stored / seconds:.0f} docs/s, ephemeral start-up included)"
            )


if __name__ == "__main__":
    main()
