"""The stages every ingestion shares, as Prefect tasks, and one run's progress over batches.

Files (`ingest-files`) and feeds (`poll-feeds`) differ only in how they get raw items; from
there each batch goes decode → extract → build-articles → entities → dedup → store →
check-alerts → deliver-alerts → index-elasticsearch, one task run per stage per batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import task_run

from connectors.decode import decode_batch
from connectors.elasticsearch import ElasticsearchConfig, ElasticsearchSink
from connectors.es_sync import SyncResult, sync
from enrich.article import build_articles
from enrich.boilerplate import load_rules
from enrich.dedup import DedupParams, fingerprint_batch, fingerprinter_for, store_stories
from enrich.entities import tag_articles
from enrich.extract import extract_batch
from flows.events import emit_alert_sent, emit_new_stories
from newsmon.alerts.check import check_new_stories
from newsmon.alerts.config import AlertConfig
from newsmon.alerts.outbox import send_outbox
from newsmon.alerts.rules import load_alert_rules
from newsmon.compose import EntityConfig, PipelineConfig, StoreConfig
from newsmon.errors import ExternalError, StoreError
from newsmon.records import (
    AlertRecord,
    Article,
    CleanItem,
    DecodedItem,
    DeliveryReport,
    Fingerprint,
    RawItem,
    Rejection,
    RunSummary,
    StageOutput,
    StageTiming,
    StoreResult,
)
from newsmon.store.base import Store


def may_pass_on_retry(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry I/O failures (a locked database, a flaky disk), never a store unusable as set up."""
    return not isinstance(state.data, StoreError)


# Batches are large and never reused: hashing them for a cache key would cost more than the work.
@task(name="decode", cache_policy=NO_CACHE)
def decode_task(items: list[RawItem]) -> StageOutput[DecodedItem]:
    """Detect encodings and decode a batch."""
    return decode_batch(items)


@task(name="extract", cache_policy=NO_CACHE)
def extract_task(items: list[DecodedItem], rules: Path | None) -> StageOutput[CleanItem]:
    """Extract headline and clean text for a batch."""
    return extract_batch(items, load_rules(rules))


@task(name="build-articles", cache_policy=NO_CACHE)
def build_task(items: list[CleanItem], ingested_at: datetime) -> StageOutput[Article]:
    """Normalise, identify language and assign ids for a batch."""
    return build_articles(items, ingested_at)


@task(name="entities", cache_policy=NO_CACHE)
def entities_task(articles: list[Article], config: EntityConfig) -> StageOutput[Article]:
    """Tag people, places and organisations with canonical ids (gazetteer, optional NER)."""
    tagger, ner = config.taggers()
    return tag_articles(articles, tagger, ner)


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(articles: list[Article], params: DedupParams) -> StageOutput[Fingerprint]:
    """Shingle and MinHash a batch into LSH band keys."""
    return fingerprint_batch(articles, fingerprinter_for(params))


@task(name="index-elasticsearch", cache_policy=NO_CACHE)
def index_task(store_at: StoreConfig, es: ElasticsearchConfig, run_id: str) -> SyncResult:
    """Send what Elasticsearch has not acknowledged yet (this batch and any backlog)."""
    store = store_at.open()
    try:
        result = sync(store, ElasticsearchSink(es))
        store.add_rejections(run_id, result.rejected)
        return result
    finally:
        store.close()


@task(
    name="store",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=[1, 5, 15],
    retry_condition_fn=may_pass_on_retry,
)
def store_task(
    store_at: StoreConfig,
    params: DedupParams,
    run_id: str,
    fingerprints: list[Fingerprint],
    rejections: list[Rejection],
) -> StoreResult:
    """Link each new article to its story and store the batch (idempotent by article id)."""
    store = store_at.open()
    try:
        result = store_stories(store, fingerprints, run_id, params)
        store.add_rejections(run_id, rejections)
        return result
    finally:
        store.close()


@task(name="check-alerts", cache_policy=NO_CACHE)
def alerts_task(store_at: StoreConfig, config: AlertConfig, run_id: str) -> list[AlertRecord]:
    """Check the alert rules against new stories, record what fired, emit story events."""
    store = store_at.open()
    try:
        checked = check_new_stories(store, load_alert_rules(config.rules), config, run_id)
    finally:
        store.close()
    emit_new_stories(checked.new_stories)
    return checked.alerts


class DeliveryIncomplete(ExternalError):
    """Some deliveries failed and will be retried (the task's retries, then later runs)."""


def _retry_if_incomplete(task: Any, task_run: Any, state: State[Any]) -> bool:
    return isinstance(state.data, DeliveryIncomplete)


@task(name="deliver-alerts", cache_policy=NO_CACHE, retry_condition_fn=_retry_if_incomplete)
def deliver_task(store_at: StoreConfig, config: AlertConfig) -> DeliveryReport:
    """Close finished digest days and send every due delivery in the outbox."""
    rules = load_alert_rules(config.rules)
    store = store_at.open()
    try:
        report = send_outbox(store, config, rules, on_sent=emit_alert_sent).report
    finally:
        store.close()
    # Raising makes Prefect retry after the next backoff step; the last try returns instead,
    # leaving what still failed pending for a later run or `newsmon alerts retry`.
    if report.retrying and task_run.run_count <= config.run_retries:
        raise DeliveryIncomplete("; ".join(report.errors))
    return report


