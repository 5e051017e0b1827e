"""deploy/docker-compose.yml as Compose and the containers would read it: the file parsed by
docker-compose, and each healthcheck run against a loopback peer that is unhealthy, then
healthy (the images cannot run here: no Docker daemon)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from peers import free_port, http_site
from pg_server import PostgresServer, postgres_bindir

pytestmark = pytest.mark.integration

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "docker-compose.yml"


def _healthcheck(service: str) -> str:
    """The service's CMD-SHELL healthcheck, as the container's shell gets it."""
    test = yaml.safe_load(COMPOSE.read_text("utf-8"))["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL", test
    return str(test[1])


def _sh(command: str) -> int:
    """Exit status of the command in sh, with python (the Prefect image's) and pg_isready."""
    bindir = postgres_bindir()
    path = [str(Path(sys.executable).parent), *([str(bindir)] if bindir else [])]
    env = {**os.environ, "PATH": os.pathsep.join([*path, os.environ.get("PATH", "")])}
    return subprocess.run(["sh", "-c", command], env=env, timeout=60, check=False).returncode


def _replies(*answers: tuple[int, bytes]) -> Any:
    queue = list(answers)
    return lambda headers: (queue[0][0], {}, queue.pop(0)[1])


def test_elasticsearch_is_healthy_only_once_the_cluster_is_yellow() -> None:
    with http_site() as site:
        site.routes["/_cluster/health"] = _replies(
            (408, b'{"status":"red","timed_out":true}'), (200, b'{"status":"yellow"}')
        )
        command = _healthcheck("elasticsearch").replace("localhost:9200", f"127.0.0.1:{site.port}")
        assert _sh(command) != 0
        assert _sh(command) == 0
        # Both parameters reach the server: an unquoted & would have cut the URL and sent
        # curl to the background, passing every time.
        expected = "/_cluster/health?wait_for_status=yellow&timeout=5s"
        assert [path for path, _ in site.requests] == [expected, expected]


def test_kibana_is_healthy_only_when_its_status_is_available() -> None:
    with http_site() as site:
        site.routes["/api/status"] = _replies(
            (503, b'{"status":{"overall":{"level":"unavailable"}}}'),
            (200, b'{"status":{"overall":{"level":"degraded"}}}'),
            (200, b'{"status":{"overall":{"level":"available"}}}'),
        )
        command = _healthcheck("kibana").replace("localhost:5601", f"127.0.0.1:{site.port}")
        assert [_sh(command) != 0 for _ in range(3)] == [True, True, False]


def test_the_prefect_server_is_healthy_only_when_its_api_answers() -> None:
    command = _healthcheck("prefect-server")
    assert _sh(command.replace("localhost:4200", f"127.0.0.1:{free_port()}")) != 0  # not up
    with http_site() as site:
        site.routes["/api/health"] = _replies((503, b"starting"), (200, b"true"))
        command = command.replace("localhost:4200", f"127.0.0.1:{site.port}")
        assert _sh(command) != 0
        assert _sh(command) == 0


def test_postgres_is_healthy_only_when_it_accepts_tcp_connections(
    postgres_server: PostgresServer,
) -> None:
    command = _healthcheck("postgres")
    assert "-h 127.0.0.1 -p 5432" in command
    assert _sh(command.replace("-p 5432", f"-p {free_port()}")) != 0
    assert _sh(command.replace("-p 5432", f"-p {postgres_server.port}")) == 0


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (`make test` installs Debian's when run as root)",
)
def test_docker_compose_parses_the_stack_and_its_start_order(tmp_path: Path) -> None:
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))},
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    waits = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in services.items()
    }
    assert waits["kibana"] == {"elasticsearch": "service_healthy"}
    assert waits["prefect-server"] == {"postgres": "service_healthy"}
    assert waits["setup"] == {"elasticsearch": "service_healthy", "kibana": "service_healthy"}
    assert waits["prefect-deploy"] == {"prefect-server": "service_healthy"}
    assert waits["worker"]["prefect-deploy"] == "service_completed_successfully"
    assert waits["worker"]["setup"] == "service_completed_successfully"
    long_running = {"elasticsearch", "kibana", "postgres", "prefect-server", "worker"}
    assert {n for n, s in services.items() if s.get("restart") == "unless-stopped"} == long_running
    assert all(services[n]["restart"] == "on-failure" for n in ("setup", "prefect-deploy"))
    for name in long_running - {"worker"}:
        assert services[name]["healthcheck"]["test"][0] == "CMD-SHELL", name
    assert services["prefect-server"]["environment"]["PREFECT_UI_API_URL"].startswith(
        "http://127.0.0.1:4200"
    )
    # The merged newsmon settings reach every newsmon service, with the defaults filled in.
    for name in ("setup", "prefect-deploy", "worker"):
        env = services[name]["environment"]
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api", name
        assert env["NEWSMON_STORE_URL"].endswith("@postgres:5432/newsmon"), name
