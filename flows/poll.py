"""Prefect flow `poll-feeds`: poll due feeds, fetch their new story pages, run the pipeline."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from connectors.feed_list import FeedSpec, load_feed_list
from connectors.feeds import PageFetch, fetch_pages, poll_feeds
from connectors.fetch import FetchConfig, Fetcher
from flows.events import emit_feed_failed, emit_feed_silent
from flows.pipeline import PipelineRun, pipeline_run, prepare_items_task
from flows.process_pool import start_fork_server
from flows.runners import uses_processes
from newsmon.alerts.feed_silence import check_silent_feeds
from newsmon.alerts.rules import load_alert_rules
from newsmon.compose import PipelineConfig, pipeline_config
from newsmon.feed_schedule import due_feeds, newly_silent, next_poll
from newsmon.records import FeedEntry, FeedPoll, FeedState, Rejection, RunSummary
from newsmon.settings import load_settings
from newsmon.stages import batched
from newsmon.store.base import FeedStore

log = logging.getLogger("newsmon.feeds")


@task(name="fetch-feeds", cache_policy=NO_CACHE)
def fetch_feeds_task(
    config: FetchConfig, specs: list[FeedSpec], states: dict[str, FeedState]
) -> list[FeedPoll]:
    """Fetch and parse the due feeds (conditional GET, one request at a time per host)."""
    fetcher = Fetcher(config)
    try:
        return poll_feeds(fetcher, specs, states, config.concurrency)
    finally:
        fetcher.close()


@task(name="fetch-pages", cache_policy=NO_CACHE)
def fetch_pages_task(config: FetchConfig, entries: list[FeedEntry]) -> PageFetch:
    """Fetch a batch of story pages."""
    fetcher = Fetcher(config)
    try:
        return fetch_pages(fetcher, entries, config.concurrency)
    finally:
        fetcher.close()


class AllFeedsFailed(Exception):
    """No due feed could be read: the poll's flow run ends Failed, with its summary."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__(f"all {summary.feeds_failed} due feeds failed")
        self.summary = summary


@flow(name="poll-feeds", validate_parameters=False)
def poll_feeds_flow(
    config: PipelineConfig | None = None, names: list[str] | None = None, force: bool = False
) -> RunSummary:
    """Poll the feeds that are due (or the named ones), then ingest their new stories.

    Each feed it cannot read emits `newsmon.feed.failed`. When none of the due feeds could
    be read, the flow run is Failed and a direct call raises AllFeedsFailed (holding the
    summary).
    Without a config (a deployment run) the settings are read from NEWSMON_* variables.
    """
    config = config or pipeline_config(load_settings())
    specs = [s for s in load_feed_list(config.feeds) if not names or s.name in names]
    with pipeline_run(config, [f"feed:{spec.name}" for spec in specs]) as run:
        store = run.store
        now = datetime.now(UTC)
        states = store.feed_states()
        due = due_feeds(specs, states, now, force=force or bool(names))
        with run.clock.stage("fetch-feeds", len(due)):
            polls = fetch_feeds_task(config.fetch, due, states)
        by_name = {spec.name: spec for spec in due}
        outcome: Counter[str] = Counter()
        for poll in polls:
            spec = by_name[poll.feed]
            new = store.add_entries(list(poll.entries), now)
            interval, at = next_poll(spec, states.get(spec.name), poll, len(new), now)
            store.record_poll(str(spec.url), poll, len(new), interval, at, now)
            outcome[poll.status] += 1
            run.reject(list(poll.rejected))
            if poll.status == "refused":
                run.reject([Rejection(str(spec.url), "feed", poll.error or "refused")])
            elif poll.status == "failed":
                log.warning("feed %s: %s; next try %s", spec.name, poll.error, f"{at:%H:%M:%S}")
            if poll.status in ("failed", "refused"):
                emit_feed_failed(poll, str(spec.url))
            log.info("feed %s: %s, %d new pages", spec.name, poll.status, len(new))
        # This poll's new pages and any left pending by failed fetches or an interrupted run,
        # a backfill-sized slice at a time; each slice leaves the due set (stored, refused, or
        # retried later), so this ends.
        while pending := store.due_entries(now, limit=config.batch_size):
            batches = -(-len(pending) // config.feed_batch_size)
            if uses_processes(config.task_runner, batches):
                start_fork_server()  # its imports overlap fetching the first pages
            fetched: deque[tuple[list[FeedEntry], PageFetch]] = deque()
            jobs = _fetch_jobs(run, config, pending, fetched)
            for prepared in run.prepared(prepare_items_task, jobs, batches=batches):
                batch, pages = fetched.popleft()
                result, rejections = run.commit(prepared)
                _mark(store, batch, pages, rejections, config.fetch_retry_delay)
                log.info(
                    "pages: %d fetched, %d stored, %d already known, %d refused, %d to retry",
                    len(pages.loaded.items),
                    len(result.new_ids),
                    len(result.known_ids),
                    len(rejections),
                    len(pages.retry),
                )
        _announce_silence(store, specs, datetime.now(UTC))
        with run.clock.stage("check-feed-alerts", len(specs)):
            rules = load_alert_rules(config.alerts.rules)
            run.feed_alerts = check_silent_feeds(store, rules, config.alerts, specs, run.run_id)
        if run.feed_alerts:
            run.deliver()
        summary = run.finish(feeds=dict(outcome))
    if summary.status == "feeds-failed":
        failure = AllFeedsFailed(summary)
        # A returned state becomes the run's final state: Failed, without the traceback an
        # exception raised here would log. Callers see a summary or the raised exception.
        return Failed(message=str(failure), data=failure)  # type: ignore[return-value]
    return summary


def _announce_silence(store: FeedStore, specs: list[FeedSpec], now: datetime) -> None:
    """Emit `newsmon.feed.silent` once for each feed newly silent past its `silent_after`."""
    states = store.feed_states()
    silent = newly_silent(specs, states, now)
    for spec, since in silent:
        log.warning("feed %s: nothing new since %s", spec.name, f"{since:%Y-%m-%d %H:%M}")
        emit_feed_silent(str(spec.url), states[spec.name], since, spec.silent_after, now)
    store.note_silent([spec.name for spec, _ in silent], now)


def _fetch_jobs(
    run: PipelineRun,
    config: PipelineConfig,
    pending: list[FeedEntry],
    fetched: deque[tuple[list[FeedEntry], PageFetch]],
) -> Iterator[dict[str, object]]:
    """Fetch pages a small batch at a time, each batch's prepare parameters as it is fetched.

    Small batches, so a new story alerts without waiting for the rest; the run pulls the next
    batch (fetching it) while workers prepare the ones before.
    """
    for batch in batched(pending, config.feed_batch_size):
        with run.clock.stage("fetch-pages", len(batch)):
            pages = fetch_pages_task(config.fetch, batch)
        fetched.append((batch, pages))
        yield {"loaded": pages.loaded, "config": config.prepare}


def _mark(
    store: FeedStore,
    batch: list[FeedEntry],
    pages: PageFetch,
    rejections: list[Rejection],
    retry_delay: float,
) -> None:
    """Record each page of a batch as stored, refused, or to fetch again later."""
    refused = {r.source: r.reason for r in rejections}
    retry = {url for url, _, _ in pages.retry}
    later = datetime.now(UTC)
    store.mark_entries(
        stored=[e.url for e in batch if e.url not in refused and e.url not in retry],
        failed=[(url, reason, None) for url, reason in refused.items()]
        + [
            (url, reason, later + timedelta(seconds=wait or retry_delay))
            for url, reason, wait in pages.retry
        ],
    )
