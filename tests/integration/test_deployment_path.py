"""The work-pool path of deploy/prefect.yaml, as its comment says to use it: a process work
pool, `prefect deploy --all` from deploy/, and a process worker started somewhere else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PREFECT = str(Path(sys.executable).parent / "prefect")


def _prefect(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [PREFECT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done


def _wait_for(run_id: UUID, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(run_id).state
            if state is not None and (state.is_final() or time.monotonic() > deadline):
                return state.type.value
            time.sleep(0.5)


def test_deploy_all_from_deploy_then_a_process_worker_runs_the_inbox(
    prefect_api: str, tmp_path: Path, seeds: Path
) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "worker-home"
    shutil.copytree(seeds, inbox)
    elsewhere.mkdir()
    feeds = tmp_path / "feeds.yml"
    feeds.write_text("feeds: []\n", encoding="utf-8")
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "NEWSMON_INBOX": str(inbox),
        "NEWSMON_DB": str(tmp_path / "store.db"),
        "NEWSMON_FEEDS": str(feeds),
    }
    _prefect(
        "work-pool", "create", "newsmon", "--type", "process", "--overwrite", cwd=DEPLOY, env=env
    )
    _prefect("--no-prompt", "deploy", "--all", cwd=DEPLOY, env=env)

    with get_client(sync_client=True) as client:
        deployments = {
            d.name: d for d in client.read_deployments() if d.name.startswith(("pool-", "on-new"))
        }
        assert set(deployments) == {"pool-poll-feeds", "pool-ingest-inbox", "on-new-putin-xi-story"}
        inbox_run = deployments["pool-ingest-inbox"]
        assert inbox_run.parameters == {"paths": [str(inbox)], "remember": True}
        assert all(d.pull_steps == [] for d in deployments.values())
        assert all(d.work_pool_name == "newsmon" for d in deployments.values())
        followup = deployments["on-new-putin-xi-story"]
        automations = client.read_resource_related_automations(f"prefect.deployment.{followup.id}")
    [automation] = automations
    assert automation.trigger.expect == {"newsmon.story.new"}  # type: ignore[union-attr]

    run = run_deployment("ingest-files/pool-ingest-inbox", timeout=0)
    # The worker runs where the repository is not: the entrypoints are the package's modules.
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "newsmon", "--type", "process", "--run-once"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        state = _wait_for(run.id, 180)
    finally:
        output = worker.communicate(timeout=180)[0]
    assert state == "COMPLETED", output[-3000:]

    from newsmon.settings import Settings
    from newsmon.store_location import open_store

    store = open_store(Settings(db=str(tmp_path / "store.db")))
    try:
        assert store.count_articles() == 5
        assert len(store.seen_files([str(p) for p in sorted(inbox.glob("*.txt"))])) == 5
    finally:
        store.close()
