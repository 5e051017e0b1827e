"""Alert rules: the YAML file's schema, loading with clear errors, and matching an article."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from enrich.arabic import normalize_text, search_terms, words
from enrich.query import Query, parse_query, query_matches
from newsmon.packaged import packaged
from newsmon.records import Article
from newsmon.yaml_model import parse_duration, parse_yaml_model, read_config

DEFAULT_RULES = packaged("alerts.yml")
ChannelName = Literal["email", "webhook", "slack", "teams", "telegram"]
# A rule that names no channels sends through every one that is configured.
CHANNELS: tuple[ChannelName, ...] = ("email", "webhook", "slack", "teams", "telegram")


Names = Annotated[tuple[str, ...], Field(default=())]


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


class Breaking(BaseModel):
    """When an event counts as breaking: this many distinct outlets report it within `within`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: int = Field(ge=2)
    within: float = Field(gt=0)

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        """Seconds, or a number with a unit: 90s, 30m, 2h, 1d."""
        return parse_duration(value)


class AlertRule(BaseModel):
    """One rule: which new stories it matches, how often it may alert, and where to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = ""
    enabled: bool = True
    all_of: Names
    any_of: Names
    none_of: Names
    query: str | None = None
    lang: Names
    new_story_only: bool = True
    # What alerts once: each new event (its later stories are listed as updates), each new
    # story (a near-duplicate cluster), or each new copy. Default: story, or copy when
    # new_story_only is false (the older spelling of the same choice).
    per: Literal["event", "story", "copy"] = "story"
    # Alert once per event, when `sources` distinct outlets have reported it within `within`
    # (instead of on its first story).
    breaking: Breaking | None = None
    # A per-event alert's later stories: only listed (`newsmon alerts`), or also sent as
    # update messages replying to the alert, at most one per `updates_every`.
    updates: Literal["list", "digest"] = "list"
    updates_every: float = Field(default=3600.0, ge=0)
    throttle: float = Field(default=0.0, ge=0)
    digest: Literal["daily"] | None = None
    channels: tuple[ChannelName, ...] = CHANNELS
    email_to: Names
    # A feed rule instead of a story rule: alert once when a feed (of `feeds`, default all)
    # has brought nothing new for this long, and again only after it has spoken since.
    feed_silent: float | None = Field(default=None, gt=0)
    feeds: Names

    @field_validator(
        "all_of", "any_of", "none_of", "lang", "email_to", "channels", "feeds", mode="before"
    )
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _as_tuple(value)

    @model_validator(mode="before")
    @classmethod
    def _per_from_new_story_only(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        copies = data.get("new_story_only") is False
        if "per" not in data:
            return {**data, "per": "copy" if copies else "story"}
        if copies and data["per"] != "copy":
            raise ValueError(f"new_story_only: false contradicts per: {data['per']}")
        return data

    @field_validator("throttle", "updates_every", "feed_silent", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        """Seconds, or a number with a unit: 90s, 30m, 2h, 1d."""
        return parse_duration(value)

    @model_validator(mode="after")
    def _has_condition(self) -> AlertRule:
        if self.feed_silent is not None:
            return self._feed_rule()
        if self.feeds:
            raise ValueError("feeds names the feeds a feed_silent rule watches: add feed_silent")
        if not (self.all_of or self.any_of or (self.query and self.query.strip())):
            raise ValueError("needs all_of, any_of or query: it would alert on every story")
        if self.query is not None and not parse_query(self.query):  # QueryError: a ValueError
            raise ValueError(f"query {self.query!r} has no words to match")
        if self.breaking is not None and self.digest is not None:
            raise ValueError("breaking alerts as it happens; it cannot also be a daily digest")
        if self.updates == "digest" and (
            self.per != "event" or self.digest is not None or self.breaking is not None
        ):
            raise ValueError(
                "updates: digest sends an event's later stories after its alert: it needs"
                " per: event, without digest or breaking"
            )
        return self

    def _feed_rule(self) -> AlertRule:
        story_only = [
            name
            for name in ("all_of", "any_of", "none_of", "query", "lang", "breaking", "digest")
            if getattr(self, name)
        ]
        story_only += ["per"] if self.per != "story" else []
        story_only += ["updates"] if self.updates != "list" else []
        story_only += ["throttle"] if self.throttle else []
        if story_only:
            raise ValueError(
                f"feed_silent watches feeds, not stories: it cannot take {', '.join(story_only)}"
            )
        return self

    @property
    def parsed_query(self) -> Query:
        """The query's AND-ed clauses of OR-ed words and phrases (enrich.query)."""
        return parse_query(self.query) if self.query else ()


class RulesFile(BaseModel):
    """The whole rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[AlertRule, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> RulesFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self


def load_alert_rules(path: Path | None = None) -> tuple[AlertRule, ...]:
    """Read and check the rules file (default deploy/alerts.yml); only enabled rules.

    A run reads it for every batch, so an edit takes effect at the next batch; the text is
    parsed and checked again only when it changed.
    """
    path = path or DEFAULT_RULES
    return _parsed_rules(path, read_config(path, "rule"))


@lru_cache(maxsize=8)
def _parsed_rules(path: Path, text: str) -> tuple[AlertRule, ...]:
    # Keyed by the text, not the file's times: two saves within one clock tick look alike.
    parsed = parse_yaml_model(path, text, RulesFile, "rules", "rule")
    return tuple(rule for rule in parsed.rules if rule.enabled)


def _normalized(article: Article) -> str:
    return (
        normalize_text(article.title) + "\n" + (article.text_norm or normalize_text(article.text))
    )


def article_terms(article: Article) -> frozenset[str]:
    """Every word form of the headline and text, clitic-free forms included."""
    return frozenset(search_terms(_normalized(article)).split())


def matches(rule: AlertRule, article: Article, terms: frozenset[str] | None = None) -> bool:
    """Whether the article satisfies every condition of the rule."""
    ids = {tag.id for tag in article.entities}
    if not ids.issuperset(rule.all_of):
        return False
    if rule.any_of and ids.isdisjoint(rule.any_of):
        return False
    if not ids.isdisjoint(rule.none_of):
        return False
    if rule.lang and article.lang not in rule.lang:
        return False
    query = rule.parsed_query
    if query:
        terms = article_terms(article) if terms is None else terms
        return query_matches(query, terms, lambda: words(_normalized(article)))
    return True


def matching_rules(rules: Sequence[AlertRule], article: Article) -> list[AlertRule]:
    """The story rules an article matches, in file order."""
    terms = article_terms(article) if any(rule.query for rule in rules) else frozenset()
    return [rule for rule in rules if rule.feed_silent is None and matches(rule, article, terms)]
