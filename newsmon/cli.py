"""The `newsmon` command: a thin layer over the library's flows, store and search."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from pydantic import ValidationError

from newsmon.errors import ConfigError, ExternalError, StoreError
from newsmon.export import alert_json, article_json, feed_alert_json
from newsmon.records import (
    AlertRecord,
    AlertState,
    DeliveryState,
    DeliveryStatus,
    EventSummary,
    FeedAlert,
    RunSummary,
    StoryFilter,
)
from newsmon.settings import Settings, load_settings
from newsmon.store.base import Store
from newsmon.time_window import TimeError, parse_when

EXIT_OK = 0
EXIT_SOME_REJECTED = 1
EXIT_FAILED = 2

# Warnings (a delivery given up, a feed failing) go to standard error in this form.
LOG_FORMAT = "%(name)s: %(message)s"


class _LogFormatter(logging.Formatter):
    """LOG_FORMAT, without the tracebacks client libraries attach to warnings.

    elastic_transport logs each retry after a dropped connection as a warning with its
    whole traceback (some 60 lines); newsmon's own error line already says what failed.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line, plus its traceback only for newsmon's own and errors."""
        if (
            record.exc_info
            and record.levelno < logging.ERROR
            and not record.name.startswith("newsmon")
        ):
            # A copy: the record is shared with other handlers, which may want the traceback.
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)


def log_handler(stream: IO[str] | None = None) -> logging.Handler:
    """The handler `newsmon` logs to standard error (or `stream`) with."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_LogFormatter(LOG_FORMAT))
    return handler


F = TypeVar("F", bound=Callable[..., Any])


def _store_options(fn: F) -> F:
    fn = click.option(
        "--config",
        type=click.Path(path_type=Path),
        help="TOML settings file (same keys as the NEWSMON_* variables, lower case).",
    )(fn)
    # Text, not a click.Path: a path type would fold a URL's "//" into "/".
    fn = click.option(
        "--db",
        help="Store file [env NEWSMON_DB; default ./data/newsmon.db].",
    )(fn)
    return fn


class _When(click.ParamType[datetime, Any]):
    """A --since or --until value, read by newsmon.time_window."""

    name = "time"

    def __init__(self, end_of_day: bool) -> None:
        self.end_of_day = end_of_day

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_when(str(value), datetime.now(UTC), self.end_of_day)
        except TimeError as exc:
            self.fail(str(exc), param, ctx)


