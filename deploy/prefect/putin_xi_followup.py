"""Serve the Putin–Xi follow-up without a work pool: one process, the same trigger.

Run it beside a Prefect server (PREFECT_API_URL set; `newsmon run` reporting to it):

    python deploy/prefect/putin_xi_followup.py

It serves the flow `putin-xi-followup` (flows/followup.py) with the trigger that
deploy/prefect.yaml gives its deployment `on-new-putin-xi-story`: each `newsmon.story.new`
event whose entities include both Q7747 and Q15031 starts a run.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.events import DeploymentEventTrigger

from flows.followup import putin_xi_followup

PREFECT_FILE = Path(__file__).resolve().parent.parent / "prefect.yaml"
DEPLOYMENT = "on-new-putin-xi-story"


def load_trigger(path: Path = PREFECT_FILE) -> DeploymentEventTrigger:
    """The follow-up deployment's trigger, as Prefect reads it from prefect.yaml."""
    spec = yaml.safe_load(path.read_text("utf-8"))
    [deployment] = [d for d in spec["deployments"] if d["name"] == DEPLOYMENT]
    [trigger] = deployment["triggers"]
    return DeploymentEventTrigger.model_validate(trigger)


if __name__ == "__main__":
    putin_xi_followup.serve(name=DEPLOYMENT, triggers=[load_trigger()])
