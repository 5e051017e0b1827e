"""One pass over the alert outbox, shared by the flow's deliver task and `newsmon alerts retry`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from newsmon.alerts.channels import open_channels
from newsmon.alerts.check import close_digests, close_updates
from newsmon.alerts.config import AlertConfig
from newsmon.alerts.delivery import OnSent, deliver
from newsmon.alerts.rules import AlertRule
from newsmon.records import DeliveryReport
from newsmon.store.base import Store


@dataclass(frozen=True, slots=True)
class OutboxPass:
    """What one pass did: the deliveries' outcome, digest and update messages written, rows
    requeued, and the outbox's counts after."""

    report: DeliveryReport
    digests: int
    updates: int
    requeued: int
    counts: dict[str, int]


def send_outbox(
    store: Store,
    config: AlertConfig,
    rules: Sequence[AlertRule],
    *,
    ignore_backoff: bool = False,
    requeue_given_up: bool = False,
    on_sent: OnSent | None = None,
) -> OutboxPass:
    """Requeue given-up rows if asked, write due digests and updates, send every due delivery."""
    channels = open_channels(config)
    try:
        requeued = store.requeue_given_up(datetime.now(UTC)) if requeue_given_up else 0
        digests = close_digests(store, rules, config)
        updates = close_updates(store, rules, config)
        report = deliver(
            store, channels, rules, config.retry, ignore_backoff=ignore_backoff, on_sent=on_sent
        )
        return OutboxPass(report, digests, updates, requeued, store.delivery_counts())
    finally:
        for channel in channels.values():
            channel.close()