def _filter_options(what: str) -> Callable[[F], F]:
    """--since, --until, --source and --lang, handed to the command as one StoryFilter."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def command(
            *args: Any,
            since: datetime | None,
            until: datetime | None,
            sources: tuple[str, ...],
            langs: tuple[str, ...],
            **kwargs: Any,
        ) -> Any:
            if since and until and since > until:
                raise click.BadParameter(
                    f"--since {since:%Y-%m-%dT%H:%M:%SZ} is after"
                    f" --until {until:%Y-%m-%dT%H:%M:%SZ}"
                )
            return fn(*args, wanted=StoryFilter(since, until, sources, langs), **kwargs)

        options = [
            click.option(
                "--since",
                type=_When(end_of_day=False),
                help=f"Only {what} from this time on: 2026-12-01, 2026-12-01T08:00"
                " (UTC unless a zone such as +03:00 is given), or 24h, 7d back from now.",
            ),
            click.option(
                "--until",
                type=_When(end_of_day=True),
                help=f"Only {what} up to this time (a date includes its whole day).",
            ),
            click.option(
                "--source",
                "sources",
                multiple=True,
                help="Only stories seen at this outlet (aljazeera.net, its subdomains too) or"
                " path or URL prefix; repeat for any of several.",
            ),
            click.option(
                "--lang",
                "langs",
                multiple=True,
                help="Only stories in this language (ar, en); repeat for any of several.",
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command  # type: ignore[return-value]

    return decorate


def _filtered(wanted: StoryFilter) -> str:
    """The filter in words, for a 'nothing found' line ('' when there is no filter)."""
    parts = []
    if wanted.since:
        parts.append(f"since {wanted.since:%Y-%m-%d %H:%M:%S}Z")
    if wanted.until:
        parts.append(f"until {wanted.until:%Y-%m-%d %H:%M:%S}Z")
    if wanted.sources:
        parts.append("at " + " or ".join(wanted.sources))
    if wanted.langs:
        parts.append("in " + " or ".join(wanted.langs))
    return (" " + ", ".join(parts)) if parts else ""


class _Failed(click.ClickException):
    """Could not run at all: exit status 2, like a usage error."""

    exit_code = EXIT_FAILED


def _settings(db: str | None, config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config_file=config, db=db, **overrides)
    except ConfigError as exc:
        raise _Failed(str(exc)) from exc
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        raise _Failed(f"bad settings: {exc}") from exc


def _open(settings: Settings) -> Store:
    from newsmon.store_location import open_store

    try:
        return open_store(settings)
    except StoreError as exc:
        raise _Failed(str(exc)) from exc


@contextmanager
def _opened(settings: Settings) -> Iterator[Store]:
    store = _open(settings)
    try:
        yield store
    finally:
        store.close()


def _entity_taggers(settings: Settings) -> tuple[Any, Any]:
    # Not through newsmon.compose: its pipeline imports cost `entities tag` over a second.
    from enrich.entities import EntityConfig

    try:
        return EntityConfig(
            settings.gazetteer, settings.ner_model, settings.ner_batch_size
        ).taggers()
    except (OSError, ValueError) as exc:
        raise _Failed(f"bad settings: {exc}") from exc


def _alert_rules(settings: Settings) -> Any:
    from newsmon.alerts.rules import load_alert_rules
    from newsmon.yaml_model import ConfigFileError

    try:
        return load_alert_rules(settings.alert_rules)
    except ConfigFileError as exc:
        raise _Failed(f"bad alert rules: {exc}") from exc


def _delivery_words(delivery: DeliveryStatus) -> str:
    # An alert's own message (about a story or a feed) needs no word for its kind.
    plain = delivery.kind in ("alert", "feed-silent")
    what = f"{delivery.channel} {'' if plain else delivery.kind + ' '}"
    if delivery.state == DeliveryState.SENT:
        return what + "sent" + (f" ({delivery.last_error})" if delivery.last_error else "")
    if delivery.state == DeliveryState.GIVEN_UP:
        return what + f"given up: {delivery.last_error}"
    if delivery.attempts == 0 or not delivery.last_error:
        return what + "pending"
    when = delivery.next_attempt_at.strftime("%H:%M:%S") if delivery.next_attempt_at else "?"
    return what + f"pending after {delivery.attempts} tries ({delivery.last_error}; next {when})"


def describe_alert(alert: AlertRecord) -> str:
    """One line: the rule, the story's headline, and what became of each channel's message."""
    own = [d for d in alert.deliveries if d.kind != "update"]
    if own:
        fate = ", ".join(_delivery_words(d) for d in own)
    elif alert.state == AlertState.RECORDED:
        fate = "recorded only: no channel configured"
    elif alert.state == AlertState.THROTTLED:
        fate = "throttled: inside the rule's throttle window, not sent"
    elif alert.state == AlertState.DIGEST:
        fate = "waits for the daily digest"
    else:
        fate = str(alert.state)
    line = f"alert {alert.rule}: {alert.title} [{alert.article_id}] — {fate}"
    if alert.updates:
        n = len(alert.updates)
        line += f"; {n} later {'story' if n == 1 else 'stories'} of its event"
    sent_updates = Counter(str(d.state) for d in alert.deliveries if d.kind == "update")
    if sent_updates:
        line += "; update messages: " + ", ".join(
            f"{n} {state}" for state, n in sorted(sent_updates.items())
        )
    return line


def describe_feed_alert(alert: FeedAlert) -> str:
    """One line: the rule, the silent feed, since when, and what became of its messages."""
    if alert.deliveries:
        fate = ", ".join(_delivery_words(d) for d in alert.deliveries)
    else:
        fate = "recorded only: no channel configured"
    return (
        f"alert {alert.rule}: feed {alert.feed} silent since"
        f" {alert.quiet_since:%Y-%m-%d %H:%M} — {fate}"
    )


_SUMMARY_ALERT_LINES = 10


def _print_alerts(summary: RunSummary) -> None:
    for feed_alert in summary.feed_alerts:
        click.echo(describe_feed_alert(feed_alert))
    shown = 0
    for rule, states in summary.alert_tally.by_rule.items():
        n = sum(states.values())
        # An alert is a new story, event or copy, as the rule's `per` says: count alerts.
        if set(states) == {str(AlertState.DIGEST)}:
            click.echo(
                f"rule {rule}: {n} {'match' if n == 1 else 'matches'} kept for the daily digest"
            )
            continue
        click.echo(f"rule {rule}: {n} {'alert' if n == 1 else 'alerts'}")
        for alert in (a for a in summary.alerts if a.rule == rule):
            if shown == _SUMMARY_ALERT_LINES:
                click.echo("  … (all of them: newsmon alerts)")
            if shown >= _SUMMARY_ALERT_LINES:
                break
            click.echo("  " + describe_alert(alert).removeprefix(f"alert {rule}: "))
            shown += 1
    # From the store, not from the delivery passes: a retried pass's earlier sends count too.
    states = summary.alert_tally.deliveries
    if states:
        click.echo(
            f"deliveries: {states.get('sent', 0)} sent, {states.get('pending', 0)} pending, "
            f"{states.get('given-up', 0)} given up"
            + (" (see newsmon alerts --unsent)" if set(states) != {"sent"} else "")
        )


def _quiet_prefect(verbose: bool) -> None:
    # Must happen before prefect is imported: its settings are read from the environment.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "newsmon")
    # Prefect's temporary server migrates a fresh database before it answers: 20 s (its
    # default wait) was too short on a busy 2-core machine, and the run failed to start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    progress = logging.getLogger("newsmon")
    progress.setLevel(logging.INFO)


def _print_summary(summary: RunSummary, verbose: bool, as_json: bool = False) -> None:
    if as_json:
        from newsmon.export import run_summary_json

        click.echo(json.dumps(run_summary_json(summary), ensure_ascii=False))
        return
    for rejection in summary.rejected:
        click.echo(f"rejected: {rejection.source}: {rejection.reason}", err=True)
    click.echo(
        f"run {summary.run_id}: {summary.inputs_read} read, {summary.stored} stored, "
        f"{summary.already_known} already known, {len(summary.rejected)} rejected "
        f"in {summary.seconds:.1f} s"
    )
    if summary.unchanged:
        click.echo(f"{summary.unchanged} files skipped: read before and unchanged since")
    if summary.inputs_read and not summary.stored and summary.already_known:
        click.echo("nothing new: every story read was already in the store")
    if summary.es_error:
        click.echo(
            f"elasticsearch: {summary.es_error}; {summary.es_pending} stories kept in the "
            "store, sent on the next run or `newsmon es sync`",
            err=True,
        )
    elif summary.es_indexed is not None:
        click.echo(f"elasticsearch: {summary.es_indexed} indexed, {summary.es_pending} pending")
    if summary.feeds is not None:
        polled = ", ".join(f"{n} {status}" for status, n in sorted(summary.feeds.items()))
        click.echo(f"feeds: {polled or 'none due'}")
    _print_alerts(summary)
    if verbose:
        for timing in summary.timings:
            click.echo(f"  {timing.stage:<15} {timing.items_in:>7} in  {timing.seconds:8.3f} s")


def _move_to_option(fn: F) -> F:
    return click.option(
        "--move-to",
        type=click.Path(file_okay=False, path_type=Path),
        help="Move each file read whole into this folder once it is stored, keeping its place "
        "under the input folder; refused files stay, remembered as with --skip-seen.",
    )(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsmon", message="newsmon %(version)s")
def cli() -> None:
    """newsmon: ingest news, clean and store it, search and export it.

    Settings come from NEWSMON_* environment variables, or a TOML file given by
    --config or NEWSMON_CONFIG. PREFECT_API_URL, when set, makes runs report to
    that Prefect server; otherwise they run in Prefect's ephemeral mode.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_store_options
