"""Example automation: a Prefect deployment run for every new Putin–Xi story.

Run it beside a Prefect server (PREFECT_API_URL set; `newsmon run` reporting to it):

    python deploy/prefect/putin_xi_followup.py

It serves the flow `putin-xi-followup` with the trigger in putin-xi-trigger.yaml: each
`newsmon.story.new` event whose entities include both Q7747 and Q15031 starts a run, which
writes the story's export record to exports/putin-xi/<article_id>.json. Replace the body
with your own follow-up (a translation request, a ticket, a briefing note).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from prefect import flow, get_run_logger
from prefect.events import DeploymentEventTrigger

from newsmon.compose import open_store
from newsmon.export import article_json
from newsmon.settings import load_settings

TRIGGER_FILE = Path(__file__).with_name("putin-xi-trigger.yaml")


def load_trigger(path: Path = TRIGGER_FILE) -> DeploymentEventTrigger:
    """The trigger as Prefect reads it from the YAML file."""
    return DeploymentEventTrigger.model_validate(yaml.safe_load(path.read_text("utf-8")))


@flow(name="putin-xi-followup")
def putin_xi_followup(article_id: str, title: str, out: str = "exports/putin-xi") -> str:
    """Write the new story's export record where a follow-up process picks it up."""
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


if __name__ == "__main__":
    putin_xi_followup.serve(name="on-new-putin-xi-story", triggers=[load_trigger()])
