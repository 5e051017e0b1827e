"""What every alert channel (email, webhook) offers the delivery loop, and how it fails."""

from __future__ import annotations

from typing import Protocol

from newsmon.errors import ExternalError
from newsmon.records import AlertMessage, Delivery


class DeliveryError(ExternalError):
    """A message was not delivered (permanent and retry_after as in ExternalError)."""


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