@click.option("-v", "--verbose", is_flag=True, help="Per-stage timings and Prefect's own logs.")
@click.option(
    "--skip-seen",
    is_flag=True,
    help="Skip files an earlier --skip-seen run read and that are unchanged since (a drop "
    "folder); remember the ones read.",
)
@_move_to_option
@click.option("--json", "as_json", is_flag=True, help="The run summary as one JSON object.")
def run(
    paths: tuple[Path, ...],
    db: str | None,
    config: Path | None,
    verbose: bool,
    skip_seen: bool,
    move_to: Path | None,
    as_json: bool,
) -> None:
    """Ingest PATHS (files and folders; default: seeds/) through the ingest-files flow.

    Reads .txt, .html/.htm and .json/.ndjson/.jsonl story records, in any text
    encoding. Each bad input gets one line naming it and the reason, is recorded
    in the store (see `newsmon rejected`), and the run goes on with the rest.

    \b
    Exit status:
      0  every input was stored or already known
      1  the run finished but some inputs were rejected
      2  the run could not be done (bad settings, unusable store, crash)
    """
    settings = _settings(db, config)
    _quiet_prefect(verbose or settings.show_prefect_logs)
    # A bad gazetteer, model folder or rules file stops here, before the flow.
    _entity_taggers(settings)
    _alert_rules(settings)
    from flows.ingest import ingest_files
    from newsmon.compose import pipeline_config

    targets = [str(p) for p in paths] or ["seeds"]
    try:
        summary = ingest_files(
            targets, pipeline_config(settings), skip_seen, str(move_to) if move_to else None
        )
    except StoreError as exc:
        raise _Failed(str(exc)) from exc
    except Exception as exc:
        raise _Failed(f"run failed: {type(exc).__name__}: {exc}") from exc
    _print_summary(summary, verbose, as_json)
    sys.exit(EXIT_OK if summary.status == "ok" else EXIT_SOME_REJECTED)


