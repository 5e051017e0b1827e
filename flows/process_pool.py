"""Prefect's process pool with workers forked from a server that has imported the stages.

Prefect's `ProcessPoolTaskRunner` spawns its workers: each starts a fresh interpreter and
imports Prefect, trafilatura, datasketch (and scipy) and camel-tools before its first batch,
about 5 s of CPU per worker per run, and a poll's first stories wait for it. Here the workers
are forked from multiprocessing's fork server, which imports those modules once, in a process
of its own that has no threads (so forking it is safe), and can be started early.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.forkserver import ensure_running
from typing import Any, Self

from prefect.task_runners import ProcessPoolTaskRunner, _initialize_process_pool_worker

PRELOAD = ["flows.worker_preload"]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def start_fork_server() -> None:
    """Start the fork server now, so its imports overlap the caller's own work (fetching)."""
    ensure_running()


def _start_worker(cwd: str, *prefect_setup: Any) -> None:
    # A forked worker is in the directory the fork server started in; paths are the caller's.
    os.chdir(cwd)
    _initialize_process_pool_worker(*prefect_setup)


class ForkServerProcessPool(ProcessPoolTaskRunner):
    """A `ProcessPoolTaskRunner` whose workers fork from the preloaded fork server."""

    def __enter__(self) -> Self:
        super().__enter__()
        spawning = self._executor
        # Prefect's own worker set-up (forwarding events and logs to this process) is kept;
        # only how the workers start changes. The spawning pool never started a process.
        self._executor = ProcessPoolExecutor(
            max_workers=self._max_workers,
            mp_context=_context,
            initializer=_start_worker,
            initargs=(
                os.getcwd(),
                self._subprocess_message_queue,
                self._initializer,
                self._initargs,
            ),
        )
        if spawning is not None:
            spawning.shutdown(wait=False)
        return self
