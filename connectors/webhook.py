"""Webhook channel: the alert as JSON, POSTed with an HMAC-SHA256 signature and idempotency key.

Headers a receiver gets:
  Idempotency-Key        the same for every attempt of one message: drop what you have seen
  X-Signature-Timestamp  Unix seconds when this attempt was signed
  X-Signature            sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>
                         (only with NEWSMON_WEBHOOK_SECRET set)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from connectors.alert_channel import DeliveryError
from connectors.alert_messages import webhook_payload
from connectors.fetch import retry_after_seconds
from newsmon.records import AlertMessage, Delivery

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
_RETRYABLE_4XX = {408, 425, 429}
_BODY_IN_ERROR = 200


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature value for a body sent at timestamp (Unix seconds as text)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, tolerance: float = 300.0
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The receiver's URL, the signing secret and the request timeout.

    The URL is a secret too: many receivers take their token in its path.
    """

    url: SecretStr
    secret: SecretStr | None
    timeout: float


class WebhookChannel:
    """POSTs alerts to one URL; a redirect is an error, not followed."""

    name = "webhook"

    def __init__(self, config: WebhookConfig, client: httpx.Client | None = None) -> None:
        self.url = config.url.get_secret_value()
        self.secret = config.secret.get_secret_value() if config.secret else ""
        self.client = client or httpx.Client(
            timeout=config.timeout,
            follow_redirects=False,
            headers={"User-Agent": "newsmon-alerts/0.1"},
        )

    def send(self, delivery: Delivery, message: AlertMessage) -> str | None:
        """POST the message; DeliveryError (permanent for 4xx other than 408/425/429) if refused."""
        body = json.dumps(webhook_payload(message, datetime.now(UTC)), ensure_ascii=False).encode(
            "utf-8"
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": delivery.key,
            TIMESTAMP_HEADER: timestamp,
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"webhook timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return None
        detail = response.text[:_BODY_IN_ERROR].strip()
        reason = f"webhook answered {status} {response.reason_phrase}" + (
            f": {detail}" if detail else ""
        )
        if 300 <= status < 400:
            where = response.headers.get("location", "?")
            raise DeliveryError(f"{reason} (redirect to {where}; set the final URL)", True)
        if status in _RETRYABLE_4XX or status >= 500:
            raise DeliveryError(
                reason, retry_after=retry_after_seconds(response.headers.get("retry-after"))
            )
        raise DeliveryError(reason, permanent=True)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
