"""The real Prefect engine runs the ingest flow end to end."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterId,
    FlowRunFilterStartTime,
)

from enrich.entities import _tagger
from flows.ingest import ingest_files
from flows.process_pool import ForkServerProcessPool, start_fork_server
from newsmon.compose import open_store, pipeline_config
from newsmon.settings import Settings

pytestmark = pytest.mark.integration


# Loading through the dedup signature is one task run per batch ("prepare"), on the task runner.
STAGES = ("prepare", "store", "check-alerts", "deliver-alerts")


def _task_runs_by_name(flow_run: UUID, at_least: int, timeout: float = 60.0) -> Counter[str]:
    """A flow run's task runs per stage name, once the API shows at least this many of each
    (it records them asynchronously) or the timeout passes."""
    deadline = time.monotonic() + timeout
    only_this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run]))
    while True:
        with get_client(sync_client=True) as client:
            found = client.read_task_runs(flow_run_filter=only_this_run, limit=200)
            runs = Counter(r.name.rsplit("-", 1)[0] for r in found)
        if all(runs[s] >= at_least for s in STAGES) or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


def _only_flow_run_since(name: str, started: datetime) -> UUID:
    """The id of the one direct (deployment-less) run of this flow that started after `started`."""
    # Other tests serve deployments of the same flow on schedules: their runs are scheduled into
    # the future (an expected start after ours) but never start, and they carry a deployment id.
    with get_client(sync_client=True) as client:
        found = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[name])),
            flow_run_filter=FlowRunFilter(
                start_time=FlowRunFilterStartTime(after_=started),
                deployment_id=FlowRunFilterDeploymentId(is_null_=True),
            ),
        )
    assert len(found) == 1, [(run.name, run.start_time, run.deployment_id) for run in found]
    return found[0].id


def test_ingest_flow_on_seeds_and_bad_inputs(
    inbox: Path, tmp_path: Path, store_location: str
) -> None:
    settings = Settings(db=store_location, batch_size=4, max_file_bytes=20 * 1024 * 1024)
    missing = str(tmp_path / "does-not-exist")
    started = datetime.now(UTC)
    # A direct call, as the CLI makes: its return value is the flow's own, not one read back
    # from the API (which holds no data when Prefect's client repeats a state proposal).
    summary = ingest_files([str(inbox), missing], pipeline_config(settings))
    flow_run = _only_flow_run_since("ingest-files", started)

    # 5 seeds + 2 good records + the syndicated copy of 002; the cp1256 copy of 001 is known.
    assert summary.stored == 8
    assert summary.already_known == 2  # + the record whose URL is a variant of another's
    reasons = {Path(r.source).name: r.reason for r in summary.rejected}
    assert reasons["does-not-exist"] == "no such file or directory"
    assert reasons["empty.txt"] == "empty file"
    assert reasons["whitespace-only.txt"] == "empty file"
    assert reasons["image-renamed.txt"] == "binary file (PNG image), not text"
    assert reasons["undecodable.txt"].startswith("undecodable bytes")
    assert reasons["only-boilerplate.txt"] == "no text left after boilerplate removal"
    assert reasons["huge.txt"].startswith("file too large: 52,428,800 bytes")
    assert sum(1 for r in summary.rejected if "stories.ndjson" in r.source) == 3
    assert len(summary.rejected) == 10
    assert summary.status == "some-rejected"

    store = open_store(settings)
    try:
        assert store.count_articles() == 8
        by_name = {Path(a.source).name: a for a in store.iter_articles()}
        seed_002 = by_name["002_78f173c836337b59.txt"]
        copy = by_name["syndicated-002.txt"]
        # The inbox's own files are read before its seeds/ folder: the copy is seen first.
        assert (copy.cluster_id, copy.duplicate_of) == (copy.id, None)
        assert (seed_002.cluster_id, seed_002.duplicate_of) == (copy.id, copy.id)
        assert len({a.cluster_id for a in by_name.values()}) == 7
        call = next(a for a in by_name.values() if a.url and "putin-xi-call" in a.url)
        assert call.url == "https://arabic.example.com/news/putin-xi-call"
        assert len(store.sources_of(call.id)) == 2
        assert len(store.rejections(summary.run_id)) == 10
        # The cp1256 copy is read first (sorted order); the seed is the same story.
        first = next(a for a in store.iter_articles() if a.source.endswith("copy-of-001.txt"))
        assert first.encoding == "cp1256"
        names = [Path(s).name for s in store.sources_of(first.id)]
        assert names == ["copy-of-001.txt", "001_c7913647ea205634.txt"]
        # The entities stage ran before storing: every seed names both leaders.
        for name in [n for n in by_name if n[:3].isdigit()]:
            ids = {tag.id for tag in by_name[name].entities}
            assert {"Q7747", "Q15031"} <= ids, (name, ids)
    finally:
        store.close()

    # 14 files in batches of 4: each stage ran once per batch, never once per document; the
    # batches were prepared in worker processes (the default runner) that reported to the
    # flow's own Prefect API.
    runs = _task_runs_by_name(flow_run, at_least=4)
    assert runs["discover"] == 1
    for stage in STAGES:
        assert runs[stage] == 4, (stage, runs)

    again = ingest_files([str(inbox / "seeds")], pipeline_config(settings))
    assert (again.stored, again.already_known, again.rejected) == (0, 5, [])
    assert again.status == "ok"


def _stored_stories(db: Path) -> set[tuple[str, str, str, str | None]]:
    store = open_store(Settings(db=str(db)))
    try:
        return {
            (Path(a.source).name, a.id, a.cluster_id, a.duplicate_of) for a in store.iter_articles()
        }
    finally:
        store.close()


def test_the_dask_runner_stores_what_the_thread_runner_does(inbox: Path, tmp_path: Path) -> None:
    """The same ingest on a real local Dask cluster and on threads: the same stories, links
    and refusals (first-seen order kept), whatever ran where."""
    results = {}
    for runner in ("threads:2", "dask"):
        db = tmp_path / f"{runner.replace(':', '-')}.db"
        settings = Settings(db=str(db), batch_size=3, task_runner=runner)
        summary = ingest_files([str(inbox)], pipeline_config(settings))
        reasons = sorted((Path(r.source).name, r.stage, r.reason) for r in summary.rejected)
        results[runner] = (summary.stored, summary.already_known, reasons, _stored_stories(db))
    assert results["threads:2"][0] == 8
    assert results["dask"] == results["threads:2"]


@task(cache_policy=NO_CACHE)
def _worker_state() -> tuple[int, str, int]:
    """The worker's parent, directory, and how many gazetteer taggers it had loaded already."""
    return os.getppid(), os.getcwd(), _tagger.cache_info().currsize


@flow(task_runner=ForkServerProcessPool(max_workers=2))
def _probe_workers() -> list[tuple[int, str, int]]:
    futures = [_worker_state.submit() for _ in range(2)]
    return [future.result() for future in futures]


def test_process_workers_fork_preloaded_from_the_fork_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers come from the fork server (not spawned by the flow's process) with the
    gazetteer already loaded, and in the caller's directory."""
    start_fork_server()
    monkeypatch.chdir(tmp_path)
    states = _probe_workers()
    assert len(states) == 2
    for parent, cwd, taggers in states:
        assert parent != os.getpid()
        assert Path(cwd) == tmp_path
        assert taggers >= 1
