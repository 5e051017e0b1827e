"""Helpers for the integration suite: the CLI as a subprocess, and where Elasticsearch is."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def newsmon(
    *args: str, db: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSMON_DB": str(db), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "newsmon", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@dataclass(frozen=True)
class ElasticsearchTarget:
    """Where the Elasticsearch suite writes: a real cluster or the emulator, one alias a test."""

    url: str
    emulator: bool
    template: Path
    alias: str

    def env(self) -> dict[str, str]:
        """Settings for a `newsmon` subprocess."""
        return {
            "NEWSMON_ELASTICSEARCH_URL": self.url,
            "NEWSMON_ES_ALIAS": self.alias,
            "NEWSMON_ES_TEMPLATE": str(self.template),
        }
