"""What the alert service needs to know, as one small picklable record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from connectors.chat_channels import ChatWebhookConfig, TelegramConfig
from connectors.email import SmtpConfig
from connectors.webhook import WebhookConfig
from newsmon.alerts.delivery import RetryPolicy

StoryEvents = Literal["all", "alerted", "off"]


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """The rules file, the digest day's time zone, the channels and the retry policy."""

    rules: Path | None
    timezone: str
    batch_size: int
    email_to: tuple[str, ...]
    smtp: SmtpConfig | None
    webhook: WebhookConfig | None
    retry: RetryPolicy
    run_retries: int
    # Which new stories become `newsmon.story.new` events.
    story_events: StoryEvents = "all"
    slack: ChatWebhookConfig | None = None
    teams: ChatWebhookConfig | None = None
    telegram: TelegramConfig | None = None
    # A bot token was given without the chat to post to: said, not silently unused.
    telegram_token_only: bool = False
