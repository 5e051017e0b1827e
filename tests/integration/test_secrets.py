"""No secret reaches Prefect's records, the store or newsmon's output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peers import newsmon, smtp_peer, webhook_peer
from prefect.client.orchestration import get_client
from prefect.client.schemas.sorting import FlowRunSort

from flows.ingest import ingest_files
from newsmon.compose import pipeline_config
from newsmon.settings import Settings

pytestmark = pytest.mark.integration

SECRETS = ("ES-PASS-1", "HOOK-TOKEN-2", "HOOK-SECRET-3", "SMTP-PASS-4", "API-KEY-5")


def test_secrets_stay_out_of_prefect_the_store_and_the_output(seeds: Path, tmp_path: Path) -> None:
    with smtp_peer("none") as smtp, webhook_peer() as hook:
        settings = Settings(
            db=str(tmp_path / "store.db"),
            # Unreachable: the run keeps the stories for a later sync, as with any outage.
            elasticsearch_url="http://elastic:ES-PASS-1@127.0.0.1:9/",
            webhook_url=f"{hook.url}/services/T0/B0/HOOK-TOKEN-2",
            webhook_secret="HOOK-SECRET-3",
            **{**smtp.settings(None), "smtp_password": "SMTP-PASS-4", "smtp_username": "u"},
        )
        summary = ingest_files([str(seeds)], pipeline_config(settings))
    assert summary.stored == 5 and summary.alerts
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=50)
    # This test's run: the one whose parameters name its store.
    [recorded] = [
        text
        for text in (json.dumps(run.parameters, default=str) for run in runs)
        if str(tmp_path) in text
    ]
    assert not [s for s in SECRETS if s in recorded], recorded
    stored = (tmp_path / "store.db").read_bytes()
    assert not [s for s in SECRETS if s.encode() in stored]
    env = {"NEWSMON_WEBHOOK_URL": f"{hook.url}/services/T0/B0/HOOK-TOKEN-2"}
    shown = newsmon("alerts", "--json", db=tmp_path / "store.db", env=env).stdout
    shown += newsmon("alerts", "rules", db=tmp_path / "store.db", env=env).stdout
    assert not [s for s in SECRETS if s in shown], shown
