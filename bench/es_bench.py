"""Bulk indexing throughput (docs/s) against the configured Elasticsearch, or noida-db.

Usage: python bench/es_bench.py [--docs 5000] [--batch 500] [--concurrency 2]

With NEWSMON_ELASTICSEARCH_URL (or ELASTICSEARCH_URL) set, writes to a throwaway alias
there; otherwise starts noida-db (the emulator the tests use) on a free port. Documents are
the seeds' articles (tagged, with their entities) under distinct ids, so every request
carries real Arabic text. The alias and its indices are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from seed_stories import seed_copies

# The emulator helper is a test peer, kept out of the package: read it from tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from es_emulator import emulator_template, start_emulator, stop_process

from connectors.elasticsearch import DEFAULT_TEMPLATE, ElasticsearchSink, es_document
from newsmon.compose import es_config
from newsmon.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def documents(n: int) -> list[dict[str, Any]]:
    return [es_document(article, [article.source]) for article in seed_copies(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("NEWSMON_ELASTICSEARCH_URL") or os.environ.get("ELASTICSEARCH_URL")
    process = None
    with tempfile.TemporaryDirectory() as tmp:
        template = DEFAULT_TEMPLATE
        if not url:
            url, process = start_emulator(Path(tmp) / "noida")
            template = emulator_template(Path(tmp) / "template.json")
        alias = f"bench{uuid.uuid4().hex[:8]}-stories"
        settings = Settings(
            db=str(Path(tmp) / "unused.db"),
            elasticsearch_url=url,
            es_alias=alias,
            es_template=template,
            es_batch_size=args.batch,
            es_concurrency=args.concurrency,
        )
        es = es_config(settings)
        assert es is not None
        sink = ElasticsearchSink(es)
        try:
            docs = documents(args.docs)
            size = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs) / len(docs)
            sink.setup()
            start = time.perf_counter()
            outcome = sink.index(docs)
            seconds = time.perf_counter() - start
            sink.refresh()
            print(f"target: {'noida-db emulator' if process else 'Elasticsearch'} {sink.info()}")
            done = len(outcome.indexed)
            print(
                f"{done} indexed, {len(outcome.rejected)} refused in {seconds:.2f} s:"
                f" {done / seconds:.0f} docs/s, {size / 1024:.1f} KiB/doc,"
                f" batch {args.batch}, {args.concurrency} in flight; count {sink.count()}"
            )
            # Concrete names: Elasticsearch 8 refuses wildcard deletes by default.
            indices = list(sink.client.indices.get_alias(name=alias))
            sink.client.indices.delete(index=",".join(indices))
            sink.client.indices.delete_index_template(name=alias)
        finally:
            if process:
                stop_process(process)


if __name__ == "__main__":
    main()
