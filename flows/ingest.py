"""Prefect flow `ingest-files`: batches of files prepared side by side, stored in order."""

from __future__ import annotations

import logging

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connectors.files import discover
from flows.pipeline import pipeline_run, prepare_files_task
from newsmon.compose import PipelineConfig, pipeline_config
from newsmon.progress import RunProgress
from newsmon.records import RunSummary, StageOutput
from newsmon.settings import load_settings
from newsmon.stages import batched

# Plain logger: the CLI shows it on the console, Prefect forwards it to its API
# (PREFECT_LOGGING_EXTRA_LOGGERS=newsmon), so no Prefect import is needed to read progress.
log = logging.getLogger("newsmon.ingest")


# Batches are large and never reused: hashing them for a cache key would cost more than the work.
@task(name="discover", cache_policy=NO_CACHE)
def discover_task(paths: list[str], follow_symlinks: bool = False) -> StageOutput[str]:
    """Expand the given files and folders into input files."""
    return discover(paths, follow_symlinks)


@flow(name="ingest-files", validate_parameters=False)
def ingest_files(paths: list[str], config: PipelineConfig | None = None) -> RunSummary:
    """Ingest files and folders: load, decode, clean, build, tag entities, dedup, store.

    Without a config (a deployment run) the settings are read from NEWSMON_* variables.
    """
    config = config or pipeline_config(load_settings())
    with pipeline_run(config, paths) as run:
        with run.clock.stage("discover", len(paths)):
            found = discover_task(paths, config.follow_symlinks)
        run.reject(found.rejections)
        files = found.items
        total_batches = max(1, -(-len(files) // config.batch_size))
        jobs = (
            {"paths": batch, "config": config.prepare}
            for batch in batched(files, config.batch_size)
        )
        prepared = run.prepared(prepare_files_task, jobs, batches=total_batches)
        with RunProgress(len(files)) as progress:
            for number, batch in enumerate(prepared, start=1):
                result, rejections = run.commit(batch)
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
