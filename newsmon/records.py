"""Typed records that cross stage boundaries; every stage takes and returns these."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, Generic, TypeVar

C = TypeVar("C", bound=type)


def pickled_by_fields(cls: C) -> C:
    """Pickle a frozen slotted dataclass as (class, field values).

    Batches cross processes by pickle. The state methods dataclasses gives slotted classes
    call fields() for every object loaded, which made unpickling a batch cost more than
    preparing it; rebuilding through __init__ is several times faster.
    """
    names = [f.name for f in fields(cls)]
    if len(names) < 2:  # attrgetter of one name returns the value, not a tuple
        raise TypeError(f"{cls.__name__}: pickled_by_fields needs two fields or more")
    values = attrgetter(*names)

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls


def as_utc(at: datetime) -> datetime:
    """A time with a zone: a naive one (a page's day-only date) is taken as UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class ContentType(StrEnum):
    """What kind of body a raw item carries."""

    TEXT = "text/plain"
    HTML = "text/html"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RawItem:
    """Bytes as loaded from a source, before any decoding."""

    source: str
    data: bytes
    content_type: ContentType
    declared_encoding: str | None = None
    title: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    # True when title/published_at/author come from a feed entry: the page's own metadata wins.
    metadata_is_fallback: bool = False


@dataclass(frozen=True, slots=True)
class DecodedItem:
    """A raw item decoded to text, with the encoding that was detected."""

    source: str
    body: str
    content_type: ContentType
    encoding: str
    title: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    metadata_is_fallback: bool = False


@dataclass(frozen=True, slots=True)
class CleanItem:
    """Headline and clean story text, boilerplate removed."""

    source: str
    title: str
    text: str
    encoding: str
    url: str | None = None
    published_at: datetime | None = None
    author: str | None = None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Mention:
    """Where an entity is named: character offsets into the article's `field`, end exclusive."""

    start: int
    end: int
    text: str
    field: str = "text"  # "text" or "title"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class EntityTag:
    """One entity a story names, with every place it names it."""

    id: str
    label: str
    type: str
    mentions: tuple[Mention, ...]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Article:
    """A stored story: original clean text plus its normalised form."""

    id: str
    source: str
    title: str
    text: str
    text_norm: str
    lang: str
    ingested_at: datetime
    encoding: str = "utf-8"
    url: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    # Story fields, set by the dedup stage when the article is stored.
    cluster_id: str | None = None
    duplicate_of: str | None = None
    similarity: float | None = None
    # The article first stored at the same URL, when this is another version of it.
    version_of: str | None = None
    # Set by the entities stage: people, places and organisations the text names.
    entities: tuple[EntityTag, ...] = ()
    # Set by the events stage when the article is stored: the event its story reports.
    event_id: str | None = None

    def story_time(self) -> datetime:
        """When the story happened: published, else first seen (UTC).

        A publication date after the article was read is a wrong date, not the future.
        """
        read = as_utc(self.ingested_at)
        if self.published_at is None:
            return read
        return min(as_utc(self.published_at), read)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Fingerprint:
    """An article with what dedup needs: shingle count, MinHash signature and LSH band keys.

    Texts too short to compare fairly have no signature and no band keys. The shingles
    themselves are not kept: they are many times the text's size, and are recomputed from
    the text for the rare exact check (a batch crosses processes without them).
    """

    article: Article
    shingle_count: int
    band_keys: tuple[int, ...]
    signature: bytes = b""
    # What the story says about its event (enrich.event_terms): (term, weight), unit length.
    event_terms: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class DedupCandidate:
    """A stored article sharing LSH band keys with a new one, with its MinHash sketch."""

    article_id: str
    signature: bytes
    shingle_count: int


@dataclass(frozen=True, slots=True)
class StoryLink:
    """Where the dedup stage puts a new article: its story and the copy it matched, if any."""

    cluster_id: str
    duplicate_of: str | None = None
    similarity: float | None = None


@dataclass(frozen=True, slots=True)
class EventState:
    """An event as stored: its first story's headline, time span, size and evidence profile.

    first_seen and last_seen are story times (published, else ingested). profile is the sum
    of its stories' event terms, heaviest first, capped.
    """

    id: str
    title: str
    first_seen: datetime
    last_seen: datetime
    stories: int
    articles: int
    profile: tuple[tuple[str, float], ...]
    # last_seen as the event's index rows carry it (they are rewritten now and then).
    indexed_seen: datetime


@dataclass(frozen=True, slots=True)
class EventMember:
    """A stored article of an event, with why it is there (see EventLink)."""

    article: Article
    score: float | None
    shared: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventSource:
    """One place an event's article was read, with when: for counting the outlets of an event."""

    source: str
    published_at: datetime | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class EventSummary:
    """An event as `newsmon events` lists it: its state, and how widely and lately reported."""

    event: EventState
    sources: int  # distinct places (URLs, files) its articles were read at
    recent_stories: int  # stories stored in the last `recent` hours asked for


@dataclass(frozen=True, slots=True)
class EventLink:
    """Where the events stage puts a stored article, and why.

    score is the story's similarity to the event when it joined; None when it opened the
    event or is a copy (copies follow their story). shared: the heaviest evidence the story
    and the event have in common (words, and @entity ids). event: the event after it.
    opened: the article's story opened the event.
    """

    event: EventState
    score: float | None = None
    shared: tuple[str, ...] = ()
    opened: bool = False
    # The entries the event is found by from now on (the heaviest of its profile), when its
    # index rows are to be rewritten; empty when they stay as they are.
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryCopies:
    """One story with every stored copy of it, first seen first."""

    cluster_id: str
    title: str
    copies: list[Article]
    sources: list[str]


@dataclass(frozen=True, slots=True)
class StoryFilter:
    """Which stories a listing shows; an empty filter shows every story.

    since/until bound the story time (published, else first seen), both inclusive; a
    source is an outlet's host (its subdomains too) or the start of a path or URL; several
    sources or languages mean any of them.
    """

    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.sources or self.langs)


