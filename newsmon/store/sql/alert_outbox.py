"""Alert outbox: the queue of stories to check, alerts, deliveries and leases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from newsmon.ids import delivery_key
from newsmon.records import (
    EVERY_STORY,
    AlertRecord,
    AlertState,
    AlertUpdate,
    Article,
    ChannelTarget,
    Delivery,
    DeliveryState,
    DeliveryStatus,
    PendingUpdates,
    RuleMatch,
    StoryFilter,
)
from newsmon.store.sql.tables import (
    Row,
    SQLTables,
    _dt,
    _ts,
    fired_between_sql,
    story_filter_sql,
)


def _delivery_status(row: Row) -> DeliveryStatus:
    return DeliveryStatus(
        id=int(row["id"]),
        channel=row["channel"],
        target=row["target"],
        state=DeliveryState(row["state"]),
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        sent_at=_dt(row["sent_at"]),
        next_attempt_at=_dt(row["next_attempt_at"]) if row["state"] == "pending" else None,
        kind=row["kind"],
    )


class AlertOutboxTables(SQLTables):
    """The AlertOutbox port."""

    def alert_queue(self, limit: int) -> list[Article]:
        """Stored articles the alert rules have not been checked against yet, oldest first."""
        rows = self._db.execute(
            "SELECT q.article_id FROM alert_queue q JOIN articles a ON a.id = q.article_id"
            " ORDER BY a.rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return self.articles_by_id([row[0] for row in rows])

    def record_alerts(
        self, run_id: str | None, checked: Sequence[str], found: Sequence[RuleMatch], now: datetime
    ) -> tuple[list[AlertRecord], list[str]]:
        """Take checked articles off the queue and record their rule matches, in one transaction.

        Returns the alerts that are new (a rule alerts once per story key, whoever records
        it first) and the article ids this call took off the queue.
        """
        at = _ts(now)
        created: list[int] = []
        with self._transaction():
            taken = {
                article_id
                for article_id in checked
                if self._db.execute(
                    "DELETE FROM alert_queue WHERE article_id = ?", (article_id,)
                ).rowcount
            }
            for match in found:
                if match.article_id not in taken:
                    continue  # another run checked it first
                state = self._alert_state(match, now)
                inserted = self._db.execute(
                    "INSERT INTO alerts"
                    " (rule, story_key, article_id, run_id, matched_at, state)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                    (match.rule, match.story_key, match.article_id, run_id, at, state),
                ).fetchone()
                if inserted is None:
                    if match.update:
                        self._add_update(match, run_id, at)
                    continue  # this story (or event) already alerted for this rule
                alert_id = int(inserted[0])
                created.append(alert_id)
                # Its indexed document lists the rules that alerted on it: send it again.
                self._db.execute("DELETE FROM es_sync WHERE article_id = ?", (match.article_id,))
                if state == AlertState.QUEUED:
                    for target in match.channels:
                        key = delivery_key(match.rule, match.story_key, target.channel)
                        self._add_delivery(key, match.rule, target, "alert", None, at, [alert_id])
        return self.alerts_by_id(created), [i for i in checked if i in taken]

    def _add_update(self, match: RuleMatch, run_id: str | None, at: str) -> None:
        """List a later story of an alerted event under that event's alert.

        It waits for an update message when the rule sends them and the alert was sent
        (not throttled, and a channel was configured).
        """
        self._db.execute(
            "INSERT INTO alert_updates"
            " (alert_id, article_id, run_id, matched_at, pending)"
            " SELECT id, ?, ?, ?, CASE WHEN ? AND state = 'queued' THEN 1 END"
            " FROM alerts WHERE rule = ? AND story_key = ? AND article_id != ?"
            " ON CONFLICT DO NOTHING",
            (
                match.article_id,
                run_id,
                at,
                match.update_message,
                match.rule,
                match.story_key,
                match.article_id,
            ),
        )

    def pending_updates(self, rule: str) -> list[PendingUpdates]:
        """A rule's alerts with later stories waiting for an update message, oldest first."""
        rows = self._db.execute(
            "SELECT u.alert_id, al.story_key, u.article_id FROM alert_updates u"
            " JOIN alerts al ON al.id = u.alert_id JOIN articles ar ON ar.id = u.article_id"
            " WHERE u.pending = 1 AND al.rule = ? ORDER BY u.alert_id, u.matched_at, ar.rowid",
            (rule,),
        ).fetchall()
        found = []
        for alert_id, group in groupby(rows, key=lambda row: int(row[0])):
            members = list(group)
            last = self._db.execute(
                "SELECT max(d.created_at) FROM deliveries d"
                " JOIN delivery_alerts da ON da.delivery_id = d.id WHERE da.alert_id = ?",
                (alert_id,),
            ).fetchone()[0]
            found.append(
                PendingUpdates(
                    alert_id=alert_id,
                    rule=rule,
                    story_key=members[0][1],
                    article_ids=tuple(row[2] for row in members),
                    last_message_at=_dt(last),
                )
            )
        return found

    def add_updates(
        self, pending: PendingUpdates, channels: Sequence[ChannelTarget], now: datetime
    ) -> int:
        """Write one update delivery per channel with the alert's waiting later stories.

        Returns how many were written; stories another sender already put in a message are
        left out, and with no channel the stories stop waiting.
        """
        at = _ts(now)
        with self._transaction():
            fresh = [
                article_id
                for article_id in pending.article_ids
                if self._db.execute(
                    "SELECT 1 FROM alert_updates WHERE alert_id = ? AND article_id = ?"
                    " AND pending = 1",
                    (pending.alert_id, article_id),
                ).fetchone()
            ]
            if not fresh:
                return 0
            for target in channels:
                key = delivery_key(
                    pending.rule, f"{pending.story_key}:update:{fresh[0]}", target.channel
                )
                delivery_id = self._add_delivery(
                    key, pending.rule, target, "update", None, at, [pending.alert_id]
                )
                self._db.executemany(
                    "INSERT INTO delivery_updates VALUES (?, ?)",
                    [(delivery_id, article_id) for article_id in fresh],
                )
            self._db.executemany(
                "UPDATE alert_updates SET pending = NULL WHERE alert_id = ? AND article_id = ?",
                [(pending.alert_id, article_id) for article_id in fresh],
            )
        return len(channels)

    def _alert_state(self, match: RuleMatch, now: datetime) -> AlertState:
        if match.digest:
            return AlertState.DIGEST
        if match.throttle_seconds > 0:
            since = _ts(now - timedelta(seconds=match.throttle_seconds))
            recent = self._db.execute(
                "SELECT 1 FROM alerts WHERE rule = ? AND state IN ('queued', 'recorded')"
                " AND matched_at > ? LIMIT 1",
                (match.rule, since),
            ).fetchone()
            if recent:
                return AlertState.THROTTLED
        return AlertState.QUEUED if match.channels else AlertState.RECORDED

    def _add_delivery(
        self,
        key: str,
        rule: str,
        target: ChannelTarget,
        kind: str,
        day: str | None,
        at: str,
        alert_ids: Sequence[int],
        feed_alert_id: int | None = None,
    ) -> int:
        delivery_id = int(
            self._db.execute(
                "INSERT INTO deliveries (key, rule, channel, kind, target, digest_day, state,"
                " created_at, next_attempt_at, feed_alert_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING id",
                (key, rule, target.channel, kind, target.target, day, at, at, feed_alert_id),
            ).fetchone()[0]
        )
        self._db.executemany(
            "INSERT INTO delivery_alerts VALUES (?, ?)",
            [(delivery_id, alert_id) for alert_id in alert_ids],
        )
        return delivery_id

    def undigested(self, rule: str) -> list[tuple[int, datetime]]:
        """A digest rule's alerts not yet in a digest: (alert id, matched at), oldest first."""
        rows = self._db.execute(
            "SELECT id, matched_at FROM alerts a WHERE rule = ? AND state = 'digest'"
            " AND NOT EXISTS (SELECT 1 FROM delivery_alerts d WHERE d.alert_id = a.id)"
            " ORDER BY matched_at, id",
            (rule,),
        ).fetchall()
        return [(int(r[0]), datetime.fromisoformat(r[1])) for r in rows]

    def add_digest(
        self,
        rule: str,
        day: str,
        alert_ids: Sequence[int],
        channels: Sequence[ChannelTarget],
        now: datetime,
    ) -> int:
        """Write one digest delivery per channel for a rule's day; returns how many were written.

        Alerts that reach a day whose digest was already sent (a run that matched just
        before midnight and stored just after) go into a second digest for that day.
        """
        at = _ts(now)
        written = 0
        with self._transaction():
            fresh = [
                alert_id
                for alert_id in alert_ids
                if not self._db.execute(
                    "SELECT 1 FROM delivery_alerts WHERE alert_id = ?", (alert_id,)
                ).fetchone()
            ]
            if not fresh:
                return 0
            if not channels:
                # Nothing to send through: mark them recorded so they leave the digest queue.
                self._db.executemany(
                    "UPDATE alerts SET state = 'recorded' WHERE id = ?", [(i,) for i in fresh]
                )
                return 0
            for target in channels:
                part = 1
                key = delivery_key(rule, f"digest:{day}", target.channel)
                while self._db.execute("SELECT 1 FROM deliveries WHERE key = ?", (key,)).fetchone():
                    part += 1
                    key = delivery_key(rule, f"digest:{day}:{part}", target.channel)
                self._add_delivery(key, rule, target, "digest", day, at, fresh)
                written += 1
        return written

    def claim_deliveries(
        self,
        owner: str,
        channels: Sequence[str],
        now: datetime,
        lease_seconds: float,
        after_id: int = 0,
        limit: int = 50,
        ignore_backoff: bool = False,
    ) -> list[Delivery]:
        """Reserve pending deliveries that are due (and not reserved) for this sender.

        One write transaction selects and reserves, so two senders never hold the same
        delivery; a sender that dies leaves its reservation to expire after lease_seconds.
        Each claim counts as an attempt.
        """
        if not channels:
            return []
        at = _ts(now)
        marks = ",".join("?" * len(channels))
        due = "" if ignore_backoff else " AND next_attempt_at <= ?"
        params: list[Any] = [*channels, after_id]
        if not ignore_backoff:
            params.append(at)
        with self._claim_transaction():
            rows = self._db.execute(
                f"SELECT id FROM deliveries WHERE state = 'pending' AND channel IN ({marks})"
                f" AND id > ?{due} AND (lease_until IS NULL OR lease_until <= ?)"
                f" ORDER BY id LIMIT ?{self._SKIP_LOCKED_SQL}",
                (*params, at, limit),
            ).fetchall()
            ids = [int(row[0]) for row in rows]
            until = _ts(now + timedelta(seconds=lease_seconds))
            self._db.executemany(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(owner, until, i) for i in ids],
            )
        return self._deliveries(ids)

    def _deliveries(self, ids: Sequence[int]) -> list[Delivery]:
        result = []
        for i in ids:
            row = self._db.execute("SELECT * FROM deliveries WHERE id = ?", (i,)).fetchone()
            alerted = self._db.execute(
                "SELECT a.article_id, a.story_key FROM delivery_alerts d"
                " JOIN alerts a ON a.id = d.alert_id WHERE d.delivery_id = ?"
                " ORDER BY a.matched_at, a.id",
                (i,),
            ).fetchall()
            articles = [r[0] for r in alerted]
            replies_to = head = None
            if row["kind"] == "update":
                # It replies to its alert's message on the same channel, whose key is known.
                [(head, story_key)] = alerted
                replies_to = delivery_key(row["rule"], story_key, row["channel"])
                articles = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT du.article_id FROM delivery_updates du"
                        " JOIN articles ar ON ar.id = du.article_id"
                        " WHERE du.delivery_id = ? ORDER BY ar.rowid",
                        (i,),
                    )
                ]
            result.append(
                Delivery(
                    id=i,
                    key=row["key"],
                    rule=row["rule"],
                    channel=row["channel"],
                    kind=row["kind"],
                    target=row["target"],
                    attempts=int(row["attempts"]),
                    digest_day=row["digest_day"],
                    article_ids=tuple(articles),
                    replies_to=replies_to,
                    head_id=head,
                    feed_alert_id=row["feed_alert_id"],
                )
            )
        return result

    def mark_sent(self, delivery_id: int, at: datetime, note: str | None = None) -> None:
        """Record that the channel accepted the message (note: what it said, if anything)."""
        with self._transaction():
            self._db.execute(
                "UPDATE deliveries SET state = 'sent', sent_at = ?, last_error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                (_ts(at), note, delivery_id),
            )

    def mark_failed(
        self, delivery_id: int, owner: str, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: pending again from retry_at, or given up when it is None."""
        state = DeliveryState.PENDING if retry_at else DeliveryState.GIVEN_UP
        with self._transaction():
            self._db.execute(
                "UPDATE deliveries SET state = ?, last_error = ?,"
                " next_attempt_at = coalesce(?, next_attempt_at),"
                " lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ? AND state = 'pending'",
                (str(state), error, _ts(retry_at) if retry_at else None, delivery_id, owner),
            )

    def requeue_given_up(self, now: datetime) -> int:
        """Make every given-up delivery pending again (after fixing what refused it)."""
        with self._transaction():
            return self._db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?"
                " WHERE state = 'given-up'",
                (_ts(now),),
            ).rowcount

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries per state: pending, sent, given-up."""
        counts = {str(state): 0 for state in DeliveryState}
        counts.update(
            self._db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        )
        return counts

    def alerts(
        self,
        rule: str | None = None,
        limit: int = 50,
        unsent: bool = False,
        wanted: StoryFilter = EVERY_STORY,
    ) -> list[AlertRecord]:
        """Alerts, newest first, with their deliveries; unsent: only those with one not sent.

        The filter's since/until bound when an alert fired; its sources and languages are
        the alerted story's.
        """
        story_where, params = story_filter_sql(wanted, article="ar", times=False)
        sql = (
            "SELECT a.id FROM alerts a JOIN articles ar ON ar.id = a.article_id"
            f" WHERE 1 = 1{story_where}"
        )
        fired_where, fired_params = fired_between_sql(wanted, "a.matched_at")
        sql += fired_where
        params += fired_params
        if rule:
            sql += " AND a.rule = ?"
            params.append(rule)
        if unsent:
            sql += (
                " AND EXISTS (SELECT 1 FROM delivery_alerts da JOIN deliveries d"
                " ON d.id = da.delivery_id WHERE da.alert_id = a.id AND d.state != 'sent')"
            )
        rows = self._db.execute(
            sql + " ORDER BY a.matched_at DESC, a.id DESC LIMIT ?", (*params, limit)
        )
        return self.alerts_by_id([int(row[0]) for row in rows])

    def alerts_by_id(self, ids: Sequence[int]) -> list[AlertRecord]:
        """Alerts with their deliveries, in the order asked for (unknown ids left out)."""
        # Three queries per chunk of ids, not three per alert: a run's check reads back every
        # alert it made, and on a server each query is a round trip.
        alerts = {
            int(row["id"]): row
            for row in self._rows_in(
                "SELECT al.*, ar.title, ar.cluster_id, ar.event_id FROM alerts al"
                " JOIN articles ar ON ar.id = al.article_id WHERE al.id IN ({marks})",
                ids,
            )
        }
        updates: dict[int, list[AlertUpdate]] = {}
        for u in self._rows_in(
            "SELECT u.alert_id, u.article_id, ar.title, u.matched_at, EXISTS (SELECT 1"
            " FROM delivery_updates du JOIN delivery_alerts da"
            " ON da.delivery_id = du.delivery_id"
            " WHERE da.alert_id = u.alert_id AND du.article_id = u.article_id)"
            " FROM alert_updates u JOIN articles ar ON ar.id = u.article_id"
            " WHERE u.alert_id IN ({marks}) ORDER BY u.alert_id, u.matched_at, ar.rowid",
            ids,
        ):
            updates.setdefault(int(u[0]), []).append(
                AlertUpdate(u[1], u[2], datetime.fromisoformat(u[3]), bool(u[4]))
            )
        deliveries: dict[int, list[DeliveryStatus]] = {}
        for d in self._rows_in(
            "SELECT da.alert_id, d.* FROM deliveries d JOIN delivery_alerts da"
            " ON da.delivery_id = d.id WHERE da.alert_id IN ({marks}) ORDER BY da.alert_id, d.id",
            ids,
        ):
            deliveries.setdefault(int(d["alert_id"]), []).append(_delivery_status(d))
        return [
            AlertRecord(
                id=i,
                rule=row["rule"],
                article_id=row["article_id"],
                cluster_id=row["cluster_id"] or row["article_id"],
                title=row["title"],
                matched_at=datetime.fromisoformat(row["matched_at"]),
                run_id=row["run_id"],
                state=AlertState(row["state"]),
                deliveries=tuple(deliveries.get(i, ())),
                event_id=row["event_id"],
                updates=tuple(updates.get(i, ())),
            )
            for i in ids
            if (row := alerts.get(i)) is not None
        ]
