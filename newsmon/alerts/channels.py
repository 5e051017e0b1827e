"""Which channels the alert config sets up, where each delivers, and opening them."""

from __future__ import annotations

from connectors.alert_channel import Channel
from newsmon.alerts.config import AlertConfig
from newsmon.alerts.rules import AlertRule
from newsmon.records import ChannelTarget
from newsmon.secret_urls import origin_only


def channel_problems(config: AlertConfig) -> dict[str, str]:
    """Why a channel cannot send, per channel name; empty for a configured channel."""
    problems = {}
    if config.smtp is None:
        problems["email"] = "not configured (NEWSMON_SMTP_HOST)"
    if config.webhook is None:
        problems["webhook"] = "not configured (NEWSMON_WEBHOOK_URL)"
    return problems


def channel_targets(rule: AlertRule, config: AlertConfig) -> tuple[ChannelTarget, ...]:
    """The rule's channels that are configured, each with where it delivers."""
    targets = []
    for name in rule.channels:
        if name == "email" and config.smtp is not None:
            recipients = rule.email_to or config.email_to
            if recipients:
                targets.append(ChannelTarget("email", ", ".join(recipients)))
        elif name == "webhook" and config.webhook is not None:
            targets.append(
                ChannelTarget("webhook", origin_only(config.webhook.url.get_secret_value()))
            )
    return tuple(targets)


def open_channels(config: AlertConfig) -> dict[str, Channel]:
    """A sender for every configured channel."""
    from connectors.email import SmtpChannel
    from connectors.webhook import WebhookChannel

    channels: dict[str, Channel] = {}
    if config.smtp is not None:
        channels["email"] = SmtpChannel(config.smtp)
    if config.webhook is not None:
        channels["webhook"] = WebhookChannel(config.webhook)
    return channels