EVERY_STORY = StoryFilter()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Rejection:
    """An input that a stage refused, with the reason in words a user can act on."""

    source: str
    stage: str
    reason: str


T = TypeVar("T")
# Alert records a run summary keeps in full; the rest are only counted.
SUMMARY_ALERTS = 1000


@dataclass(frozen=True, slots=True)
class StageOutput(Generic[T]):
    """What a batch stage returns: the items that passed and the ones it rejected."""

    items: list[T] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Outcome of storing a batch: which ids were new and which were already known."""

    new_ids: list[str]
    known_ids: list[str]


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class StageTiming:
    """Wall time one stage spent over a whole run."""

    stage: str
    seconds: float
    items_in: int


@dataclass(slots=True)
class AlertTally:
    """Every alert of a run counted by rule and state, and its deliveries by state."""

    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def add(self, alert: AlertRecord) -> None:
        """Count one alert and its deliveries."""
        states = self.by_rule.setdefault(alert.rule, {})
        states[str(alert.state)] = states.get(str(alert.state), 0) + 1
        for delivery in alert.deliveries:
            self.deliveries[str(delivery.state)] = self.deliveries.get(str(delivery.state), 0) + 1
        self.total += 1


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Counts and timings of one ingestion run, as shown to the user and kept in the store."""

    run_id: str
    inputs_read: int
    stored: int
    already_known: int
    rejected: list[Rejection]
    seconds: float
    timings: list[StageTiming] = field(default_factory=list)
    error: str | None = None
    # Elasticsearch, when configured: documents acknowledged this run, left pending, and
    # why it could not be reached (the stories stay in the store and go next time).
    es_indexed: int | None = None
    es_pending: int = 0
    es_error: str | None = None
    # Alerts the rules fired on this run's stories (the first SUMMARY_ALERTS of them; a
    # backfill may fire hundreds of thousands), all of them counted, and what delivery did
    # with the outbox.
    alerts: list[AlertRecord] = field(default_factory=list)
    alert_tally: AlertTally = field(default_factory=AlertTally)
    delivery: DeliveryReport | None = None
    # Feed polls by outcome (fetched, not-modified, unchanged, failed, refused); None for files.
    feeds: dict[str, int] | None = None
    # Drop-folder files skipped unread: read by an earlier run and unchanged since.
    unchanged: int = 0
    # Feed-silence alerts this poll fired (feed_silent rules).
    feed_alerts: list[FeedAlert] = field(default_factory=list)

    @property
    def feeds_failed(self) -> int:
        """Feeds this poll could not read (failed for now, or refused)."""
        return sum((self.feeds or {}).get(outcome, 0) for outcome in ("failed", "refused"))

    @property
    def status(self) -> str:
        """`failed` when the run could not finish; for a poll, `feeds-failed` when no due
        feed could be read; else `some-rejected`, `some-feeds-failed` or `ok`."""
        if self.error:
            return "failed"
        if self.feeds_failed and self.feeds_failed == sum((self.feeds or {}).values()):
            return "feeds-failed"
        if self.rejected:
            return "some-rejected"
        return "some-feeds-failed" if self.feeds_failed else "ok"


@dataclass(slots=True)
class DeliveryReport:
    """What one pass over the outbox did: messages sent, to be retried, given up."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    errors: list[str] = field(default_factory=list)  # one line per failed attempt

    def add(self, other: DeliveryReport) -> None:
        """Fold a later pass into this one (retrying: what the later pass left to retry)."""
        self.sent += other.sent
        self.retrying = other.retrying
        self.given_up += other.given_up
        self.errors += other.errors


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One full-text search result."""

    id: str
    title: str
    source: str
    score: float
    snippet: str
    event_id: str | None = None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RejectionRecord:
    """A rejection as kept in the store, with the run it belongs to."""

    run_id: str
    source: str
    stage: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """Where one channel of a rule delivers: `email` to addresses, `webhook` to its URL."""

    channel: str
    target: str


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched a newly stored article, as the alerts stage hands it to the store.

    story_key is what makes the alert unique for its rule: the story (cluster) id when the
    rule alerts once per story, the article id when every copy counts.
    """

    rule: str
    article_id: str
    story_key: str
    channels: tuple[ChannelTarget, ...]
    throttle_seconds: float = 0.0
    digest: bool = False
    # A `per: event` rule's match on a story: when its event already alerted, it is listed
    # as an update of that alert; with update_message, it also waits for an update message.
    update: bool = False
    update_message: bool = False


class AlertState(StrEnum):
    """What became of a rule match."""

    QUEUED = "queued"  # deliveries were written to the outbox
    RECORDED = "recorded"  # no channel configured: kept and shown, nothing to send
    THROTTLED = "throttled"  # within the rule's throttle window of its previous alert
    DIGEST = "digest"  # waits for its day's digest


class DeliveryState(StrEnum):
    """Where a delivery stands in the outbox."""

    PENDING = "pending"
    SENT = "sent"
    GIVEN_UP = "given-up"


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """One channel's delivery of an alert (or of the digest it went into)."""

    id: int
    channel: str
    target: str
    state: DeliveryState
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime | None
    kind: str = "alert"


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """A later story of an alerted event: listed with the alert, not alerted again."""

    article_id: str
    title: str
    matched_at: datetime
    # Written into an update message (a rule with `updates: digest`).
    in_message: bool = False


