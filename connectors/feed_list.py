"""The feed list: which RSS/Atom feeds to poll, how often, in which language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from newsmon.packaged import packaged
from newsmon.yaml_model import load_yaml_model, parse_duration

DEFAULT_FEEDS = packaged("feeds.yml")


class FeedSpec(BaseModel):
    """One feed to poll."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    url: HttpUrl
    lang: str = "ar"
    interval: float = Field(default=900.0, ge=30)
    silent_after: float = Field(default=86400.0, gt=0)
    enabled: bool = True

    @field_validator("interval", "silent_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)


class FeedList(BaseModel):
    """The whole feed list file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: tuple[FeedSpec, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> FeedList:
        for attr in ("name", "url"):
            seen: set[str] = set()
            for feed in self.feeds:
                value = str(getattr(feed, attr))
                if value in seen:
                    raise ValueError(f"feed {attr} {value!r} is listed twice")
                seen.add(value)
        return self


def load_feed_list(path: Path | None = None) -> tuple[FeedSpec, ...]:
    """Read and check the feed list (default deploy/feeds.yml); only enabled feeds."""
    parsed = load_yaml_model(path or DEFAULT_FEEDS, FeedList, "feeds", "feed")
    return tuple(feed for feed in parsed.feeds if feed.enabled)
