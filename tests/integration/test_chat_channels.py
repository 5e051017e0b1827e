"""Alerts to Slack, Microsoft Teams and Telegram, each against a loopback server that
speaks its API's shape (tests/integration/peers.py: chat_apis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from peers import ChatApis, chat_apis, newsmon

from flows.ingest import ingest_files
from newsmon.compose import pipeline_config
from newsmon.settings import Settings

pytestmark = pytest.mark.integration


def _settings(tmp_path: Path, apis: ChatApis, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "db": tmp_path / "store.db",
        "slack_webhook_url": apis.slack_url,
        "teams_webhook_url": apis.teams_url,
        "telegram_bot_token": apis.token,
        "telegram_chat_id": apis.chat_id,
        "telegram_api_url": apis.base,
        "chat_timeout": 5.0,
        "alert_backoff": (0.2, 0.4),
        "alert_run_retries": 0,
        **extra,
    }
    return Settings(**values)


def _env(apis: ChatApis, chat_id: str | None = None) -> dict[str, str]:
    return {
        "NEWSMON_SLACK_WEBHOOK_URL": apis.slack_url,
        "NEWSMON_TEAMS_WEBHOOK_URL": apis.teams_url,
        "NEWSMON_TELEGRAM_BOT_TOKEN": apis.token,
        "NEWSMON_TELEGRAM_CHAT_ID": chat_id or apis.chat_id,
        "NEWSMON_TELEGRAM_API_URL": apis.base,
    }


def test_each_alert_reaches_slack_teams_and_telegram_once_through_their_refusals(
    seeds: Path, tmp_path: Path
) -> None:
    with chat_apis() as apis:
        # Each API refuses its first message in a way worth retrying.
        apis.script = {"slack": [500], "teams": [429], "telegram": [429]}
        settings = _settings(tmp_path, apis)
        summary = ingest_files([str(seeds)], pipeline_config(settings))
        assert summary.delivery is not None
        assert (summary.delivery.sent, summary.delivery.retrying) == (12, 3)
        retried = newsmon("alerts", "retry", db=settings.db, env=_env(apis))
        assert retried.returncode == 0, retried.stderr
        assert "sent 3, to retry 0, given up 0" in retried.stdout

        # One message per alert per API: the five seeds are five Putin–Xi events.
        assert [len(apis.posts[api]) for api in ("slack", "teams", "telegram")] == [5, 5, 5]
        slack = [p["text"] for p in apis.posts["slack"]]
        telegram = [p["text"] for p in apis.posts["telegram"]]
        cards = [p["attachments"][0] for p in apis.posts["teams"]]
        assert all(t.startswith("[newsmon] putin-xi: ") for t in slack + telegram)
        assert {c["contentType"] for c in cards} == {"application/vnd.microsoft.card.adaptive"}
        assert all(c["content"]["type"] == "AdaptiveCard" for c in cards)
        assert all(c["content"]["rtl"] is True for c in cards)  # Arabic stories
        teams = [c["content"]["body"][0]["text"] for c in cards]

        # The same five alerts; each channel's message ends with its own idempotency key.
        def bodies(texts: list[str]) -> list[str]:
            return sorted(t.rsplit("Idempotency key: ", 1)[0] for t in texts)

        assert bodies(slack) == bodies(telegram) == bodies(teams)
        assert all("<" not in t for t in slack)  # escaped as Slack asks
        assert {p["chat_id"] for p in apis.posts["telegram"]} == {apis.chat_id}
        refused = [status for path, status in apis.answers if status >= 400]
        assert sorted(refused) == [429, 429, 500]

        listed = newsmon("alerts", "--json", db=settings.db, env=_env(apis))
        deliveries = [
            d for line in listed.stdout.splitlines() for d in json.loads(line)["deliveries"]
        ]
        by_channel = {d["channel"]: d for d in deliveries}
        assert set(by_channel) == {"slack", "teams", "telegram"}
        assert all(d["state"] == "sent" for d in deliveries) and len(deliveries) == 15
        assert by_channel["telegram"]["target"] == f"chat {apis.chat_id}"
        # A webhook URL's path is its secret: shown and stored by its origin only.
        assert by_channel["slack"]["target"] == f"{apis.base}/…"
        stored = Path(settings.db).read_bytes()
        for secret in (b"slacksecret", b"teamssecret", apis.token.encode()):
            assert secret not in stored and secret.decode() not in listed.stdout


def test_refusals_that_retrying_cannot_mend_are_given_up_with_the_apis_reason(
    seeds: Path, tmp_path: Path
) -> None:
    with chat_apis() as apis:
        apis.script = {"slack": [404] * 5}  # a removed Slack app: no_service
        settings = _settings(tmp_path, apis, telegram_chat_id="-100999", alert_run_retries=0)
        summary = ingest_files([str(seeds)], pipeline_config(settings))
        assert summary.delivery is not None
        assert (summary.delivery.sent, summary.delivery.given_up) == (5, 10)
        listed = newsmon("alerts", "--json", db=settings.db, env=_env(apis, "-100999"))
        errors = {
            (d["channel"], d["state"], d["last_error"])
            for line in listed.stdout.splitlines()
            for d in json.loads(line)["deliveries"]
        }
        assert ("teams", "sent", None) in errors
        assert (
            "telegram",
            "given-up",
            "gave up (permanent error): telegram answered 400 Bad Request:"
            " Bad Request: chat not found",
        ) in errors
        assert (
            "slack",
            "given-up",
            "gave up (permanent error): slack answered 404 Not Found: no_service",
        ) in errors
        assert "telegram" not in apis.posts and "slack" not in apis.posts


def test_alert_rules_show_where_each_chat_channel_sends(tmp_path: Path) -> None:
    with chat_apis() as apis:
        shown = newsmon("alerts", "rules", db=tmp_path / "x.db", env=_env(apis))
        assert shown.returncode == 0, shown.stderr
        assert f"  slack: {apis.base}/…" in shown.stdout
        assert f"  teams: {apis.base}/…" in shown.stdout
        assert f"  telegram: chat {apis.chat_id}" in shown.stdout
        half = newsmon(
            "alerts", "rules", db=tmp_path / "x.db", env={"NEWSMON_TELEGRAM_BOT_TOKEN": "1:x"}
        )
        assert (
            "telegram: NEWSMON_TELEGRAM_BOT_TOKEN is set but NEWSMON_TELEGRAM_CHAT_ID is not"
            in (half.stdout)
        )
