"""A progress line for long runs on a terminal: files done of total, rate, time left."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second so far."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        """The task's speed as '123 files/s' (blank until there is one)."""
        speed = task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else "", style="progress.data.speed")


class RunProgress:
    """Shows how far a run is on standard error when that is a terminal; silent otherwise."""

    def __init__(self, total: int, unit: str = "files", console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(unit),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            # Logs, a pipe or a scheduler's capture would fill with redraws: only a terminal.
            disable=not self.console.is_terminal,
        )
        self._task: TaskID = self._bar.add_task(unit, total=total)

    def advance(self, done: int) -> None:
        """Count `done` more items as finished."""
        self._bar.advance(self._task, done)

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()
