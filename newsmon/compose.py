"""The composition root: the one place `Settings` become the configs stages and adapters take.

Every config here is a small frozen record that pickles, so a task can be sent to another
process (a process or Dask task runner) and open what it needs there: the store, the
Elasticsearch sink, the fetcher, the alert channels, the entity taggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from connectors.chat_channels import ChatWebhookConfig, TelegramConfig
from connectors.elasticsearch import ElasticsearchConfig
from connectors.email import SmtpConfig
from connectors.fetch import FetchConfig
from connectors.webhook import WebhookConfig
from enrich.dedup import DedupParams
from enrich.entities import EntityConfig
from enrich.events import EventParams
from newsmon.alerts.config import AlertConfig
from newsmon.alerts.delivery import RetryPolicy
from newsmon.prepare import PrepareConfig
from newsmon.runner_spec import RunnerSpec, parse_runner_spec
from newsmon.secret_urls import split_credentials
from newsmon.settings import Settings

# The store's config lives apart so that commands reading the store skip this module's
# imports; its names stay importable from here, beside the pipeline's configs.
from newsmon.store_location import StoreConfig as StoreConfig
from newsmon.store_location import open_store as open_store
from newsmon.store_location import store_config as store_config


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything one ingestion run needs, for its flow and every task it submits."""

    store: StoreConfig
    batch_size: int
    feed_batch_size: int
    task_runner: RunnerSpec
    prepare: PrepareConfig
    events: EventParams
    alerts: AlertConfig
    elasticsearch: ElasticsearchConfig | None
    fetch: FetchConfig
    fetch_retry_delay: float
    feeds: Path | None
    follow_symlinks: bool = False


def dedup_params(settings: Settings) -> DedupParams:
    """The dedup parameters named in the settings."""
    return DedupParams(
        shingle=settings.dedup_shingle,
        size=settings.dedup_shingle_size,
        num_perm=settings.dedup_num_perm,
        lsh_threshold=settings.dedup_lsh_threshold,
        min_containment=settings.dedup_min_containment,
        min_shingles=settings.dedup_min_shingles,
    )


def event_params(settings: Settings) -> EventParams:
    """The events parameters named in the settings."""
    return EventParams(
        window_hours=settings.event_window / 3600,
        tail_hours=settings.event_tail / 3600,
        min_score=settings.event_min_score,
    )


def entity_config(settings: Settings) -> EntityConfig:
    """The gazetteer and NER model the settings name."""
    return EntityConfig(settings.gazetteer, settings.ner_model, settings.ner_batch_size)


def prepare_config(settings: Settings) -> PrepareConfig:
    """What preparing a batch needs, from the settings."""
    return PrepareConfig(
        max_file_bytes=settings.max_file_bytes,
        max_text_chars=settings.max_text_chars,
        boilerplate_rules=settings.boilerplate_rules,
        entities=entity_config(settings),
        dedup=dedup_params(settings),
    )


def es_config(settings: Settings) -> ElasticsearchConfig | None:
    """The Elasticsearch cluster and index settings; None when no cluster is configured."""
    if not settings.elasticsearch_url:
        return None
    # Credentials written into the URL travel as secrets, like NEWSMON_ES_PASSWORD: the
    # config is a flow parameter, and Prefect records those in clear.
    url, user, password = split_credentials(settings.elasticsearch_url)
    return ElasticsearchConfig(
        url=url,
        alias=settings.es_alias,
        template=settings.es_template,
        lifecycle=settings.es_lifecycle,
        replicas=settings.es_replicas,
        retention=settings.es_retention,
        batch_size=settings.es_batch_size,
        concurrency=settings.es_concurrency,
        timeout=settings.es_timeout,
        max_retries=settings.es_max_retries,
        api_key=settings.es_api_key,
        username=settings.es_username or user,
        password=settings.es_password or (SecretStr(password) if password is not None else None),
        ca_certs=settings.es_ca_certs,
        verify_certs=settings.es_verify_certs,
        gazetteer=settings.gazetteer,
    )


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The SMTP server for alert emails; None when none is configured."""
    if not settings.smtp_host:
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        sender=settings.alert_email_from,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        ca_certs=settings.smtp_ca_certs,
        timeout=settings.smtp_timeout,
    )


def webhook_config(settings: Settings) -> WebhookConfig | None:
    """The alert webhook; None when none is configured."""
    if not settings.webhook_url:
        return None
    return WebhookConfig(settings.webhook_url, settings.webhook_secret, settings.webhook_timeout)


def chat_configs(
    settings: Settings,
) -> tuple[ChatWebhookConfig | None, ChatWebhookConfig | None, TelegramConfig | None]:
    """The Slack, Teams and Telegram channels' settings; None for each one not configured."""
    timeout = settings.chat_timeout
    slack = settings.slack_webhook_url
    teams = settings.teams_webhook_url
    token, chat = settings.telegram_bot_token, settings.telegram_chat_id
    return (
        ChatWebhookConfig(slack, timeout) if slack else None,
        ChatWebhookConfig(teams, timeout) if teams else None,
        TelegramConfig(token, chat, settings.telegram_api_url, timeout) if token and chat else None,
    )


def alert_config(settings: Settings) -> AlertConfig:
    """Rules, time zone, channels and retry policy for the alert service."""
    slack, teams, telegram = chat_configs(settings)
    return AlertConfig(
        rules=settings.alert_rules,
        timezone=settings.alert_timezone,
        batch_size=settings.batch_size,
        email_to=tuple(settings.alert_email_to),
        smtp=smtp_config(settings),
        webhook=webhook_config(settings),
        slack=slack,
        teams=teams,
        telegram=telegram,
        telegram_token_only=bool(settings.telegram_bot_token and not settings.telegram_chat_id),
        retry=RetryPolicy(
            tuple(settings.alert_backoff), settings.alert_max_attempts, settings.alert_lease_seconds
        ),
        run_retries=settings.alert_run_retries,
        story_events=settings.story_events,
    )


def fetch_config(settings: Settings) -> FetchConfig:
    """The fetcher's limits and manners."""
    return FetchConfig(
        user_agent=settings.fetch_user_agent,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        respect_robots=settings.fetch_respect_robots,
        timeout=settings.fetch_timeout,
        host_delay=settings.fetch_host_delay,
        concurrency=settings.fetch_concurrency,
        allow=tuple(settings.fetch_allow),
    )


def pipeline_config(settings: Settings) -> PipelineConfig:
    """Everything a run needs, from the settings."""
    return PipelineConfig(
        store=store_config(settings),
        batch_size=settings.batch_size,
        feed_batch_size=settings.feed_batch_size,
        task_runner=parse_runner_spec(settings.task_runner),
        prepare=prepare_config(settings),
        events=event_params(settings),
        alerts=alert_config(settings),
        elasticsearch=es_config(settings),
        fetch=fetch_config(settings),
        fetch_retry_delay=settings.fetch_retry_delay,
        feeds=settings.feeds,
        follow_symlinks=settings.follow_symlinks,
    )
