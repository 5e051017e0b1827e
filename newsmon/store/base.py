"""The store ports: one protocol per role, each with its concurrency contract.

Every backend (SQLite now, PostgreSQL next) implements all of them; stages and services
ask for the role they use. tests/contract runs the same tests against every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from newsmon.records import (
    EVERY_STORY,
    AlertRecord,
    Article,
    ChannelTarget,
    DedupCandidate,
    Delivery,
    EventLink,
    EventMember,
    EventSource,
    EventState,
    EventSummary,
    FeedAlert,
    FeedEntry,
    FeedPoll,
    FeedState,
    Fingerprint,
    PendingUpdates,
    Rejection,
    RejectionRecord,
    RuleMatch,
    RunSummary,
    SeenFile,
    SilenceMatch,
    StoreResult,
    StoryCopies,
    StoryFilter,
    StoryLink,
)


class RunLog(Protocol):
    """The record of runs and of the inputs each refused.

    Concurrency: any number of writers. A run id is unique; rejections are appended, never
    merged, so two runs writing at once each keep all of theirs.
    """

    def begin_run(self, inputs: Sequence[str]) -> str:
        """Record the start of a run and return its id."""
        ...

    def finish_run(self, summary: RunSummary) -> None:
        """Record a run's final counts and status."""
        ...

    def add_rejections(self, run_id: str, rejections: Sequence[Rejection]) -> None:
        """Record rejected inputs against a run."""
        ...

    def rejections(self, run_id: str | None = None) -> list[RejectionRecord]:
        """Rejected inputs of one run, or of every run when run_id is None."""
        ...

    def last_run_id(self) -> str | None:
        """Id of the most recently started run, if any."""
        ...


