"""Apply the lifecycle policy where the cluster does not: roll over when due, drop old indices."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from connectors.elasticsearch import ElasticsearchSink

log = logging.getLogger("newsmon.elasticsearch")


@dataclass(frozen=True, slots=True)
class RolloverReport:
    """What a lifecycle pass did: the rollover (or why not) and the indices retention removed."""

    rolled_over: bool
    old_index: str
    new_index: str | None
    conditions: dict[str, bool] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    dry_run: bool = False
    managed_by: str = "newsmon"  # or "ilm": the cluster runs the policy itself


def expired(
    created: dict[str, datetime], write_index: str, now: datetime, after: timedelta
) -> list[str]:
    """Indices whose rollover (the creation of the index after them) is `after` ago or more.

    The write index never expires; nor does an index whose successor is unknown.
    """
    ordered = sorted(created, key=lambda index: created[index])
    return [
        index
        for index, successor in pairwise(ordered)
        if index != write_index and now - created[successor] >= after
    ]


def apply_lifecycle(
    sink: ElasticsearchSink, now: bool = False, dry_run: bool = False
) -> RolloverReport:
    """Roll the alias over when the policy's conditions hold (or at once, with `now`), then
    delete indices whose retention has passed. On an ILM cluster only a forced rollover runs
    here; the cluster does the rest itself."""
    policy = sink.policy()
    ilm = sink.has_ilm()
    conditions = policy.rollover_conditions()
    answer: dict[str, object] = {}
    if now or (conditions and not ilm):
        answer = sink.rollover(None if now else conditions, dry_run)
        if answer.get("rolled_over"):
            log.info("%s: rolled %s over to %s", sink.url, answer["old_index"], answer["new_index"])
    deleted: list[str] = []
    delete_after = policy.delete_after()
    if not ilm and delete_after is not None:
        created = sink.created_at()
        deleted = expired(created, sink.write_index(), datetime.now(UTC), delete_after)
        if deleted and not dry_run:
            sink.delete(deleted)
            log.info("%s: deleted %s, older than %s", sink.url, ", ".join(deleted), delete_after)
    rolled = bool(answer.get("rolled_over"))
    checked = answer.get("conditions")
    met = {str(k): bool(v) for k, v in checked.items()} if isinstance(checked, dict) else {}
    return RolloverReport(
        rolled_over=rolled,
        old_index=str(answer.get("old_index") or sink.write_index()),
        new_index=str(answer["new_index"]) if answer and (rolled or dry_run) else None,
        conditions=met,
        deleted=deleted,
        dry_run=dry_run,
        managed_by="ilm" if ilm else "newsmon",
    )
