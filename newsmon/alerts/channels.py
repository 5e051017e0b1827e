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
    if config.slack is None:
        problems["slack"] = "not configured (NEWSMON_SLACK_WEBHOOK_URL)"
    if config.teams is None:
        problems["teams"] = "not configured (NEWSMON_TEAMS_WEBHOOK_URL)"
    if config.telegram_token_only:
        problems["telegram"] = (
            "NEWSMON_TELEGRAM_BOT_TOKEN is set but NEWSMON_TELEGRAM_CHAT_ID is not"
        )
    elif config.telegram is None:
        problems["telegram"] = (
            "not configured (NEWSMON_TELEGRAM_BOT_TOKEN, NEWSMON_TELEGRAM_CHAT_ID)"
        )
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
        elif name in ("slack", "teams") and (chat := getattr(config, name)) is not None:
            targets.append(ChannelTarget(name, origin_only(chat.url.get_secret_value())))
        elif name == "telegram" and config.telegram is not None:
            targets.append(ChannelTarget("telegram", f"chat {config.telegram.chat_id}"))
    return tuple(targets)


def open_channels(config: AlertConfig) -> dict[str, Channel]:
    """A sender for every configured channel."""
    from connectors.chat_channels import SlackChannel, TeamsChannel, TelegramChannel
    from connectors.email import SmtpChannel
    from connectors.webhook import WebhookChannel

    channels: dict[str, Channel] = {}
    if config.smtp is not None:
        channels["email"] = SmtpChannel(config.smtp)
    if config.webhook is not None:
        channels["webhook"] = WebhookChannel(config.webhook)
    if config.slack is not None:
        channels["slack"] = SlackChannel(config.slack)
    if config.teams is not None:
        channels["teams"] = TeamsChannel(config.teams)
    if config.telegram is not None:
        channels["telegram"] = TelegramChannel(config.telegram)
    return channels
