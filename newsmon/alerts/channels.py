"""Which channels the settings configure, and opening them."""

from __future__ import annotations

from connectors.alert_channel import Channel
from connectors.elasticsearch import redact
from newsmon.alerts.rules import AlertRule
from newsmon.records import ChannelTarget
from newsmon.settings import Settings


def channel_problems(settings: Settings) -> dict[str, str]:
    """Why a channel cannot send, per channel name; empty for a configured channel."""
    problems = {}
    if not settings.smtp_host:
        problems["email"] = "not configured (NEWSMON_SMTP_HOST)"
    if not settings.webhook_url:
        problems["webhook"] = "not configured (NEWSMON_WEBHOOK_URL)"
    return problems


def channel_targets(rule: AlertRule, settings: Settings) -> tuple[ChannelTarget, ...]:
    """The rule's channels that the settings configure, each with where it delivers."""
    targets = []
    problems = channel_problems(settings)
    for name in rule.channels:
        if name in problems:
            continue
        if name == "email":
            recipients = rule.email_to or settings.alert_email_to
            if recipients:
                targets.append(ChannelTarget("email", ", ".join(recipients)))
        elif name == "webhook" and settings.webhook_url:
            targets.append(ChannelTarget("webhook", redact(settings.webhook_url)))
    return tuple(targets)


def open_channels(settings: Settings) -> dict[str, Channel]:
    """A sender for every configured channel."""
    from connectors.email import SmtpChannel
    from connectors.webhook import WebhookChannel

    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = SmtpChannel(settings)
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(settings)
    return channels
