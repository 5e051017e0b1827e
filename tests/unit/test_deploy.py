"""The deploy/ files that cannot run here (Docker): checked for structure and wiring.

The Kibana objects have their own test, tests/unit/test_kibana_objects.py.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_stack_is_wired_together() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    assert set(services) == {
        "elasticsearch",
        "kibana",
        "postgres",
        "prefect-server",
        "setup",
        "prefect-deploy",
        "worker",
    }
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (
                source.startswith("..")
                or source in compose["volumes"]
                or (
                    source.startswith("./") and (DEPLOY / source).is_file()  # a file of deploy/
                )
            ), (name, volume)
    es_tag = services["elasticsearch"]["image"].rsplit(":", 1)[1]
    assert services["kibana"]["image"].endswith(f":{es_tag}")
    # The client major must match the server major.
    assert es_tag.split(".")[0] == version("elasticsearch").split(".")[0]
    assert services["prefect-server"]["image"].startswith(f"prefecthq/prefect:{version('prefect')}")
    env = services["worker"]["environment"]
    assert env["NEWSMON_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    assert env["PREFECT_API_URL"].startswith("http://prefect-server:4200")
    # One PostgreSQL for the Prefect server and newsmon's store, which waits for it.
    assert (
        "@postgres:5432/"
        in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    )
    assert env["NEWSMON_STORE_URL"].startswith("postgresql://newsmon:")
    assert env["NEWSMON_STORE_URL"].endswith("@postgres:5432/newsmon")
    assert services["worker"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    # The worker serves the pool prefect.yaml deploys to; the deploy one-shot runs its file.
    prefect = yaml.safe_load((DEPLOY / "prefect.yaml").read_text("utf-8"))
    pools = {d["work_pool"]["name"] for d in prefect["deployments"]}
    command = services["worker"]["command"]
    assert pools == {command[command.index("--pool") + 1]}
    assert services["prefect-deploy"]["working_dir"] == "/app/deploy"
    assert "deploy --all" in services["prefect-deploy"]["command"][-1]
    # The build context is the repository: .dockerignore keeps the venv and data out of it.
    ignored = (DEPLOY.parent / ".dockerignore").read_text("utf-8").split()
    assert {".venv", ".git", "data"} <= set(ignored)


def test_dockerfile_copies_what_exists_and_pins_torch_like_the_makefile() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    root = DEPLOY.parent
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (root / source).exists(), source
    makefile = (root / "Makefile").read_text("utf-8")
    torch = re.search(r'"torch==([\d.]+)"', makefile)
    assert torch and f'"torch=={torch.group(1)}"' in dockerfile


def test_example_prefect_trigger_loads_as_prefect_reads_it() -> None:
    import importlib.util

    path = DEPLOY / "prefect" / "putin_xi_followup.py"
    spec = importlib.util.spec_from_file_location("putin_xi_followup", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trigger = module.load_trigger()
    assert trigger.expect == {"newsmon.story.new"}
    related = {spec.root["prefect.resource.id"] for spec in trigger.match_related}
    assert related == {"newsmon.entity.Q7747", "newsmon.entity.Q15031"}
    assert set(trigger.parameters) == {"article_id", "title"}


def test_prefect_deployments_name_real_flows() -> None:
    import importlib

    spec = yaml.safe_load((DEPLOY / "prefect.yaml").read_text("utf-8"))
    assert spec["prefect-version"] == version("prefect")
    assert spec["pull"] == []  # module entrypoints: nothing to fetch, no folder to enter
    names = {}
    for deployment in spec["deployments"]:
        module_name, function = deployment["entrypoint"].rsplit(".", 1)
        flow = getattr(importlib.import_module(module_name), function)
        names[deployment["name"]] = flow.name
        assert set(deployment.get("parameters", {})) <= set(flow.parameters.properties)
        assert deployment["work_pool"]["name"] == "newsmon"
        if "schedules" in deployment:
            assert deployment["schedules"][0]["interval"] > 0
        for trigger in deployment.get("triggers", []):
            assert set(trigger["parameters"]) <= set(flow.parameters.properties)
    assert names == {
        "pool-poll-feeds": "poll-feeds",
        "pool-ingest-inbox": "ingest-files",
        "on-new-putin-xi-story": "putin-xi-followup",
    }
    # `newsmon serve` registers poll-feeds/poll-feeds and ingest-files/ingest-inbox.
    assert not set(names) & {"poll-feeds", "ingest-inbox"}
