"""Prefect flow `ingest-files`: one task run per stage per batch over files and folders."""

from __future__ import annotations

import logging

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connectors.files import discover, load_files
from flows.pipeline import may_pass_on_retry, pipeline_run
from newsmon.compose import PipelineConfig, pipeline_config
from newsmon.records import RawItem, RunSummary, StageOutput
from newsmon.settings import load_settings
from newsmon.stages import batched

# Plain logger: the CLI shows it on the console, Prefect forwards it to its API
# (PREFECT_LOGGING_EXTRA_LOGGERS=newsmon), so no Prefect import is needed to read progress.
log = logging.getLogger("newsmon.ingest")


# Batches are large and never reused: hashing them for a cache key would cost more than the work.
@task(name="discover", cache_policy=NO_CACHE)
def discover_task(paths: list[str]) -> StageOutput[str]:
    """Expand the given files and folders into input files."""
    return discover(paths)


@task(
    name="load",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=1,
    retry_condition_fn=may_pass_on_retry,
)
def load_task(paths: list[str], max_bytes: int) -> StageOutput[RawItem]:
    """Read a batch of files (size-capped)."""
    return load_files(paths, max_bytes)


@flow(name="ingest-files", validate_parameters=False)
def ingest_files(paths: list[str], config: PipelineConfig | None = None) -> RunSummary:
    """Ingest files and folders: load, decode, clean, build, tag entities, dedup, store.

    Without a config (a deployment run) the settings are read from NEWSMON_* variables.
    """
    config = config or pipeline_config(load_settings())
    with pipeline_run(config, paths) as run:
        with run.clock.stage("discover", len(paths)):
            found = discover_task(paths)
        run.reject(found.rejections)
        files = found.items
        total_batches = max(1, -(-len(files) // config.batch_size))
        for number, batch in enumerate(batched(files, config.batch_size), start=1):
            with run.clock.stage("load", len(batch)):
                loaded = load_task(batch, config.max_file_bytes)
            result, rejections = run.process(loaded)
            log.info(
                "batch %d/%d: %d files, %d stored, %d already known, %d rejected",
                number,
                total_batches,
                len(batch),
                len(result.new_ids),
                len(result.known_ids),
                len(rejections),
            )
        return run.finish()
