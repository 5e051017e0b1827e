"""Events stage: each new story joins the event it reports, or opens one.

Dedup links copies of one text; ten outlets writing ten different articles about one call
are ten stories. Here each story is compared with the events of its time window by the
evidence independent reports share (enrich.event_terms: rare words, entity ids), and joins
the most similar one above a threshold. Linking runs inside the store's write transaction,
in first-seen order, like dedup: two processes never both open an event for one happening,
and the outcome depends only on the stories stored before.

Cost per story is bounded: candidates come from an index of each event's heaviest evidence,
restricted to events seen within the window and its tail, at most `candidates` of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from enrich.event_terms import event_terms
from newsmon.records import Article, EventLink, EventState, Fingerprint, StoryLink

Terms = tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class EventParams:
    """The events knobs (see docs/decisions.md for how the defaults were chosen)."""

    # A story joins an event seen within this many hours of it (either side).
    window_hours: float = 48.0
    # Cosine similarity of the story's evidence and the event's summed evidence.
    min_score: float = 0.10
    # Past the window a story may still join on stronger evidence: the score it needs rises
    # from min_score to twice that over this many more hours (an announcement, then the
    # meeting three days later). Zero closes events at the window.
    tail_hours: float = 48.0
    # Entries an event keeps (summed over its stories), and how many of them index it.
    profile_terms: int = 100
    key_terms: int = 40
    # Events compared per story, those sharing the most indexed evidence first.
    candidates: int = 20
    # An event's index rows carry its last story time as of their last rewrite; they are
    # rewritten when its indexed entries change or that time is this old, not per story.
    reindex_hours: float = 1.0
    # Entries stored as the reason a story joined.
    shared_shown: int = 8


class EventIndex(Protocol):
    """What linking needs from the store: recent events by evidence, their states."""

    def event_candidates(self, keys: Sequence[str], since: datetime, limit: int) -> list[str]:
        """Events indexed under any of the keys and seen since `since`, most keys shared first."""
        ...

    def event_states(self, ids: Sequence[str]) -> dict[str, EventState]:
        """The stored state of each event."""
        ...

    def event_of(self, article_id: str) -> str | None:
        """The event a stored article is in, if any."""
        ...


def story_time(article: Article) -> datetime:
    """When the story happened as far as events go: published, else first seen (UTC)."""
    return article.story_time()


def required_score(gap: timedelta, params: EventParams) -> float | None:
    """The score a story needs to join an event `gap` away from it; None when too far."""
    over = gap.total_seconds() / 3600 - params.window_hours
    if over <= 0:
        return params.min_score
    if over > params.tail_hours:
        return None
    return params.min_score * (1 + over / params.tail_hours)


def event_gap(event: EventState, at: datetime) -> timedelta:
    """How far a time lies outside an event's span (zero inside it)."""
    return max(event.first_seen - at, at - event.last_seen, timedelta(0))


def similarity(story: Terms | Mapping[str, float], profile: Terms) -> float:
    """Cosine of a story's (unit) evidence and an event's summed evidence.

    One pass over the profile: a story is compared with up to 20 events, each a hundred
    entries, and this runs inside the store's write transaction.
    """
    weights = story if isinstance(story, Mapping) else dict(story)
    dot = norm = 0.0
    for term, weight in profile:
        norm += weight * weight
        dot += weight * weights.get(term, 0.0)
    return dot / math.sqrt(norm) if norm else 0.0


def shared_evidence(story: Terms, profile: Terms, limit: int) -> tuple[str, ...]:
    """The entries both hold, the heaviest in common first."""
    weights = dict(profile)
    common = sorted(((w * weights[t], t) for t, w in story if t in weights), reverse=True)
    return tuple(t for _, t in common[:limit])


def merged_profile(profile: Terms, story: Terms, limit: int) -> Terms:
    """The event's evidence with one more story's added, heaviest `limit` entries kept."""
    summed = dict(profile)
    for term, weight in story:
        summed[term] = summed.get(term, 0.0) + weight
    ranked = sorted(summed.items(), key=lambda p: (-p[1], p[0]))
    return tuple((t, round(w, 5)) for t, w in ranked[:limit])


