"""The composition root: settings become small configs a task in another process can use."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from newsmon.compose import StoreConfig, pipeline_config
from newsmon.errors import ConfigError
from newsmon.settings import Settings, load_settings


def test_the_pipeline_config_pickles_with_its_secrets_hidden_in_text() -> None:
    settings = Settings(
        elasticsearch_url="https://es.example:9200",
        es_password=SecretStr("es-pass"),
        es_username="newsmon",
        smtp_host="smtp.example",
        smtp_password=SecretStr("smtp-pass"),
        webhook_url="https://hooks.example/h",
        webhook_secret=SecretStr("hook-secret"),
        alert_email_to=("analysts@example.org",),
    )
    config = pipeline_config(settings)
    again = pickle.loads(pickle.dumps(config))
    assert again == config
    assert again.elasticsearch is not None and again.elasticsearch.password is not None
    assert again.elasticsearch.password.get_secret_value() == "es-pass"
    assert again.alerts.webhook is not None and again.alerts.webhook.secret is not None
    assert again.alerts.webhook.secret.get_secret_value() == "hook-secret"
    shown = repr(config)
    assert "es-pass" not in shown and "smtp-pass" not in shown and "hook-secret" not in shown


def test_no_channel_or_cluster_configured_means_none() -> None:
    config = pipeline_config(Settings())
    assert config.elasticsearch is None
    assert (config.alerts.smtp, config.alerts.webhook) == (None, None)


def _count_in_child(config: StoreConfig) -> int:
    store = config.open()
    try:
        store.begin_run(["child"])
        return store.count_articles()
    finally:
        store.close()


def test_another_process_opens_the_store_from_its_config(tmp_path: Path) -> None:
    config = StoreConfig(str(tmp_path / "store.db"))
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert pool.submit(_count_in_child, config).result() == 0
    store = config.open()
    try:
        assert store.last_run_id() is not None  # the child's run is in the same file
    finally:
        store.close()


def test_event_durations_from_the_environment_reach_the_event_params(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    monkeypatch.setenv("NEWSMON_EVENT_WINDOW", "1d")
    monkeypatch.setenv("NEWSMON_EVENT_TAIL", "0")
    monkeypatch.setenv("NEWSMON_EVENT_MIN_SCORE", "0.2")
    events = pipeline_config(load_settings()).events
    assert (events.window_hours, events.tail_hours, events.min_score) == (24.0, 0.0, 0.2)
    monkeypatch.setenv("NEWSMON_EVENT_TAIL", "-2h")
    with pytest.raises(ConfigError, match="NEWSMON_EVENT_TAIL='-2h'"):
        load_settings()
