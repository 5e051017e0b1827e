"""Feed alerts: silences that fired a `feed_silent` rule, and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from newsmon.ids import delivery_key
from newsmon.records import (
    EVERY_STORY,
    AlertState,
    DeliveryStatus,
    FeedAlert,
    SilenceMatch,
    StoryFilter,
)
from newsmon.store.sql.alert_outbox import AlertOutboxTables, _delivery_status
from newsmon.store.sql.tables import Row, _dt, _ts, fired_between_sql, source_like_sql


def _feed_alert(row: Row) -> FeedAlert:
    return FeedAlert(
        id=int(row["id"]),
        rule=row["rule"],
        feed=row["feed"],
        url=row["url"],
        quiet_since=datetime.fromisoformat(row["quiet_since"]),
        matched_at=datetime.fromisoformat(row["matched_at"]),
        state=AlertState(row["state"]),
        last_poll_at=_dt(row["last_poll_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
    )


_SELECT = (
    "SELECT fa.*, f.last_poll_at, f.last_status, f.last_error FROM feed_alerts fa"
    " LEFT JOIN feeds f ON f.name = fa.feed"
)


class FeedAlertTables(AlertOutboxTables):
    """The FeedAlerts port (its deliveries go through the alert outbox)."""

    def record_feed_alerts(
        self, run_id: str | None, found: Sequence[SilenceMatch], now: datetime
    ) -> list[FeedAlert]:
        """Record each silence once per rule, with a delivery per channel; the new ones."""
        at = _ts(now)
        created: list[int] = []
        with self._transaction():
            for match in found:
                state = AlertState.QUEUED if match.channels else AlertState.RECORDED
                inserted = self._db.execute(
                    "INSERT INTO feed_alerts (rule, feed, url, quiet_since, run_id, matched_at,"
                    " state) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                    (match.rule, match.feed, match.url, _ts(match.quiet_since), run_id, at, state),
                ).fetchone()
                if inserted is None:
                    continue  # this silence already alerted for this rule
                alert_id = int(inserted[0])
                created.append(alert_id)
                silence = f"feed-silent:{match.feed}:{_ts(match.quiet_since)}"
                for target in match.channels:
                    key = delivery_key(match.rule, silence, target.channel)
                    self._add_delivery(
                        key, match.rule, target, "feed-silent", None, at, [], alert_id
                    )
        return self.feed_alerts_by_id(created)

    def feed_alerts_by_id(self, ids: Sequence[int]) -> list[FeedAlert]:
        """Feed alerts with their deliveries, in the order asked for (unknown ids left out)."""
        found = {
            int(row["id"]): _feed_alert(row)
            for row in self._rows_in(_SELECT + " WHERE fa.id IN ({marks})", ids)
        }
        deliveries: dict[int, list[DeliveryStatus]] = {}
        for row in self._rows_in(
            "SELECT * FROM deliveries WHERE feed_alert_id IN ({marks}) ORDER BY id", ids
        ):
            deliveries.setdefault(int(row["feed_alert_id"]), []).append(_delivery_status(row))
        return [
            replace(found[i], deliveries=tuple(deliveries.get(i, ()))) for i in ids if i in found
        ]

    def feed_alerts(
        self,
        rule: str | None = None,
        limit: int = 50,
        unsent: bool = False,
        wanted: StoryFilter = EVERY_STORY,
    ) -> list[FeedAlert]:
        """Feed alerts, newest first; unsent: only those with a delivery not sent.

        The filter's since/until bound when an alert fired, its sources the feed's name or
        address; a filter on languages admits none (a silence has no language).
        """
        if wanted.langs:
            return []
        sql, params = fired_between_sql(wanted, "fa.matched_at")
        sql = "SELECT id FROM feed_alerts fa WHERE 1 = 1" + sql
        if wanted.sources:
            like, like_params = source_like_sql("fa.url", wanted.sources)
            sql += f" AND (fa.feed IN ({', '.join('?' * len(wanted.sources))}) OR {like})"
            params += [*wanted.sources, *like_params]
        if rule:
            sql += " AND rule = ?"
            params.append(rule)
        if unsent:
            sql += (
                " AND EXISTS (SELECT 1 FROM deliveries d"
                " WHERE d.feed_alert_id = fa.id AND d.state != 'sent')"
            )
        rows = self._db.execute(
            sql + " ORDER BY matched_at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return self.feed_alerts_by_id([int(row[0]) for row in rows])
