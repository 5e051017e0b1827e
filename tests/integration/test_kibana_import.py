"""deploy/kibana/import.sh against a loopback server that answers as Kibana's API does."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from peers import kibana_peer

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "import.sh"
OBJECTS = SCRIPT.parent / "newsmon-dashboard.ndjson"


def _import(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("KIBANA_")}
    variables.update({"KIBANA_URL": url, "KIBANA_WAIT": "20", **env})
    return subprocess.run(
        ["sh", str(SCRIPT)], env=variables, capture_output=True, text=True, timeout=60
    )


def test_waits_for_kibana_then_imports_into_the_space_with_basic_auth() -> None:
    basic = "Basic " + base64.b64encode(b"elastic:pa ss:word").decode()
    with kibana_peer(authorization=basic, starting=2) as kibana:
        done = _import(
            kibana.url + "/",
            KIBANA_SPACE="analysts",
            KIBANA_USERNAME="elastic",
            KIBANA_PASSWORD="pa ss:word",
        )
        assert done.returncode == 0, done.stderr
        assert kibana.status_calls == 3  # two 503s while starting, then available
        [(path, uploaded)] = kibana.imports
    assert path == "/s/analysts/api/saved_objects/_import?overwrite=true"
    assert uploaded == OBJECTS.read_bytes()
    lines = OBJECTS.read_text("utf-8").splitlines()
    assert done.stdout.strip() == (
        f"import.sh: imported {len(lines)} objects into analysts at {kibana.url}"
    )


def test_an_api_key_reaches_the_default_space() -> None:
    with kibana_peer(authorization="ApiKey aWQ6c2VjcmV0") as kibana:
        done = _import(kibana.url, KIBANA_API_KEY="aWQ6c2VjcmV0")
        assert done.returncode == 0, done.stderr
        [(path, _uploaded)] = kibana.imports
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert "into the default space" in done.stdout


def test_wrong_credentials_refused_objects_and_a_kibana_that_never_comes_up() -> None:
    with kibana_peer(authorization="ApiKey right") as kibana:
        wrong = _import(kibana.url, KIBANA_API_KEY="wrong")
        assert wrong.returncode == 2 and not kibana.imports
        assert "refused the credentials (HTTP 401)" in wrong.stderr
    with kibana_peer(refuse={"newsmon-feed-health"}) as kibana:
        partial = _import(kibana.url)
    assert partial.returncode == 1
    assert "did not import every object" in partial.stderr
    assert "newsmon-feed-health" in partial.stderr
    with kibana_peer(starting=1000) as kibana:
        late = _import(kibana.url, KIBANA_WAIT="3")
    assert late.returncode == 2
    assert "was not available after 3s (last answer: HTTP 503)" in late.stderr
    bad = _import("http://127.0.0.1:9", KIBANA_SPACE="Not A Space")
    assert bad.returncode == 2 and "is not a space id" in bad.stderr
