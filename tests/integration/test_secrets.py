"""No secret reaches Prefect's records, the store or newsmon's output."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from peers import chat_apis, newsmon, smtp_peer, webhook_peer
from pg_server import PostgresServer
from prefect.client.orchestration import get_client
from prefect.client.schemas.sorting import FlowRunSort

from flows.ingest import ingest_files
from newsmon.compose import pipeline_config
from newsmon.settings import Settings

pytestmark = pytest.mark.integration

SECRETS = ("ES-PASS-1", "HOOK-TOKEN-2", "HOOK-SECRET-3", "SMTP-PASS-4", "API-KEY-5")
# In the chat channels' URLs and the Telegram bot token.
CHAT_SECRETS = ("slacksecret", "teamssecret", "TEST-token")


def test_secrets_stay_out_of_prefect_the_store_and_the_output(seeds: Path, tmp_path: Path) -> None:
    with smtp_peer("none") as smtp, webhook_peer() as hook, chat_apis() as apis:
        chat = {
            "slack_webhook_url": apis.slack_url,
            "teams_webhook_url": apis.teams_url,
            "telegram_bot_token": apis.token,
            "telegram_chat_id": apis.chat_id,
            "telegram_api_url": apis.base,
        }
        settings = Settings(
            **chat,
            db=str(tmp_path / "store.db"),
            # Unreachable: the run keeps the stories for a later sync, as with any outage.
            elasticsearch_url="http://elastic:ES-PASS-1@127.0.0.1:9/",
            webhook_url=f"{hook.url}/services/T0/B0/HOOK-TOKEN-2",
            webhook_secret="HOOK-SECRET-3",
            **{**smtp.settings(None), "smtp_password": "SMTP-PASS-4", "smtp_username": "u"},
        )
        summary = ingest_files([str(seeds)], pipeline_config(settings))
        assert [len(apis.posts[api]) for api in ("slack", "teams", "telegram")] == [5, 5, 5]
    assert summary.stored == 5 and summary.alerts
    secrets = (*SECRETS, *CHAT_SECRETS)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=50)
    # This test's run: the one whose parameters name its store.
    [recorded] = [
        text
        for text in (json.dumps(run.parameters, default=str) for run in runs)
        if str(tmp_path) in text
    ]
    assert not [s for s in secrets if s in recorded], recorded
    stored = (tmp_path / "store.db").read_bytes()
    assert not [s for s in secrets if s.encode() in stored]
    env = {"NEWSMON_WEBHOOK_URL": f"{hook.url}/services/T0/B0/HOOK-TOKEN-2"}
    env |= {f"NEWSMON_{name.upper()}": value for name, value in chat.items()}
    shown = newsmon("alerts", "--json", db=tmp_path / "store.db", env=env).stdout
    shown += newsmon("alerts", "rules", db=tmp_path / "store.db", env=env).stdout
    assert not [s for s in secrets if s in shown], shown


def test_the_store_password_stays_out_of_prefect_the_run_record_and_the_output(
    seeds: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    password = postgres_server.password
    assert password in postgres_url  # the URL the user gives holds it
    database = postgres_url.rsplit("/", 1)[1]
    env = {"NEWSMON_STORE_URL": postgres_url}
    run = newsmon("run", "-v", str(seeds), db="unused.db", env=env)
    assert run.returncode == 0, run.stderr
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=50)
    [recorded] = [
        text
        for text in (json.dumps(run.parameters, default=str) for run in runs)
        if database in text
    ]
    assert password not in recorded
    shown = run.stdout + run.stderr
    for command in (("alerts", "--json"), ("export",), ("rejected", "--all"), ("events",)):
        result = newsmon(*command, db="unused.db", env=env)
        assert result.returncode == 0, result.stderr
        shown += result.stdout + result.stderr
    with psycopg.connect(postgres_url) as conn:
        record = json.dumps(conn.execute("SELECT * FROM runs").fetchall(), default=str)
    assert database in shown + recorded  # the output does name the store it used...
    assert password not in shown and password not in record  # ...never with its password
    wrong = postgres_url.replace(password, "not-the-" + password)
    refused = newsmon("export", db="unused.db", env={"NEWSMON_STORE_URL": wrong})
    assert refused.returncode == 2
    assert "password authentication failed" in refused.stderr
    assert password not in refused.stderr + refused.stdout
