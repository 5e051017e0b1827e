"""Prefect flow `ingest-files`: batches of files prepared side by side, stored in order."""

from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connectors.drop_folder import move_processed, split_seen, stamp_file
from connectors.files import discover, display_path
from flows.pipeline import PipelineRun, pipeline_run, prepare_files_task
from newsmon.compose import PipelineConfig, pipeline_config
from newsmon.progress import RunProgress
from newsmon.records import Rejection, RunSummary, StageOutput
from newsmon.settings import load_settings
from newsmon.stages import batched

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


def _settle(
    run: PipelineRun, files: list[str], rejections: list[Rejection], move_to: str | None
) -> None:
    """After a batch is stored: move its files read whole to move_to, remember the rest."""
    if move_to is not None:
        # A cut text is stored (its rejection only says so); every other one refused the file.
        refused = {r.source for r in rejections if r.stage != "truncate"}
        movable = [f for f in files if display_path(f) not in refused]
        kept, failed = move_processed(movable, run.inputs, Path(move_to))
        run.reject(failed)
        files = [f for f in files if display_path(f) in refused] + kept
    stamps = [stamp for f in files if (stamp := stamp_file(f)) is not None]
    run.store.remember_files(stamps)


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
        batches = list(batched(files, config.batch_size))
        jobs = ({"paths": batch, "config": config.prepare} for batch in batches)
        total_batches = max(1, len(batches))
        # Nothing new in a drop folder: no task runner (a process pool costs seconds to start).
        prepared = (
            run.prepared(prepare_files_task, jobs, batches=total_batches) if batches else iter(())
        )
        with RunProgress(len(files)) as progress:
            read = zip(prepared, batches, strict=True)
            for number, (batch, paths_read) in enumerate(read, start=1):
                result, rejections = run.commit(batch)
                if remember:
                    _settle(run, paths_read, rejections, move_to)
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