@cli.command()
@click.option("--feed", "names", multiple=True, help="Poll only this feed now (repeatable).")
@click.option("--force", is_flag=True, help="Poll every feed now, due or not.")
@_store_options
@click.option("-v", "--verbose", is_flag=True, help="Per-stage timings and Prefect's own logs.")
@click.option("--json", "as_json", is_flag=True, help="The poll's summary as one JSON object.")
def poll(
    names: tuple[str, ...],
    force: bool,
    db: str | None,
    config: Path | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Poll the feeds that are due (deploy/feeds.yml), then ingest their new stories.

    Conditional GET, one request at a time per host, robots.txt; each new story page goes
    through the same stages as `newsmon run` (dedup, entities, store, alerts, Elasticsearch).
    Exit status as for `newsmon run`.
    """
    settings = _settings(db, config)
    _quiet_prefect(verbose or settings.show_prefect_logs)
    _entity_taggers(settings)
    _alert_rules(settings)
    specs = _feed_list(settings)
    unknown = set(names) - {spec.name for spec in specs}
    if unknown:
        raise click.UsageError(f"not in the feed list: {', '.join(sorted(unknown))}")
    from flows.poll import AllFeedsFailed, poll_feeds_flow
    from newsmon.compose import pipeline_config

    # A direct call hands back the flow's own return value (or raises its exception).
    # `return_state=True` would not: under load Prefect's client may retry the Completed
    # proposal, the API rejects the repeat and answers with its copy of the state, which
    # holds no data (results are not persisted), and `.result()` raises MissingResult.
    result: Any
    try:
        result = poll_feeds_flow(pipeline_config(settings), list(names) or None, force)
    except AllFeedsFailed as failed:
        result = failed.summary  # a Failed flow run, but a summary to show
    except Exception as exc:
        result = exc
    if isinstance(result, StoreError):
        raise _Failed(str(result)) from result
    if isinstance(result, BaseException):
        raise _Failed(f"poll failed: {type(result).__name__}: {result}") from result
    _print_summary(result, verbose, as_json)
    if result.status == "feeds-failed":
        click.echo(f"poll: none of the {result.feeds_failed} due feeds could be read", err=True)
    sys.exit(EXIT_OK if result.status == "ok" else EXIT_SOME_REJECTED)


def _feed_list(settings: Settings) -> Any:
    from connectors.feed_list import load_feed_list
    from newsmon.yaml_model import ConfigFileError

    try:
        return load_feed_list(settings.feeds)
    except ConfigFileError as exc:
        raise _Failed(f"bad feed list: {exc}") from exc


@cli.command()
@_store_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
def feeds(db: str | None, config: Path | None, as_json: bool) -> None:
    """List the feeds with their last poll, status, counts and next poll; flag silent ones."""
    from datetime import UTC, datetime

    from newsmon.feed_schedule import is_silent

    settings = _settings(db, config)
    specs = _feed_list(settings)
    with _opened(settings) as store:
        states = store.feed_states()
    now = datetime.now(UTC)
    if not specs and not as_json:
        click.echo(f"no feeds in the feed list ({settings.feeds or 'the packaged one'})", err=True)
    for spec in specs:
        state = states.get(spec.name)
        silent = is_silent(spec, state, now)
        if as_json:
            record = {
                "name": spec.name,
                "url": str(spec.url),
                "lang": spec.lang,
                "status": state.last_status if state else "never polled",
                "last_poll_at": state.last_poll_at.isoformat()
                if state and state.last_poll_at
                else None,
                "next_poll_at": state.next_poll_at.isoformat()
                if state and state.next_poll_at
                else None,
                "interval": state.interval if state and state.interval else spec.interval,
                "polls": state.polls if state else 0,
                "entries_seen": state.entries_seen if state else 0,
                "stored": state.stored if state else 0,
                "pending": state.pending if state else 0,
                "failures": state.failures if state else 0,
                "last_error": state.last_error if state else None,
                "silent": silent,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        if state is None:
            click.echo(f"{spec.name:<18} never polled  {spec.url}")
            continue
        last = f"{state.last_poll_at:%Y-%m-%d %H:%M}" if state.last_poll_at else "-"
        nxt = f"{state.next_poll_at:%H:%M}" if state.next_poll_at else "-"
        flag = "  SILENT" if silent else ""
        click.echo(
            f"{spec.name:<18} {state.last_status or '-':<13} last {last}  next {nxt}"
            f"  {state.entries_seen} listed, {state.stored} stored, {state.pending} pending{flag}"
        )
        if state.last_error:
            click.echo(f"{'':<18} {state.last_error}")


@cli.command()
@_store_options
@click.option(
    "--inbox",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also ingest this drop folder.",
)
@_move_to_option
@click.option("--every", default=300, show_default=True, help="Seconds between runs.")
def serve(
    db: str | None, config: Path | None, inbox: Path | None, move_to: Path | None, every: int
) -> None:
    """Run poll-feeds (and the drop folder's ingestion) on a schedule with Prefect serve().

    The drop folder is remembered: a file read once is skipped while its size and mtime
    (or else its bytes) are unchanged, so a pass costs a stat per file already read.

    Needs a running Prefect server (PREFECT_API_URL; `prefect server start`): without one it
    exits 2. Each run reads its settings from the environment of this process. Stops cleanly
    on Ctrl-C (SIGINT) or SIGTERM, after Prefect's shutdown.
    """
    from datetime import timedelta

    settings = _settings(db, config)
    _feed_list(settings)
    _alert_rules(settings)
    from flows.serving import require_prefect_server, serve_until_stopped

    try:
        api = require_prefect_server()
    except ExternalError as exc:
        raise _Failed(str(exc)) from exc
    from flows.ingest import ingest_files
    from flows.poll import poll_feeds_flow

    if db:
        os.environ["NEWSMON_DB"] = str(db)
    if config:
        os.environ["NEWSMON_CONFIG"] = str(config)
    # Called outside an event loop, to_deployment returns a deployment, not a coroutine.
    deployments: list[Any] = [
        poll_feeds_flow.to_deployment(name="poll-feeds", interval=timedelta(seconds=every))
    ]
    if inbox:
        deployments.append(
            ingest_files.to_deployment(
                name="ingest-inbox",
                interval=timedelta(seconds=every),
                parameters={
                    "paths": [str(inbox.resolve())],
                    "remember": True,
                    "move_to": str(move_to.resolve()) if move_to else None,
                },
            )
        )
    click.echo(f"serve: {len(deployments)} deployments on {api}, every {every} s")
    serve_until_stopped(deployments)
    click.echo("serve: stopped")


@cli.command()
@_store_options
@_filter_options("stories published (else first seen)")
def export(db: str | None, config: Path | None, wanted: StoryFilter) -> None:
    """Print every stored story as NDJSON (one JSON object per line), oldest first."""
    exported = 0
    with _opened(_settings(db, config)) as store:
        for article in store.iter_articles(wanted):
            record = article_json(article, store.sources_of(article.id))
            click.echo(json.dumps(record, ensure_ascii=False))
            exported += 1
    if not exported:
        click.echo(f"no stories stored{_filtered(wanted)}", err=True)


@cli.command()
@click.argument("query", default="")
@_store_options
@click.option("-n", "--limit", default=10, show_default=True, help="Most results to show.")
@click.option(
    "-e",
    "--entity",
    "entity_ids",
    multiple=True,
    help="Only stories naming this entity id (Q7747, nm:kremlin); repeat for all of several.",
)
@_filter_options("stories published (else first seen)")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
def search(
    query: str,
    db: str | None,
    config: Path | None,
    limit: int,
    entity_ids: tuple[str, ...],
    wanted: StoryFilter,
    as_json: bool,
) -> None:
    """Find stored stories containing every word of QUERY and naming every --entity.

    Arabic-aware: diacritics, أ/إ/آ/ا, ى/ي, ة/ه and tatweel are ignored, and a
    word also matches its forms with proclitics (و، ف، ب، ل، ك، ال). With only
    --entity options, the newest stories naming those entities come first.
    """
    from newsmon.search import find

    if not query.strip() and not entity_ids:
        raise click.UsageError("give a QUERY, an --entity, or both")
    with _opened(_settings(db, config)) as store:
        hits = find(store, query, limit, entity_ids, wanted)
    for hit in hits:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(hit), ensure_ascii=False))
        else:
            event = f"  (event {hit.event_id})" if hit.event_id else ""
            click.echo(f"{hit.id}  {hit.title}{event}\n    {hit.source}\n    {hit.snippet}")
    if not hits:
        click.echo(f"no match{_filtered(wanted)}", err=True)


@cli.command()
@_store_options
@click.option("--run", "run_id", help="Run id (default: the last run).")
@click.option("--all", "all_runs", is_flag=True, help="Rejections of every run.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rejection.")
def rejected(
    db: str | None, config: Path | None, run_id: str | None, all_runs: bool, as_json: bool
) -> None:
    """List inputs that were rejected, with the stage and reason."""
    with _opened(_settings(db, config)) as store:
        wanted = None if all_runs else (run_id or store.last_run_id())
        records = store.rejections(wanted) if (wanted or all_runs) else []
    for r in records:
        if as_json:
            record = {**dataclasses.asdict(r), "at": r.at.isoformat()}
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(f"{r.run_id}\t{r.stage}\t{r.source}\t{r.reason}")
    if not records and not as_json:
        where = "in any run" if all_runs else f"in run {wanted}" if wanted else "(no run yet)"
        click.echo(f"no rejections {where}", err=True)


@cli.command()
@_store_options
@click.option(
    "--min-copies", default=1, show_default=True, help="Only stories with this many copies."
)
@click.option("-n", "--limit", type=int, help="At most this many stories.")
@_filter_options("copies published (else first seen)")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story.")
def stories(
    db: str | None,
    config: Path | None,
    min_copies: int,
    limit: int | None,
    wanted: StoryFilter,
    as_json: bool,
) -> None:
    """List stories (near-duplicate clusters) with their copies and sources, most copied first.

    With filters, a story's copies are those the filters admit.
    """
    with _opened(_settings(db, config)) as store:
        found = store.stories(min_copies=min_copies, limit=limit, wanted=wanted)
    for story in found:
        if as_json:
            record = {
                "cluster_id": story.cluster_id,
                "title": story.title,
                "copies": [
                    {"id": c.id, "title": c.title, "source": c.source, "similarity": c.similarity}
                    for c in story.copies
                ],
                "sources": story.sources,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        n = len(story.copies)
        click.echo(f"{story.cluster_id}  {n} {'copy' if n == 1 else 'copies'}  {story.title}")
        for copy in story.copies:
            mark = (
                "first"
                if copy.duplicate_of is None
                else f"{copy.similarity:.2f} ~ {copy.duplicate_of}"
            )
            click.echo(f"    {copy.id}  {mark}  {copy.source}")
    if not found:
        click.echo(f"no stories with {min_copies} or more copies{_filtered(wanted)}", err=True)


@cli.group()
def dedup() -> None:
    """Near-duplicate index maintenance."""


@dedup.command("rebuild")
@_store_options
def dedup_rebuild(db: str | None, config: Path | None) -> None:
    """Recompute every story link with the current dedup settings, oldest article first.

    Needed after changing NEWSMON_DEDUP_* settings that change the LSH band layout
    (a run refuses to mix layouts), and for stores created before dedup existed.
    """
    from enrich.dedup import rebuild_stories
    from newsmon.compose import dedup_params

    settings = _settings(db, config)
    with _opened(settings) as store:
        count = rebuild_stories(store, dedup_params(settings), settings.batch_size)
        n_stories = len(store.stories())
    click.echo(f"rebuilt: {count} articles in {n_stories} stories")


def _event_json(summary: EventSummary) -> dict[str, Any]:
    event = summary.event
    return {
        "event_id": event.id,
        "title": event.title,
        "first_seen": event.first_seen.isoformat(),
        "last_seen": event.last_seen.isoformat(),
        "stories": event.stories,
        "articles": event.articles,
        "sources": summary.sources,
        "stories_last_24h": summary.recent_stories,
    }


@cli.group(invoke_without_command=True)
@_store_options
@click.option("-n", "--limit", default=20, show_default=True, help="Most events to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@click.pass_context
def events(
    ctx: click.Context, db: str | None, config: Path | None, limit: int, as_json: bool
) -> None:
    """List events (independent reports of one happening), the most recently reported first.

    Each line: the event id (its first story's id), stories and articles (copies included),
    distinct sources, stories stored in the last 24 hours, first and last story time, and
    the first story's headline. `newsmon events show ID` lists its stories and why each
    joined.
    """
    if ctx.invoked_subcommand is not None:
        return
    with _opened(_settings(db, config)) as store:
        found = store.events(limit, datetime.now(UTC))
    for summary in found:
        if as_json:
            click.echo(json.dumps(_event_json(summary), ensure_ascii=False))
            continue
        e = summary.event
        click.echo(
            f"{e.id}  {e.stories} stories, {e.articles} articles, {summary.sources} sources,"
            f" +{summary.recent_stories} in 24 h  {e.first_seen:%Y-%m-%d %H:%M} →"
            f" {e.last_seen:%Y-%m-%d %H:%M}  {e.title}"
        )
    if not found and not as_json:
        click.echo("no events", err=True)


@events.command("show")
@click.argument("event_id")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article.")
def events_show(event_id: str, db: str | None, config: Path | None, as_json: bool) -> None:
    """An event's articles in the order they were stored, with why each joined.

    A story that joined shows its similarity to the event and the evidence they share
    (words, and @ids of entities); the first story shows `opened`; a copy of a story shows
    the story it copies.
    """
    with _opened(_settings(db, config)) as store:
        members = store.event_members(event_id)
    if not members:
        click.echo(f"{event_id}: no such event", err=True)
        sys.exit(EXIT_FAILED)
    for m in members:
        a = m.article
        if as_json:
            record = {
                "id": a.id,
                "title": a.title,
                "cluster_id": a.cluster_id,
                "duplicate_of": a.duplicate_of,
                "event_score": m.score,
                "event_shared": list(m.shared),
                "sources": list(m.sources),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        if a.duplicate_of is not None:
            why = f"copy of {a.duplicate_of}"
        elif m.score is None:
            why = "opened"
        else:
            why = f"{m.score:.2f} sharing " + ", ".join(m.shared)
        click.echo(f"{a.id}  {why}\n    {a.title}  ({', '.join(m.sources)})")


@events.command("rebuild")
@_store_options
def events_rebuild(db: str | None, config: Path | None) -> None:
    """Place every stored article in its event again, oldest first, with the current settings.

    Needed for stores created before events existed, and after changing NEWSMON_EVENT_*.
    """
    from enrich.events import rebuild_events
    from newsmon.compose import event_params

    settings = _settings(db, config)
    with _opened(settings) as store:
        count = rebuild_events(store, event_params(settings), settings.batch_size)
        n_events = store.count_events()
    click.echo(f"rebuilt: {count} articles in {n_events} events")


@cli.group()
def entities() -> None:
    """Entity tagging: try it on a text, re-tag the store after a gazetteer change."""


@entities.command("tag")
@click.argument("text")
@click.option("--lang", default="ar", show_default=True, help="Language of TEXT (labels).")
@click.option("--config", type=click.Path(path_type=Path), help="TOML settings file.")
def entities_tag(text: str, lang: str, config: Path | None) -> None:
    """Print the entities found in TEXT as JSON lines (the export's `entities` items)."""
    from enrich.entities import tag_articles

    settings = _settings(None, config)
    tagger, ner = _entity_taggers(settings)
    probe = _probe_article(text, lang)
    for tag in tag_articles([probe], tagger, ner).items[0].entities:
        record = article_json(dataclasses.replace(probe, entities=(tag,)), [])["entities"][0]
        click.echo(json.dumps(record, ensure_ascii=False))


def _probe_article(text: str, lang: str) -> Any:
    from datetime import UTC, datetime

    from newsmon.records import Article

    return Article("-", "-", "", text, "", lang, datetime.now(UTC))


@entities.command("retag")
@_store_options
def entities_retag(db: str | None, config: Path | None) -> None:
    """Re-tag every stored story with the current gazetteer (and NER model, if set)."""
    from enrich.entities import retag_store

    settings = _settings(db, config)
    tagger, ner = _entity_taggers(settings)
    with _opened(settings) as store:
        count = retag_store(store, tagger, ner, settings.batch_size)
    click.echo(f"re-tagged: {count} articles")


@cli.group()
def es() -> None:
    """Elasticsearch: install the template, send what is pending, rebuild the index.

    Configured by NEWSMON_ELASTICSEARCH_URL (or ELASTICSEARCH_URL) and NEWSMON_ES_*
    settings; the store remembers what Elasticsearch acknowledged.
    """


def _sink(settings: Settings) -> Any:
    from connectors.elasticsearch import ElasticsearchSink
    from enrich.gazetteer import display_names
    from newsmon.compose import es_config

    es = es_config(settings)
    if es is None:
        raise _Failed("no Elasticsearch configured: set NEWSMON_ELASTICSEARCH_URL")
    return ElasticsearchSink(es, entity_names=display_names(es.gazetteer))


@es.command("setup")
@_store_options
def es_setup(db: str | None, config: Path | None) -> None:
    """Install the index templates and create the first index behind the alias, and the
    alerts and feeds indices the dashboards read."""
    from connectors.elasticsearch import SinkUnavailable
    from connectors.es_status import StatusIndices

    sink = _sink(_settings(db, config))
    status = StatusIndices(sink)
    try:
        report = sink.setup()
        status.setup()
    except (SinkUnavailable, ValueError) as exc:
        raise _Failed(str(exc)) from exc
    was = report.previous_version
    click.echo(
        f"ready: alias {sink.alias} writes to {report.index} at {sink.url}; template"
        f" version {report.template_version}"
        + (" (new)" if was is None else "" if was == report.template_version else f" (was {was})")
    )
    click.echo(f"status: alerts in {status.alerts.name}, feed health in {status.feeds.name}")
    if report.lifecycle == "ilm":
        click.echo(f"lifecycle: ILM policy {sink.alias} attached")
    else:
        click.echo(
            "lifecycle: this cluster has no ILM; newsmon rolls over and applies retention"
            " after each sync (or run `newsmon es rollover`)"
        )


@es.command("rollover")
@_store_options
@click.option("--now", is_flag=True, help="Roll over at once, whatever the policy's conditions.")
@click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON object.")
def es_rollover(
    db: str | None, config: Path | None, now: bool, dry_run: bool, as_json: bool
) -> None:
    """Apply the lifecycle policy: roll the write index over when due, delete expired indices.

    A cluster with ILM does this itself (only --now acts there); on one without, each sync
    does it too, so this is for a forced rollover or a look with --dry-run.
    """
    from connectors.elasticsearch import SinkUnavailable
    from connectors.es_rollover import apply_lifecycle

    sink = _sink(_settings(db, config))
    try:
        report = apply_lifecycle(sink, now=now, dry_run=dry_run)
    except (SinkUnavailable, ValueError) as exc:
        raise _Failed(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
        return
    would = "would roll" if dry_run else "rolled"
    if report.rolled_over or (dry_run and report.new_index and now):
        click.echo(f"{would} over: {report.old_index} -> {report.new_index}")
    elif report.conditions:
        met = ", ".join(f"{k}={'met' if v else 'not met'}" for k, v in report.conditions.items())
        click.echo(f"not due: {report.old_index} stays the write index ({met})")
    elif report.managed_by == "ilm":
        click.echo(f"ILM manages {sink.alias}: nothing to do (--now forces a rollover)")
    else:
        click.echo(f"the policy has no rollover conditions: {report.old_index} stays")
    if report.deleted:
        verb = "would delete" if dry_run else "deleted"
        click.echo(f"{verb} past retention: {', '.join(report.deleted)}")


@es.command("sync")
@_store_options
def es_sync(db: str | None, config: Path | None) -> None:
    """Send every stored story Elasticsearch has not acknowledged yet.

    \b
    Exit status: 0 all sent, 1 some refused by Elasticsearch (see `newsmon rejected`),
    2 Elasticsearch unavailable (nothing lost; run it again later).
    """
    from connectors.es_sync import sync

    settings = _settings(db, config)
    sink = _sink(settings)
    with _opened(settings) as store:
        run_id = store.begin_run(["es sync"])
        result = sync(store, sink)
        store.add_rejections(run_id, result.rejected)
    for rejection in result.rejected:
        click.echo(f"rejected: {rejection.source}: {rejection.reason}", err=True)
    click.echo(
        f"elasticsearch: {result.indexed} indexed, {result.pending} pending;"
        f" {result.status} alert and feed documents"
    )
    if result.error:
        raise _Failed(result.error)
    sys.exit(EXIT_SOME_REJECTED if result.rejected else EXIT_OK)


@es.command("reindex")
@_store_options
@click.option(
    "--keep-old", is_flag=True, help="Keep the old indices (off the alias), to go back to them."
)
def es_reindex(db: str | None, config: Path | None, keep_old: bool) -> None:
    """Rebuild the index from the store with the current template, then swap the alias.

    For a mapping or analyzer change: readers use the old index until the new one is full,
    and it is deleted only once the alias answers with every story.
    """
    from connectors.elasticsearch import SinkUnavailable
    from connectors.es_sync import reindex

    settings = _settings(db, config)
    sink = _sink(settings)
    store = _open(settings)
    try:
        result, new, old = reindex(store, sink, keep_old)
    except (SinkUnavailable, ValueError) as exc:
        raise _Failed(str(exc)) from exc
    finally:
        store.close()
    click.echo(
        f"reindexed: {result.indexed} stories into {new}"
        + (f", {'kept' if keep_old else 'removed'} {', '.join(old)}" if old else "")
        + (f", {len(result.rejected)} refused" if result.rejected else "")
        + (f", {result.expired} past retention left out" if result.expired else "")
    )


@es.command("status")
@_store_options
@click.option("--json", "as_json", is_flag=True, help="The counts as one JSON object.")
def es_status(db: str | None, config: Path | None, as_json: bool) -> None:
    """Stories indexed, refused and pending according to the store."""
    with _opened(_settings(db, config)) as store:
        counts = store.es_counts()
    if as_json:
        click.echo(json.dumps(dict(sorted(counts.items()))))
    else:
        click.echo(" ".join(f"{state}={n}" for state, n in sorted(counts.items())))


@cli.group(invoke_without_command=True)
@_store_options
@click.option("--rule", help="Only this rule's alerts.")
@click.option("-n", "--limit", default=20, show_default=True, help="Most alerts to show.")
@click.option("--unsent", is_flag=True, help="Only alerts with a message not sent yet.")
@_filter_options("alerts fired")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert.")
@click.pass_context
def alerts(
    ctx: click.Context,
    db: str | None,
    config: Path | None,
    rule: str | None,
    limit: int,
    unsent: bool,
    wanted: StoryFilter,
    as_json: bool,
) -> None:
    """List alerts, newest first, with each channel's delivery state.

    Rules are in deploy/alerts.yml (NEWSMON_ALERT_RULES); `newsmon run` checks them
    against every new story and sends through the configured channels.
    """
    if ctx.invoked_subcommand is not None:
        return
    with _opened(_settings(db, config)) as store:
        found: list[AlertRecord | FeedAlert] = [
            *store.alerts(rule=rule, limit=limit, unsent=unsent, wanted=wanted),
            *store.feed_alerts(rule=rule, limit=limit, unsent=unsent, wanted=wanted),
        ]
        counts = store.delivery_counts()
    found = sorted(found, key=lambda a: a.matched_at, reverse=True)[:limit]
    for alert in found:
        if isinstance(alert, FeedAlert):
            if as_json:
                click.echo(json.dumps(feed_alert_json(alert), ensure_ascii=False))
            else:
                click.echo(f"{alert.matched_at:%Y-%m-%d %H:%M:%S}  {describe_feed_alert(alert)}")
        elif as_json:
            click.echo(json.dumps(alert_json(alert), ensure_ascii=False))
        else:
            click.echo(f"{alert.matched_at:%Y-%m-%d %H:%M:%S}  {describe_alert(alert)}")
            for update in alert.updates:
                click.echo(
                    f"    update {update.matched_at:%Y-%m-%d %H:%M:%S}  {update.title}"
                    f" [{update.article_id}]"
                    + (" (in an update message)" if update.in_message else "")
                )
    if not as_json:
        if not found:
            click.echo(f"no alerts{_filtered(wanted)}", err=True)
        click.echo("outbox: " + ", ".join(f"{n} {state}" for state, n in counts.items()), err=True)


@alerts.command("retry")
@_store_options
@click.option("--given-up", is_flag=True, help="Also try again what was given up.")
def alerts_retry(db: str | None, config: Path | None, given_up: bool) -> None:
    """Send every pending alert now (ignoring backoff), and any finished day's digest.

    \b
    Exit status: 0 every message tried was sent, 1 some failed (to retry or given up),
    2 could not run (bad settings, store, rules).
    """
    from newsmon.alerts.channels import channel_problems
    from newsmon.alerts.outbox import send_outbox
    from newsmon.compose import alert_config

    settings = _settings(db, config)
    rules = _alert_rules(settings)
    on_sent = None
    if os.environ.get("PREFECT_API_URL"):
        # Only with a server to hear them: emitting would otherwise start a temporary one.
        from flows.events import emit_alert_sent

        on_sent = emit_alert_sent
    with _opened(settings) as store:
        done = send_outbox(
            store,
            alert_config(settings),
            rules,
            ignore_backoff=True,
            requeue_given_up=given_up,
            on_sent=on_sent,
        )
    report, counts = done.report, done.counts
    if given_up:
        click.echo(f"requeued: {done.requeued} given-up deliveries")
    for name, problem in channel_problems(alert_config(settings)).items():
        click.echo(f"{name}: {problem}", err=True)
    click.echo(
        f"sent {report.sent}, to retry {report.retrying}, given up {report.given_up}"
        + (f" ({done.digests} digest messages written)" if done.digests else "")
        + (f" ({done.updates} update messages written)" if done.updates else "")
        + f"; outbox: {counts['pending']} pending, {counts['given-up']} given up"
    )
    sys.exit(EXIT_SOME_REJECTED if report.retrying or report.given_up else EXIT_OK)


def _rule_channels(rule: Any, config: Any, problems: dict[str, str]) -> dict[str, str]:
    """Where each of a rule's channels sends: its target, or why it cannot."""
    from newsmon.alerts.channels import channel_targets

    targets = {t.channel: t.target for t in channel_targets(rule, config)}
    return {
        name: targets.get(name) or problems.get(name) or "no recipients" for name in rule.channels
    }


def _echo_channels(rule: Any, config: Any, problems: dict[str, str]) -> None:
    for name, where in _rule_channels(rule, config, problems).items():
        click.echo(f"  {name}: {where}")


@alerts.command("rules")
@click.option("--config", type=click.Path(path_type=Path), help="TOML settings file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
def alerts_rules(config: Path | None, as_json: bool) -> None:
    """Check the rules file and show each rule with entity names and where it sends."""
    from enrich.entities import tagger_for
    from newsmon.alerts.channels import channel_problems
    from newsmon.compose import alert_config

    settings = _settings(None, config)
    rules = _alert_rules(settings)
    entities = tagger_for(settings.gazetteer).gazetteer.entities
    labels = {i: e.label("en") for i, e in entities.items()}
    alerts = alert_config(settings)
    problems = channel_problems(alerts)
    unknown = 0
    for rule in rules:
        ids = [*rule.all_of, *rule.any_of, *rule.none_of]
        unknown += sum(i not in labels for i in ids)
        if as_json:
            record = {
                **rule.model_dump(mode="json"),
                "entity_labels": {i: labels.get(i) for i in ids},
                "sends_to": _rule_channels(rule, alerts, problems),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        click.echo(f"{rule.name}: {rule.description}".rstrip(": "))
        for field in ("all_of", "any_of", "none_of"):
            ids = getattr(rule, field)
            if ids:
                named = ", ".join(f"{i} ({labels.get(i, 'not in the gazetteer')})" for i in ids)
                click.echo(f"  {field}: {named}")
        for field in ("query", "lang"):
            if getattr(rule, field):
                click.echo(f"  {field}: {getattr(rule, field)}")
        if rule.feed_silent is not None:
            watched = ", ".join(rule.feeds) or "every feed"
            click.echo(f"  feed_silent: {rule.feed_silent:g} s ({watched})")
            click.echo("  sends: once per silence of a feed")
            _echo_channels(rule, alerts, problems)
            continue
        mode = "daily digest" if rule.digest else f"each new {rule.per}"
        if rule.per == "event" and rule.updates == "digest":
            mode += (
                " (its later stories sent as replies to its alert, at most one message per"
                f" {rule.updates_every:g} s)"
            )
        elif rule.per == "event" and not rule.digest:
            mode += " (its later stories listed as updates)"
        if rule.breaking:
            mode = (
                f"once per event, when {rule.breaking.sources} outlets have reported it"
                f" within {rule.breaking.within:g} s"
            )
        if rule.throttle:
            mode += f", at most one per {rule.throttle:g} s"
        click.echo(f"  sends: {mode}")
        _echo_channels(rule, alerts, problems)
    if unknown:
        click.echo(
            f"{unknown} entity ids are not in the gazetteer: those rules cannot match", err=True
        )
        sys.exit(EXIT_SOME_REJECTED)


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that the process unwinds and exits normally."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, handlers=[log_handler()])
    # Prefect's flow engine handles SIGTERM as a crash, then sends it again to the handler
    # it found. The default one would kill the process on the spot, skipping exit handlers:
    # Prefect's temporary API server (a child process) was left running after every
    # stopped run. Raised here instead, the run is recorded as failed and everything exits.
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(EXIT_FAILED)
    except _Terminated:
        click.echo("newsmon: stopped by SIGTERM", err=True)
        sys.exit(128 + signal.SIGTERM)
