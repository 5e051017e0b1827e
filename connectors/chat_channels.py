"""Chat channels: an alert as a message in Slack, Microsoft Teams or a Telegram chat.

Each gets the alert's plain-text rendering (the email's text part), shaped for its API:
- Slack: an incoming webhook, `{"text": …}` with `&`, `<` and `>` escaped as Slack asks.
- Microsoft Teams: an incoming webhook (a Workflows or connector URL) with an Adaptive
  Card holding the text, right to left for Arabic.
- Telegram: the Bot API's `sendMessage` to one chat; its answer is JSON with `ok`, and a
  refusal's `error_code`, `description` and `parameters.retry_after` decide what is retried.

None of these APIs takes an idempotency key, so a sender that dies after a message was
accepted and before it was marked sent sends it again when its lease ends (email does the
same; the webhook's receiver can drop the resend by its key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.alert_channel import DeliveryError
from connectors.alert_messages import is_rtl, render
from connectors.http_delivery import body_refusal, delivery_client, post
from newsmon.records import AlertMessage, Delivery

# Telegram refuses a text over 4,096 characters.
TELEGRAM_MAX_CHARS = 4096
_CUT_NOTE = "\n… (cut: `newsmon alerts` lists the whole alert)"


@dataclass(frozen=True, slots=True)
class ChatWebhookConfig:
    """A Slack or Teams incoming-webhook URL (its path is the secret) and the request timeout."""

    url: SecretStr
    timeout: float


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """The bot's token, the chat it posts to, the Bot API's address and the request timeout."""

    token: SecretStr
    chat_id: str
    api_url: str
    timeout: float


def _slack_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, most: int) -> str:
    """The text, or as many of its first lines as fit in `most` characters with a note."""
    if len(text) <= most:
        return text
    head = text[: most - len(_CUT_NOTE)]
    return head[: head.rfind("\n")] + _CUT_NOTE if "\n" in head else head + _CUT_NOTE


class _IncomingWebhook:
    """A chat API that takes a JSON body POSTed to a secret URL (Slack, Teams)."""

    name = ""

    def __init__(self, config: ChatWebhookConfig, client: httpx.Client | None = None) -> None:
        self.url = config.url.get_secret_value()
        self.client = client or delivery_client(config.timeout)

    def body(self, message: AlertMessage) -> dict[str, Any]:
        """The JSON the API takes for this message."""
        raise NotImplementedError

    def send(self, delivery: Delivery, message: AlertMessage) -> str | None:
        """POST the message; DeliveryError if the API refuses it."""
        post(self.client, self.url, self.name, json=self.body(message))
        return None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()


class SlackChannel(_IncomingWebhook):
    """Posts alerts to a Slack incoming webhook."""

    name = "slack"

    def body(self, message: AlertMessage) -> dict[str, Any]:
        """The alert's text, escaped as Slack asks, without link previews."""
        return {"text": _slack_escaped(render(message, "txt")), "unfurl_links": False}


class TeamsChannel(_IncomingWebhook):
    """Posts alerts to a Microsoft Teams incoming webhook as an Adaptive Card."""

    name = "teams"

    def body(self, message: AlertMessage) -> dict[str, Any]:
        """A message with one Adaptive Card holding the alert's text."""
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.5",
            "rtl": is_rtl(message),
            "body": [{"type": "TextBlock", "text": render(message, "txt"), "wrap": True}],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }


def _telegram_refusal(response: httpx.Response) -> tuple[str, float | None]:
    """The Bot API's reason (`description`) and wait (`parameters.retry_after`)."""
    try:
        answer = response.json()
    except ValueError:
        return body_refusal(response)
    if not isinstance(answer, dict):
        return str(answer)[:200], None
    parameters = answer.get("parameters")
    wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return str(answer.get("description", "")), float(wait) if isinstance(
        wait, int | float
    ) else None


class TelegramChannel:
    """Sends alerts to one Telegram chat through the Bot API."""

    name = "telegram"

    def __init__(self, config: TelegramConfig, client: httpx.Client | None = None) -> None:
        token = config.token.get_secret_value()
        self.url = f"{config.api_url.rstrip('/')}/bot{token}/sendMessage"
        self.chat_id = config.chat_id
        self.client = client or delivery_client(config.timeout)

    def send(self, delivery: Delivery, message: AlertMessage) -> str | None:
        """Send the alert's text; DeliveryError from the API's own error code and reason."""
        text = render(message, "txt")
        body = {
            "chat_id": self.chat_id,
            "text": _cut(text, TELEGRAM_MAX_CHARS),
            "link_preview_options": {"is_disabled": True},
        }
        response = post(self.client, self.url, self.name, json=body, refusal=_telegram_refusal)
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeliveryError(f"telegram answered {response.status_code} with no JSON") from exc
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            reason = answer.get("description") if isinstance(answer, dict) else None
            raise DeliveryError(f"telegram refused the message: {reason or answer!r}")
        return "cut to Telegram's 4,096 characters" if len(text) > TELEGRAM_MAX_CHARS else None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
