"""What every alert channel (email, webhook) offers the delivery loop, and how it fails."""

from __future__ import annotations

from typing import Protocol

from newsmon.records import AlertMessage, Delivery


class DeliveryError(Exception):
    """A message was not delivered. permanent: retrying cannot help (a 4xx, a refused login).

    retry_after: seconds the receiver asked us to wait (HTTP 429/503 Retry-After).
    """

    def __init__(self, reason: str, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


class Channel(Protocol):
    """Sends one alert message; raises DeliveryError when it was not accepted."""

    name: str

    def send(self, delivery: Delivery, message: AlertMessage) -> str | None:
        """Deliver the message to delivery.target, with delivery.key as idempotency key.

        Returns an optional note on a delivery that was accepted with reservations.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
