"""`newsmon serve`'s Prefect side: a server it can reach, then deployments until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Any

import httpx
from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner
from prefect.settings import get_current_settings

from newsmon.errors import ExternalError

_HEALTH_TIMEOUT = 5.0


def require_prefect_server() -> str:
    """The Prefect API URL, checked by its health endpoint; ExternalError naming it if not up.

    Without PREFECT_API_URL, Prefect would start a temporary server that lives and dies with
    this process: schedules and runs an operator cannot see, so serving refuses instead.
    """
    url = get_current_settings().api.url
    if not url:
        raise ExternalError(
            "serve needs a Prefect server: set PREFECT_API_URL "
            "(e.g. http://127.0.0.1:4200/api after `prefect server start`)",
            permanent=True,
        )
    health = url.rstrip("/") + "/health"
    try:
        response = httpx.get(health, timeout=_HEALTH_TIMEOUT)
    except httpx.HTTPError as exc:
        raise ExternalError(f"no Prefect server answers at {url}: {exc}") from exc
    if response.status_code != 200:
        raise ExternalError(f"the Prefect server at {url} is not healthy: {response.status_code}")
    return url


class _GracefulRunner(Runner):
    """Prefect's runner, stopped by SIGTERM as by Ctrl-C.

    Prefect 3.8.8's own SIGTERM handler calls the async stop() from inside the event loop,
    where it only makes a coroutine that is never awaited, then exits: no shutdown runs.
    """

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        """Stop as on SIGINT: asyncio.run cancels the runner, which shuts down in order."""
        self._logger.info("SIGTERM received, shutting down")
        signal.raise_signal(signal.SIGINT)


def serve_until_stopped(deployments: Sequence[RunnerDeployment]) -> None:
    """Serve these deployments until SIGINT or SIGTERM, then return after the shutdown."""
    runner = _GracefulRunner()
    for deployment in deployments:
        runner.add_deployment(deployment)
    with contextlib.suppress(KeyboardInterrupt):  # the way a served process is meant to stop
        asyncio.run(runner.start())
