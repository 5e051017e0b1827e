"""Prefect flow `ingest-files`: one task run per stage per batch over files and folders."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import task_run

from connectors.decode import decode_batch
from connectors.elasticsearch import ElasticsearchSink
from connectors.es_sync import SyncResult, sync
from connectors.files import discover, load_files
from enrich.article import build_articles
from enrich.boilerplate import load_rules
from enrich.dedup import DedupParams, fingerprint_batch, fingerprinter_for, store_stories
from enrich.entities import ner_for, tag_articles, tagger_for
from enrich.extract import extract_batch
from flows.events import emit_alert_sent, emit_new_stories
from newsmon.alerts.channels import open_channels
from newsmon.alerts.check import check_new_stories, close_digests
from newsmon.alerts.delivery import RetryPolicy, deliver
from newsmon.alerts.rules import load_alert_rules
from newsmon.errors import StoreError
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
from newsmon.settings import Settings
from newsmon.stages import batched
from newsmon.store import open_store

# Plain logger: the CLI shows it on the console, Prefect forwards it to its API
# (PREFECT_LOGGING_EXTRA_LOGGERS=newsmon), so no Prefect import is needed to read progress.
log = logging.getLogger("newsmon.ingest")


def _may_pass_on_retry(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry I/O failures (a locked database, a flaky disk), never a store unusable as set up."""
    return not isinstance(state.data, StoreError)


# Batches are large and never reused: hashing them for a cache key would cost more than the work.
@task(name="discover", cache_policy=NO_CACHE)
def discover_task(paths: list[str]) -> StageOutput[str]:
    """Expand the given files and folders into input files."""
    return discover(paths)


@task(
    name="load",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=_may_pass_on_retry,
)
def load_task(paths: list[str], max_bytes: int) -> StageOutput[RawItem]:
    """Read a batch of files (size-capped)."""
    return load_files(paths, max_bytes)


@task(name="decode", cache_policy=NO_CACHE)
def decode_task(items: list[RawItem]) -> StageOutput[DecodedItem]:
    """Detect encodings and decode a batch."""
    return decode_batch(items)


@task(name="extract", cache_policy=NO_CACHE)
def extract_task(items: list[DecodedItem], settings: Settings) -> StageOutput[CleanItem]:
    """Extract headline and clean text for a batch."""
    return extract_batch(items, load_rules(settings.boilerplate_rules))


@task(name="build-articles", cache_policy=NO_CACHE)
def build_task(items: list[CleanItem], ingested_at: datetime) -> StageOutput[Article]:
    """Normalise, identify language and assign ids for a batch."""
    return build_articles(items, ingested_at)


@task(name="entities", cache_policy=NO_CACHE)
def entities_task(articles: list[Article], settings: Settings) -> StageOutput[Article]:
    """Tag people, places and organisations with canonical ids (gazetteer, optional NER)."""
    ner = ner_for(settings.ner_model, settings.ner_batch_size)
    return tag_articles(articles, tagger_for(settings.gazetteer), ner)


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(articles: list[Article], settings: Settings) -> StageOutput[Fingerprint]:
    """Shingle and MinHash a batch into LSH band keys."""
    params = DedupParams.from_settings(settings)
    return fingerprint_batch(articles, fingerprinter_for(params))


@task(name="index-elasticsearch", cache_policy=NO_CACHE)
def index_task(settings: Settings, run_id: str) -> SyncResult:
    """Send what Elasticsearch has not acknowledged yet (this batch and any backlog)."""
    store = open_store(settings)
    try:
        result = sync(store, ElasticsearchSink(settings))
        store.add_rejections(run_id, result.rejected)
        return result
    finally:
        store.close()


@task(
    name="store",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=[1, 5, 15],
    retry_condition_fn=_may_pass_on_retry,
)
def store_task(
    settings: Settings, run_id: str, fingerprints: list[Fingerprint], rejections: list[Rejection]
) -> StoreResult:
    """Link each new article to its story and store the batch (idempotent by article id)."""
    store = open_store(settings)
    try:
        result = store_stories(store, fingerprints, run_id, DedupParams.from_settings(settings))
        store.add_rejections(run_id, rejections)
        return result
    finally:
        store.close()


@task(name="check-alerts", cache_policy=NO_CACHE)
def alerts_task(settings: Settings, run_id: str) -> list[AlertRecord]:
    """Check the alert rules against new stories, record what fired, emit story events."""
    store = open_store(settings)
    try:
        checked = check_new_stories(store, load_alert_rules(settings.alert_rules), settings, run_id)
    finally:
        store.close()
    emit_new_stories(checked.new_stories)
    return checked.alerts


class DeliveryIncomplete(Exception):
    """Some deliveries failed and will be retried (the task's retries, then later runs)."""


def _retry_if_incomplete(task: Any, task_run: Any, state: State[Any]) -> bool:
    return isinstance(state.data, DeliveryIncomplete)


