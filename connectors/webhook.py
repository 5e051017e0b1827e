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

from connectors.alert_messages import webhook_payload
from connectors.http_delivery import delivery_client, post
from newsmon.records import AlertMessage, Delivery

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"


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
        self.client = client or delivery_client(config.timeout)

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
        post(self.client, self.url, self.name, content=body, headers=headers)
        return None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
