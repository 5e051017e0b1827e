"""The stages every ingestion shares, as Prefect tasks, and one run's progress over batches.

Files (`ingest-files`) and feeds (`poll-feeds`) differ only in how they get raw items. Each
batch is prepared (decode → extract → build-articles → entities → dedup signature) in one
task run on the run's task runner, batches side by side; then, in the order the batches were
read, store → check-alerts → deliver-alerts → index-elasticsearch run in the flow's process.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.events import Event
from prefect.runtime import task_run
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote

from connectors.elasticsearch import ElasticsearchConfig, ElasticsearchSink
from connectors.es_sync import SyncResult, sync
from enrich.dedup import DedupParams, store_stories
from enrich.events import EventParams
from enrich.gazetteer import display_names
from flows.events import EventPacer, emit_alert_sent, emit_new_stories
from flows.runners import in_order, task_runner_for, workers_share_api
from newsmon.alerts.check import check_new_stories
from newsmon.alerts.config import AlertConfig
from newsmon.alerts.outbox import send_outbox
from newsmon.alerts.rules import load_alert_rules
from newsmon.compose import PipelineConfig, StoreConfig
from newsmon.errors import ExternalError, StoreError
from newsmon.prepare import PrepareConfig, PreparedBatch, prepare_files, prepare_items
from newsmon.records import (
    SUMMARY_ALERTS,
    AlertRecord,
    AlertTally,
    DeliveryReport,
    FeedAlert,
    Fingerprint,
    RawItem,
    Rejection,
    RunSummary,
    StageOutput,
    StoreResult,
)
from newsmon.stages import Clock, batched
from newsmon.store.base import Store


def may_pass_on_retry(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry I/O failures (a locked database, a flaky disk), never a store unusable as set up."""
    return not isinstance(state.data, StoreError)


# Batches are large and never reused: hashing them for a cache key would cost more than the work.
@task(
    name="prepare",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=may_pass_on_retry,
)
def prepare_files_task(paths: list[str], config: PrepareConfig) -> PreparedBatch:
    """Load a batch of files and decode, extract, build, tag and fingerprint it."""
    return prepare_files(paths, config)


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_items_task(loaded: StageOutput[RawItem], config: PrepareConfig) -> PreparedBatch:
    """Decode, extract, build, tag and fingerprint a batch of fetched items."""
    return prepare_items(loaded, config)


@task(name="index-elasticsearch", cache_policy=NO_CACHE)
def index_task(
    store_at: StoreConfig, es: ElasticsearchConfig, run_id: str, setup: bool, upkeep: bool
) -> SyncResult:
    """Send what Elasticsearch has not acknowledged yet (this batch and any backlog); with
    `upkeep` (once a run), also the lifecycle and the alerts and feeds indices."""
    store = store_at.open()
    try:
        sink = ElasticsearchSink(es, entity_names=display_names(es.gazetteer))
        result = sync(store, sink, setup=setup, upkeep=upkeep)
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
    events: EventParams,
    run_id: str,
    fingerprints: list[Fingerprint],
    rejections: list[Rejection],
) -> StoreResult:
    """Link each new article to its story and event, and store the batch (idempotent by
    article id)."""
    store = store_at.open()
    try:
        result = store_stories(store, fingerprints, run_id, params, events)
        store.add_rejections(run_id, rejections)
        return result
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class FiredAlerts:
    """The ids of the alerts a check fired, as one object: Prefect keeps a state for every
    item of a list a task returns, for the whole flow run (memory that grew with the run)."""

    ids: tuple[int, ...]
    # For the run's EventPacer: how many story events the check emitted, and the last one.
    story_events: int
    last_event: Event | None


@task(name="check-alerts", cache_policy=NO_CACHE)
def alerts_task(store_at: StoreConfig, config: AlertConfig, run_id: str) -> FiredAlerts:
    """Check the alert rules against new stories, record what fired, emit story events."""
    store = store_at.open()
    try:
        checked = check_new_stories(store, load_alert_rules(config.rules), config, run_id)
    finally:
        store.close()
    events = emit_new_stories(checked.to_announce(config.story_events))
    last = events[-1] if events else None
    return FiredAlerts(tuple(alert.id for alert in checked.alerts), len(events), last)


class DeliveryIncomplete(ExternalError):
    """Some deliveries failed and will be retried (the task's retries, then later runs)."""


def _retry_if_incomplete(task: Any, task_run: Any, state: State[Any]) -> bool:
    return isinstance(state.data, DeliveryIncomplete)


@task(name="deliver-alerts", cache_policy=NO_CACHE, retry_condition_fn=_retry_if_incomplete)
def deliver_task(store_at: StoreConfig, config: AlertConfig) -> DeliveryReport:
    """Write due digest and update messages and send every due delivery in the outbox."""
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


