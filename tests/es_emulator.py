"""noida-db, the Elasticsearch-API emulator, for tests and benchmarks (a dev dependency).

Runs the emulator's binary directly, not its `noida-db` wrapper script, so stopping the
process by its pid stops the server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from importlib.resources import files
from pathlib import Path

from connectors.elasticsearch import DEFAULT_TEMPLATE

# The emulator rejects this built-in filter ("failed to find filter"); its own Arabic
# analysis differs from Lucene's anyway, so tests of analysis results need a real cluster.
MISSING_FILTERS = ("arabic_normalization",)


def emulator_template(dest: Path, source: Path = DEFAULT_TEMPLATE) -> Path:
    """Write the index template without the filters the emulator lacks; returns its path."""
    body = json.loads(source.read_text("utf-8"))
    for analyzer in body["template"]["settings"]["analysis"]["analyzer"].values():
        analyzer["filter"] = [f for f in analyzer["filter"] if f not in MISSING_FILTERS]
    dest.write_text(json.dumps(body), encoding="utf-8")
    return dest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_emulator(data_dir: Path, seconds: float = 20) -> tuple[str, subprocess.Popen[bytes]]:
    """Start noida-db's Elasticsearch on a free loopback port; (URL, process) once it answers."""
    binary = Path(str(files("noida_db").joinpath("noida-db")))
    binary.chmod(0o755)
    port = _free_port()
    command = [str(binary), "start", "--only", "elasticsearch"]
    command += ["--elasticsearch-port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"noida-db exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return url, process
        except OSError:
            time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"noida-db did not answer on {url} within {seconds} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a child server (the emulator, a test's Prefect server); kill it after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
