"""Which task runner a run's batches go to, as written in NEWSMON_TASK_RUNNER."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

RunnerKind = Literal["threads", "processes", "dask"]

_FORMS = "threads[:N], processes[:N], dask, or dask://host:port"


@dataclass(frozen=True, slots=True)
class RunnerSpec:
    """A task runner: threads or processes (N workers, default one per core) or a Dask cluster."""

    kind: RunnerKind = "processes"
    workers: int | None = None
    # A Dask scheduler's address (tcp://host:port); None starts a LocalCluster for the run.
    address: str | None = None

    def worker_count(self) -> int:
        """Workers for a local pool: the number given, else the machine's cores."""
        return self.workers or os.cpu_count() or 1

    def __str__(self) -> str:
        if self.kind == "dask":
            return f"dask://{self.address.removeprefix('tcp://')}" if self.address else "dask"
        return f"{self.kind}:{self.workers}" if self.workers else self.kind


def parse_runner_spec(text: str) -> RunnerSpec:
    """Parse threads[:N], processes[:N], dask or dask://host:port; ValueError says what is wrong."""
    value = text.strip()
    if value.startswith(("dask://", "tcp://")):
        address = value.split("://", 1)[1]
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"task runner {text!r}: a Dask scheduler address is dask://host:port")
        return RunnerSpec("dask", address=f"tcp://{address}")
    kind, _, count = value.partition(":")
    if kind == "dask" and not count:
        return RunnerSpec("dask")
    pool: RunnerKind
    if kind == "threads":
        pool = "threads"
    elif kind == "processes":
        pool = "processes"
    else:
        raise ValueError(f"task runner {text!r}: expected {_FORMS}")
    if not count:
        return RunnerSpec(pool)
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"task runner {text!r}: the worker count must be a whole number ≥ 1")
    return RunnerSpec(pool, workers=int(count))