class PipelineRun:
    """One run's progress over its batches: counts, rejections, timings, alerts, sinks."""

    def __init__(
        self, config: PipelineConfig, store: Store, resources: ExitStack, inputs: Sequence[str]
    ) -> None:
        self.config = config
        self.store = store
        self._resources = resources
        self._runner: TaskRunner[Any] | None = None
        self.inputs = list(inputs)
        self.run_id = store.begin_run(self.inputs)
        self.started = time.perf_counter()
        self.clock = Clock()
        self.rejected: list[Rejection] = []
        self.read = self.stored = self.known = self.es_indexed = 0
        self.unchanged = 0  # drop-folder files skipped as read before
        self.es = SyncResult()
        self._es_set_up = False
        self.alert_ids = array("q")  # 8 bytes an alert: a backfill fires one per story
        self.events = EventPacer()
        self.delivery = DeliveryReport()
        self.feed_alerts: list[FeedAlert] = []

    def reject(self, rejections: Sequence[Rejection]) -> None:
        """Record inputs refused before the shared stages (a missing path, a feed error)."""
        if rejections:
            self.store.add_rejections(self.run_id, rejections)
            self.rejected.extend(rejections)

    def runner(self, batches: int | None = None) -> TaskRunner[Any]:
        """The run's task runner, started on first use; `batches` caps a local pool's size."""
        if self._runner is None:
            runner = task_runner_for(self.config.task_runner, batches)
            self._resources.enter_context(workers_share_api(runner))
            self._runner = self._resources.enter_context(runner)
        return self._runner

    def prepared(
        self, task: Any, jobs: Iterable[dict[str, Any]], batches: int | None = None
    ) -> Iterator[PreparedBatch]:
        """Prepare batches on the run's task runner, side by side; yield them in job order."""
        # Two batches per worker: one being prepared, one ready while the flow stores.
        window = 2 * self.config.task_runner.worker_count()
        return in_order(self.runner(batches), task, jobs, window)

    def commit(self, prepared: PreparedBatch) -> tuple[StoreResult, list[Rejection]]:
        """Store one prepared batch, then check and deliver alerts and index; its results."""
        config, clock = self.config, self.clock
        clock.add(prepared.timings)
        fingerprints, batch_rejections = prepared.fingerprints, prepared.rejections
        with clock.stage("store", len(fingerprints)):
            # quote(): Prefect would otherwise walk every field of every article, twice, to
            # look for futures in the parameters; that cost more than storing them. Prefect
            # unwraps them before the task runs, which its type hints cannot say.
            result = store_task(  # type: ignore[call-overload]
                config.store,
                config.prepare.dedup,
                config.events,
                self.run_id,
                quote(fingerprints),
                quote(batch_rejections),
            )
        # Alerts before indexing: an unreachable Elasticsearch must not delay them.
        with clock.stage("check-alerts", len(result.new_ids)):
            fired = alerts_task(config.store, config.alerts, self.run_id)
            self.alert_ids.extend(fired.ids)
        # Its own stage: time spent waiting for Prefect's server is not checking alerts.
        with clock.stage("pace-story-events", fired.story_events):
            self.events.sent(fired.last_event, fired.story_events)
        self.deliver()
        self.index(len(result.new_ids))
        self.read += prepared.read
        self.stored += len(result.new_ids)
        self.known += len(result.known_ids)
        self.rejected.extend(batch_rejections)
        return result, batch_rejections

    def index(self, stories: int, upkeep: bool = False) -> None:
        """Send Elasticsearch what it lacks (the template installed once a run); `upkeep` at
        the run's end. A run stops trying after a failure: each batch would wait again."""
        es = self.config.elasticsearch
        if es is None or self.es.error is not None:
            return
        with self.clock.stage("index-elasticsearch", stories):
            setup = not self._es_set_up
            self.es = index_task(self.config.store, es, self.run_id, setup, upkeep)
        self._es_set_up = True
        self.es_indexed += self.es.indexed
        self.rejected.extend(self.es.rejected)

    def deliver(self) -> None:
        """Send what the outbox holds, unless a pass of this run left deliveries to retry
        (the receiver is down: each batch would wait for it again)."""
        if not self.delivery.retrying:
            with self.clock.stage("deliver-alerts", 0):
                self.delivery.add(_deliver_with_retries(self.config.store, self.config.alerts))

    def _alerts(self) -> tuple[list[AlertRecord], AlertTally]:
        """The run's first SUMMARY_ALERTS alerts, and all of them counted, read in chunks."""
        kept: list[AlertRecord] = []
        tally = AlertTally()
        # A backfill fires an alert per story: holding every record cost 130 MiB at 100k.
        for chunk in batched(self.alert_ids, SUMMARY_ALERTS):
            for alert in self.store.alerts_by_id(chunk):
                tally.add(alert)
                if len(kept) < SUMMARY_ALERTS:
                    kept.append(alert)
        return kept, tally

    def finish(self, feeds: dict[str, int] | None = None) -> RunSummary:
        """The run's summary (with feed polls by outcome, for a poll), recorded in the store.

        Elasticsearch's alerts and feeds indices are brought up to date here, once the run's
        alerts and feed states are all recorded: after a poll (one with nothing new included)
        or a run that stored batches. A drop-folder pass that found nothing changed nothing.
        """
        if feeds is not None or self._es_set_up:
            self.index(0, upkeep=True)
        alerts, tally = self._alerts()
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
            alerts=alerts,
            alert_tally=tally,
            delivery=self.delivery,
            feeds=feeds,
            unchanged=self.unchanged,
            feed_alerts=self.feed_alerts,
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
    """Open the store and begin a run; a run that raises is recorded as failed.

    The task runner the run starts is shut down on the way out, before the store closes.
    """
    # Everything loaded so far (Prefect, its server's app, the taggers) lives as long as the
    # process. Frozen, the cyclic collector stops walking it each time a batch's thousands of
    # records arrive; unfrozen, those walks cost more than unpickling the batches. Collected
    # first: in a served process, an earlier run's garbage must not be frozen with it.
    gc.collect()
    gc.freeze()
    store = config.store.open()
    try:
        with ExitStack() as resources:
            run = PipelineRun(config, store, resources, inputs)
            try:
                yield run
            except BaseException as exc:
                run.fail(exc)
                raise
    finally:
        store.close()
