"""Prefect flow `putin-xi-followup`: the example automation a Putin–Xi story event starts.

deploy/prefect.yaml deploys it with a trigger on `newsmon.story.new` events naming both
Q7747 and Q15031; each such story starts a run that writes its export record where a
follow-up process picks it up. Replace the body with your own follow-up (a translation
request, a ticket, a briefing note).
"""

from __future__ import annotations

import json
from pathlib import Path

from prefect import flow, get_run_logger

from newsmon.export import article_json
from newsmon.settings import load_settings
from newsmon.store_location import open_store


@flow(name="putin-xi-followup")
def putin_xi_followup(article_id: str, title: str, out: str = "exports/putin-xi") -> str:
    """Write the new story's export record to OUT/<article_id>.json; the path written."""
    store = open_store(load_settings())
    try:
        found = store.articles_by_id([article_id])
        if not found:
            raise ValueError(f"story {article_id} is not in the store")
        record = article_json(found[0], store.sources_of(article_id))
    finally:
        store.close()
    target = Path(out) / f"{article_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    get_run_logger().info("Putin–Xi story %s (%s) written to %s", article_id, title, target)
    return str(target)