def _deliver_with_retries(store_at: StoreConfig, config: AlertConfig) -> DeliveryReport:
    retries, backoff = config.run_retries, config.retry.backoff
    delays = [backoff[min(i, len(backoff) - 1)] for i in range(retries)]
    return deliver_task.with_options(retries=retries, retry_delay_seconds=delays)(store_at, config)


class Clock:
    """Wall time and item counts per stage over a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.items: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str, n_in: int) -> Iterator[None]:
        """Time the block as part of a stage that took n_in items."""
        start = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        self.items[name] = self.items.get(name, 0) + n_in

    def timings(self) -> list[StageTiming]:
        """Per-stage totals, in the order the stages first ran."""
        return [StageTiming(s, self.seconds[s], self.items[s]) for s in self.seconds]


class PipelineRun:
    """One run's progress over its batches: counts, rejections, timings, alerts, sinks."""

    def __init__(self, config: PipelineConfig, store: Store, inputs: Sequence[str]) -> None:
        self.config = config
        self.store = store
        self.run_id = store.begin_run(list(inputs))
        self.started = time.perf_counter()
        self.clock = Clock()
        self.rejected: list[Rejection] = []
        self.read = self.stored = self.known = self.es_indexed = 0
        # After one failed attempt a run stops trying: every batch would wait for the timeout.
        self.es = SyncResult()
        self.alert_ids: list[int] = []
        self.delivery = DeliveryReport()

    def reject(self, rejections: Sequence[Rejection]) -> None:
        """Record inputs refused before the shared stages (a missing path, a feed error)."""
        if rejections:
            self.store.add_rejections(self.run_id, rejections)
            self.rejected.extend(rejections)

    def process(self, loaded: StageOutput[RawItem]) -> tuple[StoreResult, list[Rejection]]:
        """Run one batch of raw items through every shared stage; its store result and refusals."""
        config, clock = self.config, self.clock
        with clock.stage("decode", len(loaded.items)):
            decoded = decode_task(loaded.items)
        with clock.stage("extract", len(decoded.items)):
            cleaned = extract_task(decoded.items, config.boilerplate_rules)
        with clock.stage("build-articles", len(cleaned.items)):
            built = build_task(cleaned.items, datetime.now(UTC))
        with clock.stage("entities", len(built.items)):
            tagged = entities_task(built.items, config.entities)
        with clock.stage("dedup", len(tagged.items)):
            signed = dedup_task(tagged.items, config.dedup)
        batch_rejections = (
            loaded.rejections
            + decoded.rejections
            + cleaned.rejections
            + built.rejections
            + tagged.rejections
            + signed.rejections
        )
        with clock.stage("store", len(signed.items)):
            result = store_task(
                config.store, config.dedup, self.run_id, signed.items, batch_rejections
            )
        # Alerts before indexing: an unreachable Elasticsearch must not delay them.
        with clock.stage("check-alerts", len(result.new_ids)):
            fired = alerts_task(config.store, config.alerts, self.run_id)
            self.alert_ids += [alert.id for alert in fired]
        if not self.delivery.retrying:
            with clock.stage("deliver-alerts", 0):
                self.delivery.add(_deliver_with_retries(config.store, config.alerts))
        if config.elasticsearch is not None and self.es.error is None:
            with clock.stage("index-elasticsearch", len(result.new_ids)):
                self.es = index_task(config.store, config.elasticsearch, self.run_id)
            self.es_indexed += self.es.indexed
            self.rejected.extend(self.es.rejected)
        self.read += len(loaded.items) + len(loaded.rejections)
        self.stored += len(result.new_ids)
        self.known += len(result.known_ids)
        self.rejected.extend(batch_rejections)
        return result, batch_rejections

    def finish(self, feeds: dict[str, int] | None = None) -> RunSummary:
        """The run's summary (with feed polls by outcome, for a poll), recorded in the store."""
        summary = RunSummary(
            run_id=self.run_id,
            inputs_read=self.read,
            stored=self.stored,
            already_known=self.known,
            rejected=self.rejected,
            seconds=time.perf_counter() - self.started,
            timings=self.clock.timings(),
            es_indexed=self.es_indexed if self.config.elasticsearch is not None else None,
            es_pending=self.es.pending,
            es_error=self.es.error,
            alerts=self.store.alerts_by_id(self.alert_ids),
            delivery=self.delivery,
            feeds=feeds,
        )
        self.store.finish_run(summary)
        return summary

    def fail(self, exc: BaseException) -> None:
        """Record that the run could not finish."""
        seconds = time.perf_counter() - self.started
        failed = RunSummary(
            self.run_id, self.read, self.stored, self.known, self.rejected, seconds, error=repr(exc)
        )
        self.store.finish_run(failed)


@contextmanager
def pipeline_run(config: PipelineConfig, inputs: Sequence[str]) -> Iterator[PipelineRun]:
    """Open the store and begin a run; a run that raises is recorded as failed."""
    store = config.store.open()
    try:
        run = PipelineRun(config, store, inputs)
        try:
            yield run
        except BaseException as exc:
            run.fail(exc)
            raise
    finally:
        store.close()