def _opened(article: Article, terms: Terms, at: datetime, params: EventParams) -> EventLink:
    state = EventState(
        id=article.id,
        title=article.title,
        first_seen=at,
        last_seen=at,
        stories=1,
        articles=1,
        profile=merged_profile((), terms, params.profile_terms),
        indexed_seen=at,
    )
    return EventLink(event=state, opened=True, keys=index_keys(state, params))


def _grown(event: EventState, at: datetime, story: Terms | None, params: EventParams) -> EventState:
    profile = (
        event.profile
        if story is None
        else merged_profile(event.profile, story, params.profile_terms)
    )
    return EventState(
        id=event.id,
        title=event.title,
        first_seen=min(event.first_seen, at),
        last_seen=max(event.last_seen, at),
        stories=event.stories + (story is not None),
        articles=event.articles + 1,
        profile=profile,
        indexed_seen=event.indexed_seen,
    )


def _reindexed(before: EventState, after: EventState, params: EventParams) -> EventLink | None:
    """The event's new index keys when its rows must be rewritten, else None."""
    keys = index_keys(after, params)
    stale = after.last_seen - before.indexed_seen >= timedelta(hours=params.reindex_hours)
    if keys == index_keys(before, params) and not stale:
        return None
    return EventLink(event=replace(after, indexed_seen=after.last_seen), keys=keys)


def link_event(
    fp: Fingerprint, story: StoryLink, index: EventIndex, params: EventParams
) -> EventLink:
    """The event a newly stored article belongs to: its story's, the best match, or a new one."""
    article = fp.article
    at = story_time(article)
    if story.duplicate_of is not None:
        # A copy reports what its story reports.
        event_id = index.event_of(story.cluster_id)
        if event_id is not None:
            before = index.event_states([event_id])[event_id]
            after = _grown(before, at, None, params)
            return _reindexed(before, after, params) or EventLink(event=after)
    terms = fp.event_terms or event_terms(article)
    reach = timedelta(hours=params.window_hours + params.tail_hours)
    # Index rows may lag an event's last story by up to reindex_hours: look that much further.
    since = at - reach - timedelta(hours=params.reindex_hours)
    found = index.event_candidates([t for t, _ in terms], since, params.candidates)
    states = index.event_states(found)
    weights = dict(terms)
    best: tuple[float, EventState] | None = None
    for event_id in found:
        event = states[event_id]
        needed = required_score(event_gap(event, at), params)
        if needed is None:
            continue  # out of reach: a backfilled story, or an index row that lags
        score = similarity(weights, event.profile)
        if score >= needed and (best is None or score > best[0]):
            best = (score, event)
    if best is None:
        return _opened(article, terms, at, params)
    score, event = best
    grown = _grown(event, at, terms, params)
    reindexed = _reindexed(event, grown, params)
    return EventLink(
        event=reindexed.event if reindexed else grown,
        score=round(score, 4),
        shared=shared_evidence(terms, event.profile, params.shared_shown),
        keys=reindexed.keys if reindexed else (),
    )


def index_keys(event: EventState, params: EventParams) -> tuple[str, ...]:
    """The entries an event is found by: the heaviest of its profile."""
    return tuple(t for t, _ in event.profile[: params.key_terms])


class EventRebuild(EventIndex, Protocol):
    """What recomputing every event needs from the store."""

    def reset_events(self) -> None:
        """Forget every event and every article's place in one."""
        ...

    def iter_articles(self) -> Iterator[Article]:
        """All articles, oldest first."""
        ...

    def relink_events(
        self,
        fingerprints: Sequence[Fingerprint],
        place: Callable[[Fingerprint, StoryLink], EventLink],
    ) -> None:
        """Place stored articles in events again, in order, in one transaction."""
        ...


def rebuild_events(store: EventRebuild, params: EventParams, batch_size: int = 500) -> int:
    """Recompute every article's event, oldest article first; returns articles seen."""
    store.reset_events()
    # Read everything first: relinking writes to the table the cursor would be reading.
    articles = list(store.iter_articles())
    for start in range(0, len(articles), batch_size):
        batch = [
            Fingerprint(a, 0, (), event_terms=event_terms(a))
            for a in articles[start : start + batch_size]
        ]
        store.relink_events(batch, lambda fp, story: link_event(fp, story, store, params))
    return len(articles)
