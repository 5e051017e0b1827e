"""Prefect flow `ingest-files`: batches of files prepared side by side, stored in order."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connectors.drop_folder import move_processed, split_seen, stamp_file
from connectors.files import discover, display_path
from flows.pipeline import PipelineRun, pipeline_run, prepare_files_task
from newsmon.compose import PipelineConfig, pipeline_config
from newsmon.progress import RunProgress
from newsmon.records import Rejection, RunSummary, SeenFile, StageOutput
from newsmon.settings import load_settings
from newsmon.stages import balanced_batch_size, batched

# Plain logger: the CLI shows it on the console, Prefect forwards it to its API
# (PREFECT_LOGGING_EXTRA_LOGGERS=newsmon), so no Prefect import is needed to read progress.
log = logging.getLogger("newsmon.ingest")


# Batches are large and never reused: hashing them for a cache key would cost more than the work.
@task(name="discover", cache_policy=NO_CACHE)
def discover_task(
    paths: list[str], follow_symlinks: bool = False, skip: list[str] | None = None
) -> StageOutput[str]:
    """Expand the given files and folders into input files."""
    return discover(paths, follow_symlinks, skip or ())


Stamped = list[tuple[str, SeenFile | None]]


def _settle(
    run: PipelineRun, stamped: Stamped, rejections: list[Rejection], move_to: str | None
) -> None:
    """After a batch is stored: move its files read whole to move_to, remember the rest by
    the stamps they had before the batch was read."""
    files = [path for path, _ in stamped]
    if move_to is not None:
        # A cut text is stored (its rejection only says so); every other one refused the file.
        refused = {r.source for r in rejections if r.stage != "truncate"}
        movable = [f for f in files if display_path(f) not in refused]
        kept, failed = move_processed(movable, run.inputs, Path(move_to))
        run.reject(failed)
        files = [f for f in files if display_path(f) in refused] + kept
    remembered = set(files)
    run.store.remember_files([s for path, s in stamped if s is not None and path in remembered])


@flow(name="ingest-files", validate_parameters=False)
def ingest_files(
    paths: list[str],
    config: PipelineConfig | None = None,
    remember: bool = False,
    move_to: str | None = None,
) -> RunSummary:
    """Ingest files and folders: load, decode, clean, build, tag entities, dedup, store.

    remember (a drop folder): skip files read before and unchanged since, and remember the
    ones read. move_to: move each file read whole into this folder once it is stored (a
    file refused stays, remembered). Without a config (a deployment run) the settings are
    read from NEWSMON_* variables.
    """
    config = config or pipeline_config(load_settings())
    remember = remember or move_to is not None
    with pipeline_run(config, paths) as run:
        with run.clock.stage("discover", len(paths)):
            skip = [move_to] if move_to else []
            found = discover_task(paths, config.follow_symlinks, skip)
        run.reject(found.rejections)
        files = found.items
        if remember:
            with run.clock.stage("skip-seen", len(files)):
                split = split_seen(files, run.store.seen_files)
                run.store.remember_files(split.restamped)
            files, run.unchanged = split.to_read, split.unchanged
        workers = config.task_runner.worker_count()
        size = balanced_batch_size(len(files), config.batch_size, workers)
        batches = list(batched(files, size))
        stamps: deque[Stamped] = deque()

        def jobs() -> Iterator[dict[str, Any]]:
            for batch in batches:
                if remember:
                    # Stamped before the batch is read, not after it is stored: a file
                    # changed in between must look changed to the next pass.
                    stamps.append([(path, stamp_file(path)) for path in batch])
                yield {"paths": batch, "config": config.prepare}

        total_batches = max(1, len(batches))
        # Nothing new in a drop folder: no task runner (a process pool costs seconds to start).
        prepared = (
            run.prepared(prepare_files_task, jobs(), batches=total_batches) if batches else iter(())
        )
        with RunProgress(len(files)) as progress:
            for number, batch in enumerate(prepared, start=1):
                result, rejections = run.commit(batch)
                if remember:
                    _settle(run, stamps.popleft(), rejections, move_to)
                progress.advance(batch.read)
                log.info(
                    "batch %d/%d: %d files, %d stored, %d already known, %d rejected",
                    number,
                    total_batches,
                    batch.read,
                    len(result.new_ids),
                    len(result.known_ids),
                    len(rejections),
                )
        return run.finish()
