"""The store interface every backend (SQLite now, PostgreSQL later) implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from newsmon.records import Article, Rejection, RejectionRecord, RunSummary, StoreResult


class Store(Protocol):
    """Durable state of newsmon: articles, their sources, runs and rejected inputs."""

    def begin_run(self, inputs: Sequence[str]) -> str:
        """Record the start of a run and return its id."""
        ...

    def finish_run(self, summary: RunSummary) -> None:
        """Record a run's final counts and status."""
        ...

    def add_articles(self, articles: Sequence[Article], run_id: str) -> StoreResult:
        """Store articles not yet known (by id); known ones only gain their new source."""
        ...

    def add_rejections(self, run_id: str, rejections: Sequence[Rejection]) -> None:
        """Record rejected inputs against a run."""
        ...

    def iter_articles(self) -> Iterator[Article]:
        """All articles, oldest first."""
        ...

    def sources_of(self, article_id: str) -> list[str]:
        """Every source an article was seen at, first seen first."""
        ...

    def count_articles(self) -> int:
        """Number of stored articles."""
        ...

    def search(
        self, any_of_groups: Sequence[Sequence[str]], limit: int
    ) -> list[tuple[Article, float]]:
        """Articles with, for every group, at least one of its terms; best match first."""
        ...

    def rejections(self, run_id: str | None = None) -> list[RejectionRecord]:
        """Rejected inputs of one run, or of every run when run_id is None."""
        ...

    def last_run_id(self) -> str | None:
        """Id of the most recently started run, if any."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
