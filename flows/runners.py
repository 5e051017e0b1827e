"""Prefect task runners for a run's batches, and results taken back in submission order."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.process_pool import ForkServerProcessPool
from newsmon.runner_spec import RunnerSpec

R = TypeVar("R")


def task_runner_for(spec: RunnerSpec, batches: int | None = None) -> TaskRunner[Any]:
    """The runner the spec names; a local pool gets no more workers than there are batches."""
    if spec.kind == "dask":
        from prefect_dask.task_runners import DaskTaskRunner

        if spec.address:
            return DaskTaskRunner(address=spec.address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            # One thread per worker process: the stages hold the GIL.
            cluster_kwargs={
                "n_workers": spec.worker_count(),
                "threads_per_worker": 1,
                "dashboard_address": None,
            },
        )
    workers = _local_workers(spec, batches)
    if uses_processes(spec, batches):
        return ForkServerProcessPool(max_workers=workers)
    return ThreadPoolTaskRunner(max_workers=workers)


def _local_workers(spec: RunnerSpec, batches: int | None) -> int:
    workers = spec.worker_count()
    return workers if batches is None else max(1, min(workers, batches))


def uses_processes(spec: RunnerSpec, batches: int | None = None) -> bool:
    """Whether the run's batches go to local worker processes (forked from the fork server)."""
    # A single batch gains nothing from another process, and would pay its start-up.
    return spec.kind == "processes" and _local_workers(spec, batches) > 1


@contextmanager
def workers_share_api(runner: TaskRunner[Any]) -> Iterator[None]:
    """Point other processes' task runs at this run's Prefect API, even an ephemeral one.

    Without a server URL the flow runs on a temporary server of its own; a worker process
    told nothing would start another (seconds each) and record its task runs there, lost.
    """
    if isinstance(runner, ThreadPoolTaskRunner) or get_current_settings().api.url:
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    # The flow's client has started the temporary server; this returns that same instance.
    with temporary_settings(updates={PREFECT_API_URL: SubprocessASGIServer().api_url}):
        yield


def in_order(
    runner: TaskRunner[Any],
    task: Task[..., R],
    jobs: Iterable[dict[str, Any]],
    window: int,
) -> Iterator[R]:
    """Submit a task per job's parameters, at most `window` in flight; yield results in order.

    Later batches are prepared while earlier ones are being stored, and the store still sees
    them in the order they were read, so the first copy of a story stays the first.
    """
    pending: deque[PrefectFuture[R]] = deque()
    for parameters in jobs:
        pending.append(runner.submit(task, parameters))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
