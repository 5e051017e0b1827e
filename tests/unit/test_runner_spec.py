"""NEWSMON_TASK_RUNNER: the forms it takes and the errors it gives."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.process_pool import ForkServerProcessPool
from flows.runners import task_runner_for, uses_processes
from newsmon.runner_spec import RunnerSpec, parse_runner_spec
from newsmon.settings import Settings


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("processes", RunnerSpec("processes")),
        ("processes:3", RunnerSpec("processes", workers=3)),
        ("threads", RunnerSpec("threads")),
        (" threads:8 ", RunnerSpec("threads", workers=8)),
        ("dask", RunnerSpec("dask")),
        ("dask://scheduler:8786", RunnerSpec("dask", address="tcp://scheduler:8786")),
        ("tcp://10.0.0.5:8786", RunnerSpec("dask", address="tcp://10.0.0.5:8786")),
    ],
)
def test_runner_forms(text: str, spec: RunnerSpec) -> None:
    assert parse_runner_spec(text) == spec
    assert parse_runner_spec(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("process", "expected threads[:N], processes[:N], dask, or dask://host:port"),
        ("threads:0", "the worker count must be a whole number ≥ 1"),
        ("processes:two", "the worker count must be a whole number ≥ 1"),
        ("dask://scheduler", "a Dask scheduler address is dask://host:port"),
        ("dask:4", "expected threads[:N]"),
    ],
)
def test_a_bad_runner_is_refused_with_its_text(text: str, says: str) -> None:
    with pytest.raises(ValueError, match="task runner") as caught:
        parse_runner_spec(text)
    assert repr(text) in str(caught.value) and says in str(caught.value)


def test_settings_refuse_a_bad_runner_before_any_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_TASK_RUNNER", "gpu")
    with pytest.raises(ValidationError, match="task runner 'gpu'"):
        Settings()


def test_a_pool_defaults_to_one_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert RunnerSpec("processes").worker_count() == 6
    assert RunnerSpec("processes", workers=2).worker_count() == 2


@pytest.mark.parametrize(
    ("spec", "batches", "forks"),
    [
        ("processes:2", None, True),
        ("processes:2", 5, True),
        ("processes:2", 1, False),  # one batch: no process to start
        ("processes:1", 5, False),
        ("threads:2", 5, False),
        ("dask", 5, False),
    ],
)
def test_local_processes_only_for_more_than_one_worker(
    spec: str, batches: int | None, forks: bool
) -> None:
    runner_spec = parse_runner_spec(spec)
    assert uses_processes(runner_spec, batches) is forks
    if runner_spec.kind != "dask":
        runner = task_runner_for(runner_spec, batches)
        assert isinstance(runner, ForkServerProcessPool) is forks
