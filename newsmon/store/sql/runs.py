"""Run log: runs and the inputs each refused."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from newsmon.records import (
    Rejection,
    RejectionRecord,
    RunSummary,
)
from newsmon.store.sql.tables import (
    SQLTables,
    _now,
)


class RunLogTables(SQLTables):
    """The RunLog port."""

    def begin_run(self, inputs: Sequence[str]) -> str:
        """Record the start of a run and return its id."""
        run_id = uuid.uuid4().hex[:12]
        with self._transaction():
            self._db.execute(
                "INSERT INTO runs (id, started_at, inputs, status) VALUES (?, ?, ?, 'running')",
                (run_id, _now(), "\n".join(inputs)),
            )
        return run_id

    def finish_run(self, summary: RunSummary) -> None:
        """Record a run's final counts and status."""
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, read = ?, stored = ?, known = ?,"
                " rejected = ?, seconds = ?, alerts = ? WHERE id = ?",
                (
                    _now(),
                    summary.status,
                    summary.inputs_read,
                    summary.stored,
                    summary.already_known,
                    len(summary.rejected),
                    summary.seconds,
                    summary.alert_tally.total,
                    summary.run_id,
                ),
            )

    def add_rejections(self, run_id: str, rejections: Sequence[Rejection]) -> None:
        """Record rejected inputs against a run."""
        now = _now()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO rejections (run_id, source, stage, reason, at) VALUES (?, ?, ?, ?, ?)",
                [(run_id, r.source, r.stage, r.reason, now) for r in rejections],
            )

    def rejections(self, run_id: str | None = None) -> list[RejectionRecord]:
        """Rejected inputs of one run, or of every run when run_id is None."""
        sql = "SELECT run_id, source, stage, reason, at FROM rejections"
        params: tuple[str, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (run_id,)
        rows = self._db.execute(sql + " ORDER BY id", params)
        return [
            RejectionRecord(
                run_id=r["run_id"],
                source=r["source"],
                stage=r["stage"],
                reason=r["reason"],
                at=datetime.fromisoformat(r["at"]),
            )
            for r in rows
        ]

    def last_run_id(self) -> str | None:
        """Id of the most recently started run, if any."""
        row = self._db.execute(
            "SELECT id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else None