@dataclass(frozen=True, slots=True)
class PendingUpdates:
    """An alert's later stories not yet in an update message, and when it last had one."""

    alert_id: int
    rule: str
    story_key: str
    article_ids: tuple[str, ...]
    last_message_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as kept in the store: the rule, the story and each channel's delivery."""

    id: int
    rule: str
    article_id: str
    cluster_id: str
    title: str
    matched_at: datetime
    run_id: str | None
    state: AlertState
    deliveries: tuple[DeliveryStatus, ...] = ()
    event_id: str | None = None
    updates: tuple[AlertUpdate, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox entry: one message to one channel, about one alert or one digest.

    An update (kind "update") carries an alerted event's later stories in article_ids; it
    replies to the alert's own message (replies_to, that delivery's key) about head_id.
    """

    id: int
    key: str
    rule: str
    channel: str
    kind: str  # "alert", "digest", "update" or "feed-silent"
    target: str
    attempts: int
    digest_day: str | None
    article_ids: tuple[str, ...]
    replies_to: str | None = None
    head_id: str | None = None
    feed_alert_id: int | None = None  # kind "feed-silent": the feed alert it tells of


@dataclass(frozen=True, slots=True)
class SilenceMatch:
    """A `feed_silent` rule that matched a feed: nothing new from it for longer than allowed.

    A silence is the feed and the time it went quiet: it alerts once per rule until the
    feed brings something new, when its next silence starts.
    """

    rule: str
    feed: str
    url: str
    quiet_since: datetime
    channels: tuple[ChannelTarget, ...]


@dataclass(frozen=True, slots=True)
class FeedAlert:
    """A recorded feed-silence alert, with the feed's last poll as the store knows it now."""

    id: int
    rule: str
    feed: str
    url: str
    quiet_since: datetime
    matched_at: datetime
    state: AlertState
    last_poll_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    deliveries: tuple[DeliveryStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryBrief:
    """What an alert message says about one story."""

    id: str
    cluster_id: str
    title: str
    lead: str
    lang: str
    url: str | None
    sources: tuple[str, ...]
    entities: tuple[tuple[str, str, str], ...]  # (id, label, type)
    published_at: datetime | None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One message to send: an alert about one story, a rule's digest of a day, an alerted
    event's later stories (an update, replying to the alert's message), or a silent feed."""

    key: str
    rule: str
    description: str
    kind: str
    stories: tuple[StoryBrief, ...]
    day: str | None = None
    replies_to: str | None = None
    head: StoryBrief | None = None  # an update's: the story its alert was about
    feed: FeedAlert | None = None  # a feed-silence alert's feed (and no stories)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """An item a feed lists: the story page to fetch, with the feed's headline and date."""

    feed: str
    url: str  # canonical: the story's identity
    link: str  # as the feed gave it
    article_id: str
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """What one poll of one feed found.

    status: `fetched` (parsed, entries listed), `not-modified` (304), `unchanged` (same
    bytes as last time, whatever the validators said), `failed` (try again later) or
    `refused` (the feed itself is unusable: not a feed, forbidden address).
    """

    feed: str
    status: str
    entries: tuple[FeedEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error: str | None = None
    retry_after: float | None = None
    rejected: tuple[Rejection, ...] = ()  # entries refused (a bad link), the rest listed


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed as the store remembers it between polls."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    interval: float | None = None
    next_poll_at: datetime | None = None
    last_poll_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    failures: int = 0
    polls: int = 0
    entries_seen: int = 0
    stored: int = 0
    pending: int = 0
    last_new_at: datetime | None = None
    first_poll_at: datetime | None = None
    # When its current silence was announced (`newsmon.feed.silent`), if it was.
    silent_noted_at: datetime | None = None

    @property
    def quiet_since(self) -> datetime | None:
        """Since when the feed has brought nothing new (its first poll, if it never did)."""
        return self.last_new_at or self.first_poll_at


@dataclass(frozen=True, slots=True)
class SeenFile:
    """A drop-folder file as it was when ingested: a later pass skips it while it is so."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