class ArticleStore(Protocol):
    """Articles, their sources and entities, story links and the LSH index that makes them.

    Concurrency: any number of writers, each add_articles call one transaction that is
    serialised against every other (SQLite: BEGIN IMMEDIATE; a server backend: one lock).
    So stories are linked in first-seen order: of two writers storing copies of one new
    story, the second always finds the first's band keys and links to it. An article id is
    stored once however many writers offer it; every source it was seen at is kept.
    """

    def check_layout(self, layout: str) -> None:
        """Record the LSH band layout on first use; refuse a different one over stored keys."""
        ...

    def add_articles(
        self,
        fingerprints: Sequence[Fingerprint],
        run_id: str,
        link: Callable[[Fingerprint], StoryLink],
        place: Callable[[Fingerprint, StoryLink], EventLink] | None = None,
    ) -> StoreResult:
        """Store new articles with the story link() and the event place() gives each, in one
        write transaction (each event written before the next article is placed)."""
        ...

    def lsh_candidates(self, band_keys: Sequence[int], limit: int = 5) -> list[DedupCandidate]:
        """Articles sharing band keys with these, with their sketches; most shared keys
        first, at most limit."""
        ...

    def story_texts(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """For each id: (normalised text, cluster id)."""
        ...

    def stories(
        self, min_copies: int = 1, limit: int | None = None, wanted: StoryFilter = EVERY_STORY
    ) -> list[StoryCopies]:
        """Stories with their copies (first seen first), the most copied stories first.

        With a filter, only the copies it admits are counted and listed.
        """
        ...

    def reset_stories(self) -> None:
        """Forget every band key and story link (before recomputing them all)."""
        ...

    def relink(
        self, fingerprints: Sequence[Fingerprint], link: Callable[[Fingerprint], StoryLink]
    ) -> None:
        """Recompute stored articles' story links and band keys, in order."""
        ...

    def iter_articles(self, wanted: StoryFilter = EVERY_STORY) -> Iterator[Article]:
        """All articles the filter admits, oldest first."""
        ...

    def sources_of(self, article_id: str) -> list[str]:
        """Every source an article was seen at, first seen first."""
        ...

    def sources_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Every source of each article, first seen first."""
        ...

    def count_articles(self) -> int:
        """Number of stored articles."""
        ...

    def articles_by_id(self, ids: Sequence[str]) -> list[Article]:
        """Stored articles with their entities, in the order asked for (unknown ids left out)."""
        ...

    def search(
        self,
        any_of_groups: Sequence[Sequence[str]],
        limit: int,
        entity_ids: Sequence[str] = (),
        wanted: StoryFilter = EVERY_STORY,
    ) -> list[tuple[Article, float]]:
        """Articles the filter admits with, for every group, one of its terms, and every
        entity; best first."""
        ...

    def replace_entities(self, tagged: Sequence[Article]) -> None:
        """Overwrite stored articles' entities (re-tagging); Elasticsearch gets them again."""
        ...


class EventStore(Protocol):
    """Events: the state and evidence of each, and the index a new story searches.

    Concurrency: events are written inside add_articles' transaction, so what one writer
    places sees every event the writers before it opened.
    """

    def event_candidates(self, keys: Sequence[str], since: datetime, limit: int) -> list[str]:
        """Events indexed under any of the keys and seen since `since`, most keys shared first."""
        ...

    def event_states(self, ids: Sequence[str]) -> dict[str, EventState]:
        """The stored state of each event (unknown ids left out)."""
        ...

    def event_of(self, article_id: str) -> str | None:
        """The event a stored article is in, if any."""
        ...

    def events(self, limit: int, now: datetime, recent_hours: float = 24) -> list[EventSummary]:
        """Events, the most recently reported first, with sources and recent stories counted."""
        ...

    def event_members(self, event_id: str) -> list[EventMember]:
        """An event's articles in the order they were stored, with why each joined."""
        ...

    def event_sources(self, event_id: str) -> list[EventSource]:
        """Every place an event's articles were read, with publication and first-seen times."""
        ...

    def count_events(self) -> int:
        """Number of events."""
        ...

    def reset_events(self) -> None:
        """Forget every event and every article's place in one (before recomputing them)."""
        ...

    def relink_events(
        self,
        fingerprints: Sequence[Fingerprint],
        place: Callable[[Fingerprint, StoryLink], EventLink],
    ) -> None:
        """Place stored articles in events again, in order, in one transaction (rebuild)."""
        ...


class IndexOutbox(Protocol):
    """What Elasticsearch has acknowledged, refused, or still has to receive.

    Concurrency: a stored article is pending until es_mark records an outcome, so nothing
    stored is lost while the cluster is down. Two syncs at once may send a document twice;
    that is safe, because the document _id is the article id.
    """

    def es_pending(self, limit: int) -> list[Article]:
        """Articles Elasticsearch has not acknowledged or refused yet, oldest first."""
        ...

    def es_counts(self) -> dict[str, int]:
        """Articles per Elasticsearch state: indexed, rejected, expired, pending."""
        ...

    def es_mark(
        self,
        indexed: Sequence[str],
        rejected: Sequence[tuple[str, str]],
        expired: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Record Elasticsearch's acknowledgements and refusals (with its reason), and the
        stories retention has removed from it (with why)."""
        ...

    def es_reset(self) -> None:
        """Forget every acknowledgement: everything is pending again."""
        ...

    def alert_rules_for(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The rules that alerted on each article."""
        ...


class AlertOutbox(Protocol):
    """The queue of stories to check, the alerts they fired, and the deliveries to send.

    Concurrency: record_alerts dequeues each article once, whoever calls it, and a story
    alerts at most once per rule (the story key is unique). claim_deliveries leases rows to
    one owner: two senders never hold the same delivery, and a lease that lapses (a crashed
    sender) makes the row claimable again. mark_failed applies only for the owner holding
    the lease; mark_sent always applies, because the message has gone out.
    """

    def alert_queue(self, limit: int) -> list[Article]:
        """Stored articles the alert rules have not been checked against yet, oldest first."""
        ...

    def record_alerts(
        self, run_id: str | None, checked: Sequence[str], found: Sequence[RuleMatch], now: datetime
    ) -> tuple[list[AlertRecord], list[str]]:
        """Dequeue checked articles and record their matches; (new alerts, ids dequeued)."""
        ...

    def undigested(self, rule: str) -> list[tuple[int, datetime]]:
        """A digest rule's alerts not yet in a digest: (alert id, matched at), oldest first."""
        ...

    def add_digest(
        self,
        rule: str,
        day: str,
        alert_ids: Sequence[int],
        channels: Sequence[ChannelTarget],
        now: datetime,
    ) -> int:
        """Write one digest delivery per channel for a rule's day; returns how many."""
        ...

    def pending_updates(self, rule: str) -> list[PendingUpdates]:
        """A rule's alerts with later stories waiting for an update message, oldest first."""
        ...

    def add_updates(
        self, pending: PendingUpdates, channels: Sequence[ChannelTarget], now: datetime
    ) -> int:
        """Write one update delivery per channel with the waiting stories; returns how many.

        A story goes into one update message whoever calls it: one sent by another caller
        meanwhile is left out.
        """
        ...

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
        """Reserve due, unreserved pending deliveries for this sender (an attempt each)."""
        ...

    def mark_sent(self, delivery_id: int, at: datetime, note: str | None = None) -> None:
        """Record that the channel accepted the message (note: what it said, if anything)."""
        ...

    def mark_failed(
        self, delivery_id: int, owner: str, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: pending again from retry_at, or given up when None."""
        ...

    def requeue_given_up(self, now: datetime) -> int:
        """Make every given-up delivery pending again."""
        ...

    def delivery_counts(self) -> dict[str, int]:
        """Deliveries per state: pending, sent, given-up."""
        ...

    def alerts(
        self,
        rule: str | None = None,
        limit: int = 50,
        unsent: bool = False,
        wanted: StoryFilter = EVERY_STORY,
    ) -> list[AlertRecord]:
        """Alerts, newest first, with their deliveries; since/until bound when they fired,
        sources and languages are the alerted story's."""
        ...

    def alerts_by_id(self, ids: Sequence[int]) -> list[AlertRecord]:
        """Alerts with their deliveries, in the order asked for."""
        ...


class FeedStore(Protocol):
    """Each feed's poll state and every story page the feeds listed.

    Concurrency: add_entries records a page URL once, whoever lists it; due_entries hands
    out pending pages, and mark_entries settles each (stored, retried later, or refused).
    """

    def feed_states(self) -> dict[str, FeedState]:
        """Every polled feed's remembered state."""
        ...

    def record_poll(
        self,
        url: str,
        poll: FeedPoll,
        new_entries: int,
        interval: float,
        next_poll_at: datetime,
        now: datetime,
    ) -> None:
        """Remember a poll's outcome, validators, interval and next poll."""
        ...

    def note_silent(self, names: Sequence[str], now: datetime) -> None:
        """Record that these feeds' silence was announced now."""
        ...

    def add_entries(self, entries: Sequence[FeedEntry], now: datetime) -> list[FeedEntry]:
        """Record listed pages; those new and not yet stored."""
        ...

    def due_entries(self, now: datetime, limit: int) -> list[FeedEntry]:
        """Pending pages whose next attempt is due."""
        ...

    def mark_entries(
        self, stored: Sequence[str], failed: Sequence[tuple[str, str, datetime | None]]
    ) -> None:
        """Pages stored; pages failed (retry at a time, or None: refused)."""
        ...


class FeedAlerts(Protocol):
    """Feed silences that fired a `feed_silent` rule; their deliveries are in the outbox.

    Concurrency: a silence (rule, feed, the time it went quiet) is recorded once, whoever
    records it first; only that caller writes its deliveries.
    """

    def record_feed_alerts(
        self, run_id: str | None, found: Sequence[SilenceMatch], now: datetime
    ) -> list[FeedAlert]:
        """Record each silence once per rule, with a delivery per channel; the new ones."""
        ...

    def feed_alerts_by_id(self, ids: Sequence[int]) -> list[FeedAlert]:
        """Feed alerts with their deliveries, in the order asked for (unknown ids left out)."""
        ...

    def feed_alerts(
        self,
        rule: str | None = None,
        limit: int = 50,
        unsent: bool = False,
        wanted: StoryFilter = EVERY_STORY,
    ) -> list[FeedAlert]:
        """Feed alerts, newest first; unsent: only those with a delivery not sent; since/until
        bound when they fired, sources match the feed, any language filter admits none."""
        ...


class SeenFiles(Protocol):
    """The drop folder's memory: what each file was (size, mtime, hash) when it was read.

    Concurrency: any number of writers; the last write of a path wins. A file is remembered
    only after its batch is stored, so a crash in between costs a re-read, never a story.
    """

    def seen_files(self, paths: Sequence[str]) -> dict[str, SeenFile]:
        """The remembered stamp of each of these paths that was read before."""
        ...

    def remember_files(self, files: Sequence[SeenFile]) -> None:
        """Record these files as read (replacing what was remembered of the same paths)."""
        ...


class Store(
    RunLog,
    ArticleStore,
    EventStore,
    IndexOutbox,
    AlertOutbox,
    FeedStore,
    FeedAlerts,
    SeenFiles,
    Protocol,
):
    """Every role over one backend and one connection."""

    def close(self) -> None:
        """Release the connection."""
        ...