@task(name="deliver-alerts", cache_policy=NO_CACHE, retry_condition_fn=_retry_if_incomplete)
def deliver_task(settings: Settings) -> DeliveryReport:
    """Close finished digest days and send every due delivery in the outbox."""
    rules = load_alert_rules(settings.alert_rules)
    store = open_store(settings)
    channels = open_channels(settings)
    try:
        close_digests(store, rules, settings)
        report = deliver(
            store, channels, rules, RetryPolicy.from_settings(settings), on_sent=emit_alert_sent
        )
    finally:
        for channel in channels.values():
            channel.close()
        store.close()
    # Raising makes Prefect retry after the next backoff step; the last try returns instead,
    # leaving what still failed pending for a later run or `newsmon alerts retry`.
    if report.retrying and task_run.run_count <= settings.alert_run_retries:
        raise DeliveryIncomplete("; ".join(report.errors))
    return report


def _deliver_with_retries(settings: Settings) -> DeliveryReport:
    retries = settings.alert_run_retries
    delays = [
        settings.alert_backoff[min(i, len(settings.alert_backoff) - 1)] for i in range(retries)
    ]
    return deliver_task.with_options(retries=retries, retry_delay_seconds=delays)(settings)


class _Clock:
    """Wall time and item counts per stage over a run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.items: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str, n_in: int) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        self.items[name] = self.items.get(name, 0) + n_in

    def timings(self) -> list[StageTiming]:
        return [StageTiming(s, self.seconds[s], self.items[s]) for s in self.seconds]


@flow(name="ingest-files", validate_parameters=False)
def ingest_files(paths: list[str], settings: Settings) -> RunSummary:
    """Ingest files and folders: load, decode, clean, build, tag entities, dedup, store."""
    started = time.perf_counter()
    store = open_store(settings)
    run_id = store.begin_run(paths)
    clock = _Clock()
    rejected: list[Rejection] = []
    stored = known = read = es_indexed = 0
    # After one failed attempt a run stops trying: every batch would wait for the timeout.
    es = SyncResult()
    alert_ids: list[int] = []
    delivery = DeliveryReport()
    try:
        with clock.stage("discover", len(paths)):
            found = discover_task(paths)
        if found.rejections:
            store.add_rejections(run_id, found.rejections)
            rejected.extend(found.rejections)
        files = found.items
        total_batches = max(1, -(-len(files) // settings.batch_size))
        for number, batch in enumerate(batched(files, settings.batch_size), start=1):
            with clock.stage("load", len(batch)):
                loaded = load_task(batch, settings.max_file_bytes)
            with clock.stage("decode", len(loaded.items)):
                decoded = decode_task(loaded.items)
            with clock.stage("extract", len(decoded.items)):
                cleaned = extract_task(decoded.items, settings)
            with clock.stage("build-articles", len(cleaned.items)):
                built = build_task(cleaned.items, datetime.now(UTC))
            with clock.stage("entities", len(built.items)):
                tagged = entities_task(built.items, settings)
            with clock.stage("dedup", len(tagged.items)):
                signed = dedup_task(tagged.items, settings)
            batch_rejections = (
                loaded.rejections
                + decoded.rejections
                + cleaned.rejections
                + built.rejections
                + tagged.rejections
                + signed.rejections
            )
            with clock.stage("store", len(signed.items)):
                result = store_task(settings, run_id, signed.items, batch_rejections)
            # Alerts before indexing: an unreachable Elasticsearch must not delay them.
            with clock.stage("check-alerts", len(result.new_ids)):
                alert_ids += [alert.id for alert in alerts_task(settings, run_id)]
            if not delivery.retrying:
                with clock.stage("deliver-alerts", 0):
                    delivery.add(_deliver_with_retries(settings))
            if settings.elasticsearch_url and es.error is None:
                with clock.stage("index-elasticsearch", len(result.new_ids)):
                    es = index_task(settings, run_id)
                es_indexed += es.indexed
                rejected.extend(es.rejected)
            read += len(loaded.items) + len(loaded.rejections)
            stored += len(result.new_ids)
            known += len(result.known_ids)
            rejected.extend(batch_rejections)
            log.info(
                "batch %d/%d: %d files, %d stored, %d already known, %d rejected",
                number,
                total_batches,
                len(batch),
                len(result.new_ids),
                len(result.known_ids),
                len(batch_rejections),
            )
        summary = RunSummary(
            run_id=run_id,
            inputs_read=read,
            stored=stored,
            already_known=known,
            rejected=rejected,
            seconds=time.perf_counter() - started,
            timings=clock.timings(),
            es_indexed=es_indexed if settings.elasticsearch_url else None,
            es_pending=es.pending,
            es_error=es.error,
            alerts=store.alerts_by_id(alert_ids),
            delivery=delivery,
        )
        store.finish_run(summary)
        return summary
    except BaseException as exc:
        seconds = time.perf_counter() - started
        failed = RunSummary(run_id, read, stored, known, rejected, seconds, error=repr(exc))
        store.finish_run(failed)
        raise
    finally:
        store.close()
