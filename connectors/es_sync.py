"""Keep Elasticsearch in step with the store: send what it has not acknowledged, or rebuild."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.elasticsearch import ElasticsearchSink, IndexOutcome, SinkUnavailable, es_document
from connectors.es_rollover import RolloverReport, apply_lifecycle
from connectors.es_status import StatusIndices
from newsmon.records import Article, Rejection, StoryFilter, as_utc
from newsmon.stages import batched
from newsmon.store.base import Store

log = logging.getLogger("newsmon.elasticsearch")

# Alerts sent to the alerts index on each sync: those fired within STATUS_DAYS, at most
# STATUS_LIMIT (story alerts and feed alerts each).
STATUS_DAYS = 30
STATUS_LIMIT = 5000


@dataclass(slots=True)
class SyncResult:
    """What a sync did: documents acknowledged, refused (with reasons), still pending."""

    indexed: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    pending: int = 0
    error: str | None = None
    rollover: RolloverReport | None = None
    # Documents written to the alerts and feeds indices (connectors.es_status).
    status: int = 0
    # Stories a reindex left out: past the retention, removed from the cluster.
    expired: int = 0


def _send(
    store: Store, sink: ElasticsearchSink, articles: list[Article], index: str | None = None
) -> tuple[IndexOutcome, list[Rejection]]:
    ids = [a.id for a in articles]
    sources, rules = store.sources_for(ids), store.alert_rules_for(ids)
    outcome = sink.index(
        (es_document(a, sources[a.id], rules[a.id], sink.entity_names) for a in articles),
        index=index,
    )
    store.es_mark(outcome.indexed, outcome.rejected)
    source_of = {a.id: a.source for a in articles}
    rejections = [
        Rejection(source_of.get(doc_id, doc_id), "elasticsearch", f"not indexed: {reason}")
        for doc_id, reason in outcome.rejected
    ]
    return outcome, rejections


def send_status(store: Store, sink: ElasticsearchSink, now: datetime | None = None) -> int:
    """Bring the alerts and feeds indices up to date; how many documents were written.

    Alerts of the last STATUS_DAYS days (their delivery state still moves), at most
    STATUS_LIMIT of each kind, and every feed. A document Elasticsearch refuses is logged:
    the store keeps the alert either way.
    """
    now = now or datetime.now(UTC)
    recent = StoryFilter(since=now - timedelta(days=STATUS_DAYS))
    status = StatusIndices(sink)
    status.setup()
    outcome = status.send(
        store.alerts(limit=STATUS_LIMIT, wanted=recent),
        store.feed_alerts(limit=STATUS_LIMIT, wanted=recent),
        list(store.feed_states().values()),
        now,
    )
    for doc_id, reason in outcome.rejected:
        log.warning("%s: status document %s not indexed: %s", sink.url, doc_id, reason)
    return len(outcome.indexed)


def sync(
    store: Store, sink: ElasticsearchSink, setup: bool = True, upkeep: bool = True
) -> SyncResult:
    """Send every article Elasticsearch has not acknowledged; stop early if it is unavailable.

    Nothing is lost either way: an article stays pending until Elasticsearch acknowledges
    it (indexed) or refuses it (rejected, with Elasticsearch's reason). `setup` installs the
    template first; `upkeep` then applies the lifecycle (where newsmon runs it) and brings
    the alerts and feeds indices up to date. A run does both once, not for every batch it
    indexes: they resend every recent alert and feed, whatever the batch held.
    """
    result = SyncResult()
    try:
        if setup:
            sink.setup()
        while articles := store.es_pending(sink.batch_size * sink.concurrency):
            outcome, rejections = _send(store, sink, articles)
            result.indexed += len(outcome.indexed)
            result.rejected += rejections
            if outcome.retry_later:  # overloaded even after backoff: try again next run
                break
        if upkeep:
            # Without ILM nobody else rolls the index over: each upkeep is newsmon's chance to.
            if not sink.has_ilm():
                result.rollover = apply_lifecycle(sink)
            result.status = send_status(store, sink)
    except SinkUnavailable as exc:
        result.error = str(exc)
        log.warning("%s; unsent stories stay in the store and go next time", exc)
    result.pending = store.es_counts()["pending"]
    return result


def reindex(
    store: Store, sink: ElasticsearchSink, keep_old: bool = False, now: datetime | None = None
) -> tuple[SyncResult, str, list[str]]:
    """Build a fresh index from the store with the current template, then swap the alias.

    Returns the result, the new index and the old ones, deleted once the alias answers
    with every document (kept, off the alias, with `keep_old`). Until the swap, readers
    keep using the old index. A reindex that was interrupted left its index behind: the
    next one finds it and sends every story to it again (documents are keyed by story id,
    so nothing is doubled). The alias moves only when the new index holds every story the
    cluster accepted; otherwise SinkUnavailable says what is missing and the old index stays.
    Stories first indexed longer ago than the retention (the policy's delete phase) are not
    sent: retention has removed them, and a new index would keep them for another term.
    They are recorded as expired.
    """
    result = SyncResult()
    sink.setup()
    new, resumed = sink.reindex_target()
    if resumed:
        log.info("%s: %s is left from an interrupted reindex; resuming it", sink.url, new)
    store.es_reset()
    after = sink.policy().delete_after()
    cutoff = (now or datetime.now(UTC)) - after if after else None
    stories = 0
    for batch in batched(store.iter_articles(), sink.batch_size * sink.concurrency):
        live = [a for a in batch if cutoff is None or as_utc(a.ingested_at) >= cutoff]
        if len(live) < len(batch):
            why = f"past retention: indexed before {cutoff:%Y-%m-%d %H:%M} UTC, not sent again"
            kept = {a.id for a in live}
            store.es_mark([], [], [(a.id, why) for a in batch if a.id not in kept])
            result.expired += len(batch) - len(live)
        if not live:
            continue
        outcome, rejections = _send(store, sink, live, index=new)
        stories += len(live)
        result.indexed += len(outcome.indexed)
        result.rejected += rejections
    expected = stories - len(result.rejected)
    held = sink.index_count(new)
    if held != expected:
        raise SinkUnavailable(
            f"{sink.url}: {new} holds {held} documents, expected {expected} ({stories} stories,"
            f" {len(result.rejected)} refused); the alias stays on the old index;"
            " run `newsmon es reindex` again"
        )
    old = sink.switch_alias(new, expected, keep_old)
    result.status = send_status(store, sink)
    result.pending = store.es_counts()["pending"]
    return result, new, old
